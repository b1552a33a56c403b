import ArgumentParser
import Foundation
import GraceModel
import GraceS3
import GraceStorage

struct RewindObjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewind-objects",
        abstract: "Bring a versioned bucket's objects back to how they were at a time, from the bucket's own versions.",
        discussion: """
            For each key: the version current at --to-time is made current again (a key deleted or overwritten since \
            comes back); a key written after it is listed, or deleted with --delete-newer. Nothing is lost: bringing \
            a version back writes a new version, and deleting adds a delete marker. Pair it with `restore --in-place \
            --to-time` for the database; the vault holds every object too, so this is for buckets whose objects the \
            vault does not (or a faster way back).
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The bucket prefix: s3://bucket/prefix?endpoint=URL&region=NAME.", transform: { try StorageLocation(parsing: $0) })
    var objects: StorageLocation
    @Option(name: .customLong("to-time"), help: "The instant (RFC 3339).", transform: parseInstant) var toTime: Instant
    @Flag(help: "Delete keys written after --to-time (a delete marker each).") var deleteNewer = false
    @Flag(help: "Print what would change and change nothing.") var dryRun = false

    func validate() throws {
        guard case .s3 = objects else { throw ValidationError("--objects must be an s3:// location: a folder keeps no versions") }
    }

    func run() async throws {
        guard case let .s3(location) = objects else { return }
        let store = try await S3ObjectStore.open(location, create: false)
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await VersionedRewind.rewind(store, to: toTime, deleteNewer: deleteNewer, dryRun: dryRun, progress: sink)
        }
        try global.emit(report) {
            let verb = report.dryRun ? "would bring back" : "brought back"
            var lines = ["\(report.location) as of \(report.time): \(verb) \(report.restored.count) object(s); \(report.unchanged) unchanged"]
            if !report.newer.isEmpty {
                lines.append("  \(report.newer.count) written after it: " + (report.deletedNewer ? "deleted" : report.dryRun ? "would be listed" : "left in place (--delete-newer deletes them)"))
                lines += report.newer.prefix(20).map { "  - \($0)" }
                if report.newer.count > 20 { lines.append("  … and \(report.newer.count - 20) more (--json lists all)") }
            }
            return lines.joined(separator: "\n")
        }
    }
}
