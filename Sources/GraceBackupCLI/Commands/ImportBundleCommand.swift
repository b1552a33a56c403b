import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct ImportBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-bundle",
        abstract: "Create the history a Git bundle holds (one, or a chain in order) in a Grace repository.",
        discussion: """
            Each commit of main (or the bundle's first branch) becomes a promotion, each commit of another branch a \
            Commit reference on a child branch of that name, each tag a Tag reference. Every bundle is read and checked \
            (pack checksum, every object id, prerequisites present in the bundles before it) before anything is written. \
            Bundles from `grace-backup export-bundle` and from `git bundle create` both work.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Argument(help: "The bundle files, the full one first.") var bundles: [String]
    @Option(help: "The Grace repository to import into (`grace-backup repositories` lists them).", transform: parseRepositoryID)
    var repositoryID: RepositoryID?
    @Option(help: "Create a new repository of this name (with its owner and organization) and import into it.") var newRepository: String?

    func validate() throws {
        guard !bundles.isEmpty else { throw ValidationError("give at least one bundle file") }
        guard (repositoryID == nil) != (newRepository == nil) else { throw ValidationError("give --repository-id ID or --new-repository NAME") }
    }

    func run() async throws {
        let opened = try await deployment.open(.openExisting, now: wallClock)
        let clock = SimulatedClock(start: wallClock())
        let position = try await opened.database.openReadView(.latest).position
        if let last = position.committedAt, last > clock.now() { clock.set(last) }
        let writer = GraceWriter(deployment: opened, now: { clock.now() }, ids: .random, principal: "import-bundle")
        // Created only once every bundle has been read and checked: a damaged bundle leaves nothing behind.
        let target: BundleImporter.Target = if let repositoryID { .repository(repositoryID) } else { .newRepository(name: newRepository!) }
        let importer = BundleImporter(deployment: opened, writer: writer, clock: clock)
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await importer.run(bundles: bundles.map { URL(fileURLWithPath: $0) }, into: target, progress: sink)
        }
        try global.emit(report) {
            var lines = ["imported \(report.bundles) bundle(s) into repository \(report.repositoryID): \(report.objectsVerified) objects verified"]
            lines += report.commits.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value) commit(s)" }
            lines.append("  \(report.filesStored) file versions, \(formatBytes(report.storedBytes)) stored" + (report.tags.isEmpty ? "" : "; tags \(report.tags.joined(separator: ", "))"))
            if report.alreadyPresent > 0 { lines.append("  \(report.alreadyPresent) commit(s) exported from this repository are still in it: not imported again") }
            if !report.tagsLeftOut.isEmpty { lines.append("  tags at no imported promotion, not made: \(report.tagsLeftOut.joined(separator: ", "))") }
            if report.submodulesLeftOut > 0 { lines.append("  \(report.submodulesLeftOut) submodule entries left out (Grace has no submodules)") }
            if report.symbolicLinksAsFiles > 0 {
                lines.append("  \(report.symbolicLinksAsFiles) symbolic link entries stored as files holding their targets (Grace has no links)")
            }
            if report.executableBitsDropped > 0 {
                lines.append("  \(report.executableBitsDropped) executable file entries stored without the executable bit (Grace keeps no modes)")
            }
            return lines.joined(separator: "\n")
        }
    }
}
