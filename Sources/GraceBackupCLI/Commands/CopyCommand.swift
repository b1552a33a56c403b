import ArgumentParser
import Foundation
import GraceStorage

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every object of one location that another lacks: a vault to a second place, files to a bucket and back.",
        discussion: """
            Locations are folders or s3://bucket/prefix?endpoint=URL&region=NAME. An object the target already holds \
            at the same size is skipped, so running it again after an interruption copies only what is left. Each \
            object appears whole under its key or not at all.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Where the objects are.", transform: { try StorageLocation(parsing: $0) }) var source: StorageLocation
    @Argument(help: "Where they go (created if missing).", transform: { try StorageLocation(parsing: $0) }) var target: StorageLocation
    @Option(help: "Objects in flight at once.") var transfers = 16
    @Option(help: "Copy only the keys under this prefix.") var prefix: String?

    func validate() throws {
        guard (1...256).contains(transfers) else { throw ValidationError("--transfers must be between 1 and 256") }
        if source == target { throw ValidationError("the source and the target are the same location") }
    }

    func run() async throws {
        let from = try await stores.open(source, create: false)
        let to = try await stores.open(target, create: true, durability: .onSynchronize)
        let under = try prefix.map { try ObjectKey.Prefix($0) } ?? .all
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await ObjectCopier(from: from, to: to, transfers: transfers).copy(under: under, progress: sink)
        }
        try global.emit(report) {
            "copied \(report.copied) of \(report.objects) objects (\(formatBytes(report.copiedBytes))) from \(report.source) to \(report.target) "
                + "in \(decimal(report.elapsedSeconds, places: 1)) s; \(report.skipped) already there"
        }
    }
}
