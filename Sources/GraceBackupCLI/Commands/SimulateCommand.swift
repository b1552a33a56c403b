import ArgumentParser
import Foundation
import GraceModel
import GraceStorage

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a realistic Grace workload into a deployment, or replay a Git repository's history.",
        discussion: """
            Deterministic for a given seed: the same options give the same ids, contents and timestamps. Time is \
            simulated (starting at --start-time, --minutes-between-operations apart), so weeks of saves, \
            checkpoints, commits, promotions and Grace's retention deletions fit in seconds. With --from-git, the \
            first-parent history of the Git repository's current branch becomes promotions on main, one per commit.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Option(help: "Seed of the workload.") var seed: UInt64 = 1
    @Option(help: "Grace repositories to create.") var repositories = 2
    @Option(help: "Files across all repositories in the initial import.") var files = 400
    @Option(help: "Operations after the initial import.") var operations: Int?
    @Option(help: "Stop after this many seconds of wall time (with or without --operations).") var duration: Double?
    @Option(help: "Mean file size in bytes (log-normal; capped below 1 MiB).") var meanFileSize = 25_000
    @Option(help: "Simulated minutes between operations, on average.") var minutesBetweenOperations = 15.0
    @Option(help: "Simulated time of the first operation (RFC 3339).", transform: parseInstant) var startTime = Instant(secondsSinceEpoch: 1_767_225_600)
    @Option(name: .customLong("from-git"), help: "Replay this Git repository's first-parent history instead.") var fromGit: String?

    func validate() throws {
        guard repositories >= 1 else { throw ValidationError("--repositories must be at least 1") }
        guard files >= 1 else { throw ValidationError("--files must be at least 1") }
        if let operations, operations < 0 { throw ValidationError("--operations cannot be negative") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be a positive number of seconds") }
        guard meanFileSize >= 1 else { throw ValidationError("--mean-file-size must be at least 1 byte") }
        guard minutesBetweenOperations >= 0 else { throw ValidationError("--minutes-between-operations cannot be negative") }
    }

    func run() async throws {
        let clock = SimulatedClock(start: startTime)
        let opened = try deployment.open(.create, now: { clock.now() })
        // Into a deployment that already has data, continue after it: later simulated time, and ids
        // from a stream that depends on the position too, so a second run never reuses an id.
        let position = try await opened.database.openReadView(.latest).position
        if let last = position.committedAt, last > startTime { clock.set(last) }
        let ids = IDGenerator.seeded(position.sequence == 0 ? seed : seed &+ UInt64(position.sequence) &* 0x9E37_79B9_7F4A_7C15)
        let writer = GraceWriter(deployment: opened, now: { clock.now() }, ids: ids, principal: "simulator")
        if let fromGit {
            let url = URL(fileURLWithPath: fromGit)
            let replayer = GitHistoryReplayer(writer: writer, clock: clock, gitRepository: url)
            let report = try await withProgress(rendering: global.renderer) { sink in
                try await replayer.run(repositoryName: url.standardizedFileURL.lastPathComponent, progress: sink)
            }
            try global.emit(report) {
                "replayed \(report.commits) commits of \(fromGit) as promotions on main of repository \(report.repositoryID) in \(opened.location)"
                    + (report.skippedSubmodules > 0 ? " (\(report.skippedSubmodules) submodule entries left out)" : "")
            }
            return
        }
        var options = SimulationOptions()
        options.seed = seed
        options.repositories = repositories
        options.files = files
        options.operations = operations ?? (duration == nil ? 200 : nil)
        options.durationSeconds = duration
        options.meanFileSizeBytes = meanFileSize
        options.secondsBetweenOperations = minutesBetweenOperations * 60
        let simulator = Simulator(writer: writer, clock: clock, options: options)
        let report = try await withProgress(rendering: global.renderer) { sink in try await simulator.run(progress: sink) }
        try global.emit(report) { Self.summary(report, location: opened.location) }
    }

    static func summary(_ report: SimulationReport, location: DeploymentLocation) -> String {
        let operations = report.operations.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return """
            simulated \(report.repositories) repositories and \(report.branches) branches in \(location)
              operations: \(operations.isEmpty ? "none" : operations)
              \(report.filesWritten) file versions written, \(formatBytes(report.storedBytes)) stored, \(report.referencesDeletedByRetention) references deleted by retention
              simulated time \(report.simulatedStart) to \(report.simulatedEnd)
            """
    }
}

func parseInstant(_ text: String) throws -> Instant {
    guard let instant = Instant(parsing: text) else {
        throw ValidationError("\"\(text)\" is not an RFC 3339 time such as 2026-01-01T00:00:00Z")
    }
    return instant
}
