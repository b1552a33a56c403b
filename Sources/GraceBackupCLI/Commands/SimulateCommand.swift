import ArgumentParser
import Foundation
import GraceModel
import GraceBackup
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
    @Option(help: "Real time: this many operations per second, stamped with the wall clock.") var rate: Double?
    @Option(help: "Append a JSON line per acknowledged operation to this file: {operation, sequence, acknowledgedAt}.") var ackLog: String?
    @Option(help: "Acknowledge a promotion only once this vault holds it (a running `stream` captures it); other writes go on meanwhile.",
            transform: { try StorageLocation(parsing: $0) })
    var acknowledgePromotionsFrom: StorageLocation?
    @Option(help: "Where a new deployment keeps its objects, when not in its folder's objects/: a folder or s3://bucket/prefix.",
            transform: { try StorageLocation(parsing: $0) })
    var objects: StorageLocation?

    func validate() throws {
        guard repositories >= 1 else { throw ValidationError("--repositories must be at least 1") }
        guard files >= 1 else { throw ValidationError("--files must be at least 1") }
        if let operations, operations < 0 { throw ValidationError("--operations cannot be negative") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be a positive number of seconds") }
        guard meanFileSize >= 1 else { throw ValidationError("--mean-file-size must be at least 1 byte") }
        guard minutesBetweenOperations >= 0 else { throw ValidationError("--minutes-between-operations cannot be negative") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be a positive number of operations per second") }
        if acknowledgePromotionsFrom != nil && ackLog == nil { throw ValidationError("--acknowledge-promotions-from needs --ack-log") }
    }

    func run() async throws {
        let clock = SimulatedClock(start: startTime)
        let opened = try await deployment.open(.create, objects: objects, now: { clock.now() })
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
        options.operationsPerSecond = rate
        var acknowledgements: Acknowledgements?
        if let ackLog {
            var watcher: CaptureWatcher?
            if let location = acknowledgePromotionsFrom {
                let vault = try await Vault.open(stores.open(location, create: false, durability: .onSynchronize))
                watcher = try await CaptureWatcher(vault: vault, deployment: opened.location.description)
            }
            let log = try Acknowledgements(path: ackLog, database: opened.database, watcher: watcher)
            options.afterOperation = { name in try await log.acknowledge(name) }
            acknowledgements = log
        }
        let simulator = Simulator(writer: writer, clock: clock, options: options)
        let report = try await withProgress(rendering: global.renderer) { sink in try await simulator.run(progress: sink) }
        try await acknowledgements?.finish()
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

/// The writer's acknowledgements, one JSON line each, written as each returns: what a client was
/// told is saved. A promotion is acknowledged once the vault holds it (with a watcher), while the
/// writes after it go on.
actor Acknowledgements {
    struct Line: Encodable {
        var operation: String
        var sequence: Int64
        var acknowledgedAt: Instant
    }

    let file: FileHandle
    let database: any GraceDatabase
    let watcher: CaptureWatcher?
    private var waiting: [Task<Void, any Error>] = []

    init(path: String, database: any GraceDatabase, watcher: CaptureWatcher?) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ValidationError("cannot create --ack-log \(path)") }
        file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.database = database
        self.watcher = watcher
    }

    func acknowledge(_ operation: String) async throws {
        // One writer: the latest position is the end of this operation.
        let sequence = try await database.openReadView(.latest).position.sequence
        guard operation == "promote", let watcher else { return try write(Line(operation: operation, sequence: sequence, acknowledgedAt: wallClock())) }
        waiting.append(Task {
            try await watcher.waitUntilCaptured(sequence)
            try self.write(Line(operation: operation, sequence: sequence, acknowledgedAt: wallClock()))
        })
    }

    /// Waits for the promotions still waiting for their capture.
    func finish() async throws {
        for task in waiting { try await task.value }
        waiting = []
    }

    private func write(_ line: Line) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // One write call per line: a SIGKILL leaves whole lines.
        try file.write(contentsOf: try encoder.encode(line) + Data("\n".utf8))
    }
}
