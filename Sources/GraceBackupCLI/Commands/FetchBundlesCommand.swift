import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct FetchBundlesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch-bundles",
        abstract: "Copy the bundles that rebuild a repository out of an export catalog into a folder, and say how to rebuild it.",
        discussion: """
            The chain from the catalog's newest full bundle to its newest bundle, under the catalog's names (they sort \
            in chain order), each checked against its record's size and SHA-256: a damaged bundle is refused by name \
            and nothing is left under it. Bundles already in the folder whole are kept, so a fetch resumes. Then \
            `git clone --mirror` of the first and `git fetch` of each next one rebuild the Git repository, and \
            `import-bundle` of them all, in order, the Grace repository.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The catalog export-bundle --output LOCATION keeps: a folder, a file:// or s3:// URL.") var from: String
    @Option(help: "The exported Grace repository.", transform: parseRepositoryID)
    var repositoryID: RepositoryID
    @Option(help: "The folder to copy the bundles into (created when missing).") var to: String

    func run() async throws {
        let store = try await stores.open(try StorageLocation(parsing: from), create: false)
        let catalog = ExportCatalog(store: store, repositoryID: repositoryID)
        let fetched = try await withProgress(rendering: global.renderer) { sink in
            try await catalog.fetchChain(into: URL(fileURLWithPath: to), progress: sink)
        }
        try global.emit(fetched) { Self.describe(fetched) }
    }

    static func describe(_ fetched: FetchedChain) -> String {
        let folder = URL(fileURLWithPath: fetched.folder)
        let paths = fetched.bundles.map { folder.appendingPathComponent($0).path }
        var lines = [
            "fetched exports \(fetched.firstExport) to \(fetched.newestExport) of repository \(fetched.repositoryID) from \(fetched.location) "
                + "into \(fetched.folder): \(fetched.bundles.count) bundle(s), \(formatBytes(fetched.bytes)); \(fetched.copied) copied, "
                + "\(fetched.bundles.count - fetched.copied) already there",
            "rebuild the Git repository:",
            "  git clone --mirror \(paths[0]) repository.git",
        ]
        lines += paths.dropFirst().map { "  git -C repository.git fetch \($0) '+refs/*:refs/*'" }
        lines.append("or the Grace repository: grace-backup import-bundle \(paths.joined(separator: " ")) --deployment DEPLOYMENT --new-repository NAME")
        return lines.joined(separator: "\n")
    }
}
