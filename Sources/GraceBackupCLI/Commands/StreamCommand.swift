import ArgumentParser
import Dispatch
import Foundation
import GraceBackup
import GraceModel
import GraceStorage
import Synchronization

struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Follow a deployment's change feed into the vault, so a restore can stop at any moment after the last snapshot.",
        discussion: """
            Writes a segment (and the contents it names) at most every --interval seconds while there are changes, and \
            nothing while there are none. Resumes where the vault's record of the deployment ends. SIGINT or SIGTERM \
            captures what is left and exits 0.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "Seconds between captures while the deployment changes.") var interval: Double = 1
    @Option(help: "Stop after this many seconds (for tests and drills); runs until a signal otherwise.") var duration: Double?
    @Option(help: "Take a new base snapshot this often: 24h, 90m or 3600s.", transform: parseInterval) var snapshotEvery: Double?

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
    }

    func run() async throws {
        let opened = try deployment.open(.openExisting)
        let target = try await vault.open()
        let capture = ChangeCapture(deployment: opened, vault: target, now: wallClock)
        let lock = try await VaultLock.acquire(in: target, purpose: "stream of \(opened.location)", scope: "stream", now: wallClock)
        let stop = StopSignal()
        let started = ContinuousClock.now
        var position = try await capture.capturedPosition()
        var captured = 0
        var lastSnapshot = ContinuousClock.now
        writeLine("stream: following \(opened.location) from change \(position) into \(target.location)")
        do {
            while true {
                let stopping = stop.isSet || duration.map { ContinuousClock.now - started >= .seconds($0) } ?? false
                if let record = try await capture.captureOnce(after: position) {
                    position = record.to.sequence
                    captured += 1
                    if global.json {
                        print(String(decoding: try GraceJSON.encode(record), as: UTF8.self))
                    } else {
                        writeLine("captured changes \(record.fromSequence + 1)...\(record.to.sequence) (up to \(record.to.committedAt.map(\.description) ?? "-"))")
                    }
                }
                if stopping { break }
                if let every = snapshotEvery, ContinuousClock.now - lastSnapshot >= .seconds(every) {
                    // A new base keeps restores short; captures go on from where they are, which stays continuous.
                    let snapshot = try await Snapshotter(deployment: opened, vault: target, now: wallClock).snapshot()
                    lastSnapshot = ContinuousClock.now
                    writeLine("took snapshot \(snapshot.shortID) at change \(snapshot.manifest.cutoff.sequence)")
                }
                try await Task.sleep(for: .seconds(interval))
            }
        } catch {
            try? await lock.release()  // the capture's error is the one to report
            throw error
        }
        try await lock.release()
        writeLine("stream: stopped after \(captured) capture(s); the vault covers up to change \(position)")
    }
}

/// Set by SIGINT or SIGTERM, so the stream captures what is left before it exits.
final class StopSignal: @unchecked Sendable {  // `sources` is written once in init and only kept alive
    private final class Flag: Sendable {
        let raised = Mutex(false)
    }

    private let flag = Flag()
    private let sources: [any DispatchSourceSignal]

    init() {
        var sources: [any DispatchSourceSignal] = []
        let flag = self.flag
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { flag.raised.withLock { $0 = true } }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    var isSet: Bool { flag.raised.withLock { $0 } }
}

/// Parses `24h`, `90m`, `3600s` or a bare number of seconds.
func parseInterval(_ text: String) throws -> Double {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
    let (number, scale) = text.last.flatMap { units[$0] }.map { (String(text.dropLast()), $0) } ?? (text, 1)
    guard let value = Double(number), value > 0 else { throw ValidationError("\"\(text)\" is not a duration such as 24h, 90m or 3600s") }
    return value * scale
}
