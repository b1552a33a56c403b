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
            Polls the database every --poll seconds (a local read, never a storage request) and writes a capture (a \
            segment and the contents it names) once the oldest uncaptured change has waited --interval seconds, or at \
            once for a promotion; nothing while nothing changes. Resumes where the vault's record of the deployment \
            ends. SIGINT or SIGTERM captures what is left and exits 0.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "The longest a change waits for its capture, in seconds, while changes arrive.") var interval: Double = 0.5
    @Option(help: "Seconds between looks at the database for new changes.") var poll: Double = 0.05
    @Option(help: "Stop after this many seconds (for tests and drills); runs until a signal otherwise.") var duration: Double?
    @Option(help: "Take a new base snapshot this often: 24h, 90m or 3600s.", transform: parseInterval) var snapshotEvery: Double?

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        guard poll > 0, poll <= interval else { throw ValidationError("--poll must be positive and at most --interval") }
    }

    /// One line of `--json` output.
    struct Line: Encodable {
        var event: String
        var at: Instant
        var capture: CaptureRecord?
        var snapshot: String?
        var position: Int64?
        var captures: Int?
        var seconds: Double?
        /// Storage requests since the stream started following (its start-up reads excluded).
        var requests: StorageRequestCounts
    }

    func run() async throws {
        let opened = try await deployment.open(.openExisting)
        let metered = MeteredObjectStore(try await vault.open().store)
        let target = try await Vault.open(metered)
        let capture = ChangeCapture(deployment: opened, vault: target, now: wallClock)
        let lock = try await VaultLock.acquire(in: target, purpose: "stream of \(opened.location)", scope: "stream", now: wallClock)
        let stop = StopSignal()
        let started = ContinuousClock.now
        var schedule = StreamSchedule()
        schedule.intervalSeconds = interval
        schedule.pollSeconds = poll
        schedule.snapshotEverySeconds = snapshotEvery
        let start = try await capture.capturedPosition()
        let baseline = metered.requests
        let json = global.json
        let captures = Counter()
        @Sendable func requests() -> StorageRequestCounts { metered.requests.since(baseline) }
        writeLine("stream: following \(opened.location) from change \(start) into \(target.location)")
        let position: Int64
        do {
            let duration = self.duration
            position = try await ChangeStream(capture: capture, schedule: schedule).run(from: start, shouldStop: {
                stop.isSet || duration.map { ContinuousClock.now - started >= .seconds($0) } ?? false
            }) { event in
                switch event {
                case let .captured(record):
                    captures.increment()
                    if json {
                        printJSONLine(Line(event: "capture", at: wallClock(), capture: record, requests: requests()))
                    } else {
                        writeLine("captured changes \(record.fromSequence + 1)...\(record.to.sequence) (up to \(record.to.committedAt.map(\.description) ?? "-"))")
                    }
                case let .snapshotTaken(snapshot):
                    if json { printJSONLine(Line(event: "snapshot", at: wallClock(), snapshot: snapshot.id, requests: requests())) }
                    writeLine("took snapshot \(snapshot.shortID) at change \(snapshot.manifest.cutoff.sequence)")
                case let .unavailable(failure, retryIn):
                    writeLine("stream: \(failure); trying again in \(retryIn)")
                }
            }
        } catch {
            try? await lock.release()  // the capture's error is the one to report
            throw error
        }
        let seconds = (ContinuousClock.now - started).seconds
        let counts = requests()
        try await lock.release()
        if json { printJSONLine(Line(event: "stopped", at: wallClock(), position: position, captures: captures.value, seconds: seconds, requests: counts)) }
        writeLine("stream: stopped after \(captures.value) capture(s) in \(decimal(seconds, places: 1)) s and \(counts.total) storage request(s); "
            + "the vault covers up to change \(position)")
    }
}

/// A count shared with an event handler.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
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
