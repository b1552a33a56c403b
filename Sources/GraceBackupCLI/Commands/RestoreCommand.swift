import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot into an empty deployment, or roll a live one back to it (--in-place).",
        discussion: """
            The database as of the snapshot's cutoff, every object it references back at Grace's key in Grace's \
            encoding, then `check` on the result. In place, objects the restored database does not reference are \
            orphans (uploaded after the cutoff): listed by default, moved aside with --quarantine, deleted with \
            --delete-orphans. --dry-run prints the plan and changes nothing.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "Snapshot to restore (id or unique prefix); the newest by default.") var snapshot: String?
    @Option(name: .customLong("to-time"), help: "Restore the state at this instant (RFC 3339), from a snapshot and the changes `stream` captured.",
            transform: parseInstant)
    var toTime: Instant?
    @Option(name: .customLong("to-sequence"), help: "Restore the state right after this change-feed sequence.") var toSequence: Int64?
    @Flag(name: .customLong("to-latest"), help: "Restore the last captured change: the newest snapshot and every capture after it.") var toLatest = false
    @Option(name: .customLong("to"), help: "The deployment to restore into: an empty folder, or a live deployment with --in-place.",
            transform: { try DeploymentLocation(parsing: $0) })
    var target: DeploymentLocation
    @Option(help: "Where a new deployment keeps its objects, when not in its folder's objects/: a folder or s3://bucket/prefix.",
            transform: { try StorageLocation(parsing: $0) })
    var objects: StorageLocation?
    @Flag(help: "Roll a live deployment back to the snapshot.") var inPlace = false
    @Flag(help: "With --in-place, move orphans under quarantine/<restore id>/.") var quarantine = false
    @Flag(help: "With --in-place, delete orphans.") var deleteOrphans = false
    @Flag(help: "Print the plan (counts, bytes, orphans) and change nothing.") var dryRun = false
    @Option(help: "Restore this Grace repository alone, leaving the others untouched.", transform: parseRepositoryID)
    var repositoryID: RepositoryID?

    func validate() throws {
        if quarantine && deleteOrphans { throw ValidationError("--quarantine and --delete-orphans cannot be used together") }
        if objects != nil && inPlace { throw ValidationError("--objects applies to a new deployment; in place, the deployment's own objects are restored") }
        if (quarantine || deleteOrphans) && !inPlace { throw ValidationError("--quarantine and --delete-orphans apply only with --in-place") }
        if [snapshot != nil, toTime != nil, toSequence != nil, toLatest].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --snapshot, --to-time, --to-sequence and --to-latest")
        }
    }

    func run() async throws {
        let opened = try await vault.open()
        let point: RestorePoint = if let toTime {
            try await opened.restorePoint(at: .time(toTime))
        } else if let toSequence {
            try await opened.restorePoint(at: .sequence(toSequence))
        } else if toLatest {
            try await opened.restorePoint(at: .latest)
        } else {
            try await opened.restorePoint(of: try await opened.snapshot(snapshot))
        }
        if !inPlace, !dryRun, let folder = target.folder, FileManager.default.fileExists(atPath: DeploymentLocation.databasePath(in: folder)) {
            throw VaultFailure.targetNotEmpty(target.description)
        }
        let deployment = try await target.open(inPlace ? .openExisting : .create, objects: objects, now: wallClock, objectDurability: .onSynchronize, stores: stores, databases: databases)
        var options = RestoreOptions()
        options.inPlace = inPlace
        options.orphans = quarantine ? .quarantine : deleteOrphans ? .delete : .list
        options.dryRun = dryRun
        options.repositoryID = repositoryID
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await Restorer(vault: opened).restore(point, into: deployment, options: options, progress: sink)
        }
        try global.emit(report) { Self.describe(report) }
        if let check = report.check, !check.isClean { throw CheckFoundProblems(count: check.problems.count) }
    }

    static func describe(_ report: RestoreReport) -> String {
        var lines = [
            "\(report.dryRun ? "would restore" : "restored") snapshot \(report.snapshot.prefix(12))"
                + (report.snapshot.hasSuffix(RestorePoint.withCapturesSuffix) ? " and the changes captured after it, up to" : "")
                + " change \(report.cutoff) into \(report.target)"
                + (report.repositoryID.map { ", repository \($0) only" } ?? ""),
            "  \(report.documents) documents written, \(report.documentsRemoved) removed; \(report.objects) objects referenced, "
                + "\(report.objectsCopied) copied (\(formatBytes(report.bytesCopied)))",
        ]
        if !report.orphans.isEmpty || report.orphanHandling != .list {
            let handled: String = switch report.orphanHandling {
            case .list: "left in place (--quarantine or --delete-orphans to act)"
            case .quarantine: "moved to quarantine \(report.quarantineID ?? "") (restore-quarantine puts them back)"
            case .delete: "deleted"
            }
            let action = report.dryRun ? "found" : handled
            lines.append("  \(report.orphans.count) orphan object(s), \(formatBytes(report.orphanBytes)), \(action)")
            lines += report.orphans.prefix(20).map { "    \($0)" }
            if report.orphans.count > 20 { lines.append("    ... \(report.orphans.count - 20) more (--json lists all)") }
        }
        if let check = report.check { lines.append(CheckCommand.summary(check).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")) }
        return lines.joined(separator: "\n")
    }
}

struct RestoreQuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore-quarantine", abstract: "Put objects an in-place restore quarantined back where they were.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Argument(help: "The quarantine id the restore printed.") var quarantineID: String

    func run() async throws {
        let opened = try await deployment.open(.openExisting)
        let moved = try await Quarantine.restore(quarantineID, in: opened.objects)
        try global.emit(["restored": moved]) { "put \(moved) object(s) back from quarantine \(quarantineID)" }
    }
}
