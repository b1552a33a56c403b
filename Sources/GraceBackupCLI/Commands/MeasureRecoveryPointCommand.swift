import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

/// The recovery point, measured the hard way: a real-time writer and `stream` run as separate
/// processes, both are SIGKILLed at a recorded moment, the vault is restored to its latest point,
/// and the writer's acknowledgements say what was lost.
struct MeasureRecoveryPointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure-recovery-point",
        abstract: "Kill a live writer and its stream, restore, and report how much acknowledged work was lost.",
        discussion: """
            Runs in --work (a new temporary folder by default): simulates a deployment, snapshots it, measures an idle \
            stream's storage requests, then --runs times: starts `stream` and a writer at --rate operations per second \
            (promotions acknowledged once the vault holds them), SIGKILLs both at a random moment (--kill-between \
            seconds after the writer's first acknowledgement, 2-4 s by default), restores --to-latest into an empty \
            folder with `check`, and compares with the writer's acknowledgements. The \
            recovery point of a run is the time between the last acknowledged write and the last acknowledged write \
            present after the restore. Exits 4 when an acknowledged promotion is missing or check finds a problem, 8 \
            when the p99 recovery point exceeds --max-recovery-point.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Kill-and-restore runs.") var runs = 20
    @Option(help: "Writer operations per second.") var rate = 50.0
    @Option(help: "The stream's --interval.") var interval = 0.5
    @Option(help: "Seconds an idle stream is watched for storage requests.") var idleSeconds = 10.0
    @Option(help: "Fail (exit 8) when the p99 recovery point exceeds this many seconds.") var maxRecoveryPoint: Double?
    @Option(help: "Work folder (kept); a new temporary one, removed after, by default.") var work: String?
    @Option(help: "Seed of the workload and of the kill times.") var seed: UInt64 = 1
    @Option(help: "Kill at a random moment this many seconds after the writer's first acknowledged write: FROM-TO.", transform: { text in
        let parts = text.split(separator: "-").compactMap { Double($0) }
        guard parts.count == 2, parts[0] > 0, parts[0] <= parts[1] else { throw ValidationError("\"\(text)\" is not a range of seconds such as 2-4") }
        return parts[0]...parts[1]
    })
    var killBetween: ClosedRange<Double> = 2...4

    struct Run: Codable {
        var run: Int
        var killedAt: Instant
        var acknowledged = 0
        var acknowledgedPromotions = 0
        var promotionsMissing = 0
        var restoredSequence: Int64 = 0
        var recoveryPointSeconds = 0.0
        var checkProblems = 0
        var restoreSeconds = 0.0
        var operationsPerSecond = 0.0
        var busyRequestsPerMinute: Double?
    }

    struct Report: Codable {
        var runs: [Run] = []
        var rate: Double
        var interval: Double
        var recoveryPointP50 = 0.0
        var recoveryPointP99 = 0.0
        var recoveryPointMax = 0.0
        var promotionsMissing = 0
        var checkProblems = 0
        var idleRequestsPerMinute = 0.0
        var busyRequestsPerMinute = 0.0
        var operationsPerSecond = 0.0
    }

    func validate() throws {
        guard runs >= 1, rate > 0, interval > 0, idleSeconds > 0 else { throw ValidationError("--runs, --rate, --interval and --idle-seconds must be positive") }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: work ?? NSTemporaryDirectory() + "grace-rpo-\(UUID().uuidString.prefix(8))")
        if let work, !((try? FileManager.default.contentsOfDirectory(atPath: work))?.isEmpty ?? true) {
            throw ValidationError("--work \(work) is not empty: give a new or empty folder")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { if work == nil { try? FileManager.default.removeItem(at: folder) } }
        let deployment = folder.appendingPathComponent("deployment").path
        let vault = folder.appendingPathComponent("vault").path
        let tool = Tool(folder: folder)
        try tool.run(["simulate", "--deployment", deployment, "--repositories", "3", "--files", "300", "--operations", "30", "--seed", "\(seed)"])
        try tool.run(["init", "--vault", vault])
        try tool.run(["snapshot", "--deployment", deployment, "--vault", vault])

        var report = Report(rate: rate, interval: interval)
        writeLine("measuring an idle stream for \(idleSeconds) s")
        let idle = try tool.run(["stream", "--deployment", deployment, "--vault", vault, "--json", "--duration", "\(idleSeconds)"])
        let stopped = Tool.jsonLines(idle).last ?? [:]
        report.idleRequestsPerMinute = Double((stopped["requests"] as? [String: Any]).map(Tool.requestTotal) ?? -1) / idleSeconds * 60

        var random = SeededGenerator(seed: seed)
        for index in 1...runs {
            let runFolder = folder.appendingPathComponent("run-\(index)")
            try FileManager.default.createDirectory(at: runFolder, withIntermediateDirectories: true)
            let acks = runFolder.appendingPathComponent("acks.jsonl").path
            let stream = try tool.start(["stream", "--deployment", deployment, "--vault", vault, "--json", "--interval", "\(interval)"], in: runFolder, name: "stream")
            try await tool.waitFor("stream: following", in: runFolder.appendingPathComponent("stream.err"), process: stream)
            let writer = try tool.start(["simulate", "--deployment", deployment, "--repositories", "3", "--files", "60", "--rate", "\(rate)",
                                         "--duration", "60", "--ack-log", acks, "--acknowledge-promotions-from", vault, "--seed", "\(seed &* 1000 &+ UInt64(index))"],
                                        in: runFolder, name: "writer")
            // Counted from the first acknowledgement, not the start: a slow machine spends the first second
            // setting up, and a writer killed before it writes proves nothing about losing writes.
            try await tool.waitFor("acknowledgedAt", in: URL(fileURLWithPath: acks), process: writer)
            try await Task.sleep(for: .seconds(Double.random(in: killBetween, using: &random)))
            kill(writer.processIdentifier, SIGKILL)
            kill(stream.processIdentifier, SIGKILL)
            let killedAt = wallClock()
            writer.waitUntilExit()
            stream.waitUntilExit()

            let restoreStarted = ContinuousClock.now
            let restore = try tool.run(["restore", "--vault", vault, "--to-latest", "--to", runFolder.appendingPathComponent("restored").path, "--json"],
                                       allowingExit: [0, 4])
            var result = Run(run: index, killedAt: killedAt)
            result.restoreSeconds = (ContinuousClock.now - restoreStarted).seconds
            let restored = try JSONSerialization.jsonObject(with: Data(restore.utf8)) as? [String: Any] ?? [:]
            result.restoredSequence = Int64((restored["cutoff"] as? [String: Any])?["sequence"] as? Int ?? 0)
            result.checkProblems = ((restored["check"] as? [String: Any])?["problems"] as? [Any])?.count ?? -1
            try Self.compare(acknowledgements: acks, restoredSequence: result.restoredSequence, into: &result)
            result.busyRequestsPerMinute = try Self.requestsPerMinute(streamOutput: runFolder.appendingPathComponent("stream.out"))
            writeLine("run \(index): \(result.acknowledged) acknowledged (\(decimal(result.operationsPerSecond, places: 0))/s), "
                      + "restored to change \(result.restoredSequence), recovery point \(decimal(result.recoveryPointSeconds, places: 3)) s, "
                      + "\(result.promotionsMissing) promotion(s) missing, \(result.checkProblems) check problem(s)")
            report.runs.append(result)
        }
        let points = report.runs.map(\.recoveryPointSeconds).sorted()
        report.recoveryPointP50 = Self.percentile(points, 0.50)
        report.recoveryPointP99 = Self.percentile(points, 0.99)
        report.recoveryPointMax = points.last ?? 0
        report.promotionsMissing = report.runs.reduce(0) { $0 + $1.promotionsMissing }
        report.checkProblems = report.runs.reduce(0) { $0 + max($1.checkProblems, 0) } + report.runs.filter { $0.checkProblems < 0 }.count
        let busy = report.runs.compactMap(\.busyRequestsPerMinute)
        report.busyRequestsPerMinute = busy.isEmpty ? 0 : busy.reduce(0, +) / Double(busy.count)
        report.operationsPerSecond = report.runs.map(\.operationsPerSecond).reduce(0, +) / Double(report.runs.count)

        try global.emit(report) {
            """
            recovery point over \(report.runs.count) runs at \(decimal(report.rate, places: 0)) writes/s \
            (\(decimal(report.operationsPerSecond, places: 0)) achieved), stream interval \(decimal(report.interval, places: 2)) s:
              p50 \(decimal(report.recoveryPointP50, places: 3)) s, p99 \(decimal(report.recoveryPointP99, places: 3)) s, \
            max \(decimal(report.recoveryPointMax, places: 3)) s
              acknowledged promotions missing: \(report.promotionsMissing); check problems: \(report.checkProblems)
              storage requests per minute: idle \(decimal(report.idleRequestsPerMinute, places: 0)), \
            writing \(decimal(report.busyRequestsPerMinute, places: 0))
            """
        }
        if report.promotionsMissing > 0 || report.checkProblems > 0 {
            throw MeasuredLoss(description: "\(report.promotionsMissing) acknowledged promotion(s) missing, \(report.checkProblems) check problem(s)", kind: .integrity)
        }
        if let maxRecoveryPoint, report.recoveryPointP99 > maxRecoveryPoint {
            throw MeasuredLoss(description: "the p99 recovery point \(decimal(report.recoveryPointP99, places: 3)) s exceeds \(decimal(maxRecoveryPoint, places: 3)) s", kind: .outdated)
        }
    }

    /// What the restore kept of what the writer acknowledged.
    static func compare(acknowledgements path: String, restoredSequence: Int64, into run: inout Run) throws {
        struct Line: Decodable {
            var operation: String
            var sequence: Int64
            var acknowledgedAt: Instant
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // A line cut by the kill is not an acknowledgement.
        let lines = text.split(separator: "\n").compactMap { try? GraceJSON.decode(Line.self, from: String($0)) }
        run.acknowledged = lines.count
        if let first = lines.map(\.acknowledgedAt).min(), let last = lines.map(\.acknowledgedAt).max(), last > first {
            run.operationsPerSecond = Double(lines.count - 1) / (Double(last.nanosecondsSinceEpoch - first.nanosecondsSinceEpoch) / 1e9)
        }
        run.acknowledgedPromotions = lines.filter { $0.operation == "promote" }.count
        run.promotionsMissing = lines.filter { $0.operation == "promote" && $0.sequence > restoredSequence }.count
        guard let lastAcknowledged = lines.map(\.acknowledgedAt).max() else { return }
        let lastPresent = lines.filter { $0.sequence <= restoredSequence }.map(\.acknowledgedAt).max()
        let lost = lastPresent.map { lastAcknowledged.nanosecondsSinceEpoch - $0.nanosecondsSinceEpoch }
            ?? (lastAcknowledged.nanosecondsSinceEpoch - lines.map(\.acknowledgedAt).min()!.nanosecondsSinceEpoch)
        run.recoveryPointSeconds = Double(max(0, lost)) / 1e9
    }

    /// Storage requests per minute between the stream's first and last capture.
    static func requestsPerMinute(streamOutput: URL) throws -> Double? {
        let lines = Tool.jsonLines(try String(contentsOf: streamOutput, encoding: .utf8)).filter { $0["event"] as? String == "capture" }
        guard let first = lines.first, let last = lines.last, lines.count > 2,
              let start = (first["at"] as? String).flatMap(Instant.init(parsing:)), let end = (last["at"] as? String).flatMap(Instant.init(parsing:)),
              end > start else { return nil }
        let requests = Tool.requestTotal(last["requests"] as? [String: Any] ?? [:]) - Tool.requestTotal(first["requests"] as? [String: Any] ?? [:])
        return Double(requests) / (Double(end.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch) / 1e9) * 60
    }

    static func percentile(_ sorted: [Double], _ share: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        // Nearest rank: with fewer than 100 runs, p99 is the worst run.
        return sorted[min(sorted.count - 1, Int((share * Double(sorted.count)).rounded(.up)) - 1)]
    }
}

struct MeasuredLoss: BackupFailure, ResultAlreadyPrinted {
    let description: String
    let kind: FailureKind
}

/// Runs this same executable as a child process.
struct Tool {
    let folder: URL
    static let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()

    /// Runs to completion; its standard output, or an error with its standard error.
    @discardableResult
    func run(_ arguments: [String], allowingExit allowed: Set<Int32> = [0]) throws -> String {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        let output = folder.appendingPathComponent(".tool.out"), errors = folder.appendingPathComponent(".tool.err")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        guard allowed.contains(process.terminationStatus) else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ChildFailed(description: "`grace-backup \(arguments.prefix(1).joined())` exited \(process.terminationStatus): \(message.suffix(600))")
        }
        return try String(contentsOf: output, encoding: .utf8)
    }

    /// Starts in the background, with standard output and error in `<name>.out` and `<name>.err`.
    func start(_ arguments: [String], in folder: URL, name: String) throws -> Process {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        for suffix in ["out", "err"] { _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("\(name).\(suffix)").path, contents: nil) }
        process.standardOutput = try FileHandle(forWritingTo: folder.appendingPathComponent("\(name).out"))
        process.standardError = try FileHandle(forWritingTo: folder.appendingPathComponent("\(name).err"))
        try process.run()
        return process
    }

    func waitFor(_ text: String, in log: URL, process: Process) async throws {
        for _ in 0..<600 {
            if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChildFailed(description: "the child never said \"\(text)\": \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func requestTotal(_ requests: [String: Any]) -> Int {
        ["puts", "gets", "heads", "lists", "deletes"].reduce(0) { $0 + (requests[$1] as? Int ?? 0) }
    }
}

struct ChildFailed: BackupFailure {
    let description: String
    var kind: FailureKind { .unavailable }
}
