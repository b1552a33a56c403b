import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Restore a snapshot into a scratch deployment, check it, time it, and keep the report in the vault.",
        discussion: "Exits 4 when the restored deployment has problems. See docs/drills.md for cron and systemd timers.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "Snapshot to drill (id or unique prefix); the newest by default.") var snapshot: String?
    @Flag(name: .customLong("to-time"), help: "Drill a random point in time between the oldest snapshot and the last captured change.")
    var toRandomTime = false
    @Option(help: "Folder for the scratch deployment (removed afterwards).") var scratch: String = FileManager.default.temporaryDirectory.path

    func validate() throws {
        if toRandomTime && snapshot != nil { throw ValidationError("give --snapshot or --to-time, not both") }
    }

    func run() async throws {
        let opened = try await vault.open()
        let report = try await withProgress(rendering: global.renderer) { sink in
            let drill = Drill(vault: opened, scratchParent: URL(fileURLWithPath: scratch), now: wallClock)
            return toRandomTime ? try await drill.runAtRandomPoint(seed: UInt64.random(in: 0...UInt64.max), progress: sink)
                : try await drill.run(snapshot: snapshot, progress: sink)
        }
        try global.emit(report) { DrillsCommand.describe(report) }
        if !report.succeeded { throw DrillFailed(problems: report.problems.count) }
    }
}

struct DrillFailed: ResultAlreadyPrinted {
    let problems: Int
    var kind: FailureKind { .integrity }
    var description: String { "the drill's restore has \(problems) problem(s)" }
}

struct DrillsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drills", abstract: "List past drills, oldest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions

    func run() async throws {
        let reports = try await vault.open().drills()
        try global.emit(reports) { reports.isEmpty ? "no drills yet" : reports.map(Self.describe).joined(separator: "\n") }
    }

    static func describe(_ report: DrillReport) -> String {
        let age = report.cutoffAgeSeconds.map { spokenDuration(seconds: $0) } ?? "-"
        return "\(report.startedAt)  snapshot \(report.snapshot.prefix(12))  \(report.succeeded ? "passed" : "FAILED")  "
            + "restore \(decimal(report.restoreSeconds, places: 2)) s (RTO), cutoff age \(age), \(report.documents) documents, "
            + "\(report.objects) objects, \(formatBytes(report.bytesRestored))"
            + (report.problems.isEmpty ? "" : ", \(report.problems.count) problem(s)")
    }
}

struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Remove stale locks (expired, or left by a process that is gone); --all removes every lock.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Flag(help: "Remove every lock, also one a running process holds.") var all = false

    func run() async throws {
        let opened = try await vault.open()
        var removed: [String] = []
        for lock in try await opened.locks() where all || lock.record.isStale(now: wallClock(), hostname: ProcessInfo.processInfo.hostName) {
            try await lock.release()
            removed.append(lock.record.description)
        }
        try global.emit(["removed": removed]) { removed.isEmpty ? "no stale locks" : removed.map { "removed lock: \($0)" }.joined(separator: "\n") }
    }
}
