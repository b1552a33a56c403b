import ArgumentParser
import Foundation
import GraceModel
import GraceStorage

struct HashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Print Grace's hashes of a file, or of every directory version of a folder (root last).",
        discussion: """
            Like sha256sum, for Grace. A file prints `<hash>  <path>` (both hashes, SHA-256 first, with \
            --algorithm both). A folder prints each directory version bottom-up as \
            `<hash(es)>  <size>  <relative path>`, where size is Grace's non-recursive Size, exactly as \
            Grace would compute them for that tree; the root `.grace` folder and `*.gracetmp` files are skipped.
            """)

    enum Algorithms: String, ExpressibleByArgument, CaseIterable {
        case sha256, blake3, both

        /// Only the hashes asked for are computed, so `--algorithm blake3` measures BLAKE3 alone.
        var set: Set<HashAlgorithm> {
            switch self {
            case .sha256: [.sha256]
            case .blake3: [.blake3]
            case .both: [.sha256, .blake3]
            }
        }
    }

    @OptionGroup var global: GlobalOptions
    @Option(help: "Which hash to print: sha256, blake3 or both.") var algorithm: Algorithms = .both
    @Argument(help: "A file or a folder.") var path: String

    struct Output: Encodable {
        var path: String
        var kind: String
        var files: [FolderHasher.HashedFile]?
        var directories: [FolderHasher.HashedDirectory]?
    }

    func run() async throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw StorageFailure(.notFound, .open, location: "file://\(url.standardizedFileURL.path)", message: "no such file or folder")
        }
        if !isDirectory.boolValue {
            let file = try FolderHasher.hashFile(atPath: url.path, relativePath: url.lastPathComponent, algorithms: algorithm.set)
            try global.emit(Output(path: path, kind: "file", files: [file])) { "\(format(file.hashes))  \(path)" }
            return
        }
        let hasher = FolderHasher(concurrency: ProcessInfo.processInfo.activeProcessorCount, algorithms: algorithm.set)
        let (directories, files) = try await withProgress(rendering: global.renderer) { sink in
            try await hasher.hashTree(at: url, progress: sink)
        }
        try global.emit(Output(path: path, kind: "directory", files: files.sorted { $0.relativePath < $1.relativePath }, directories: directories)) {
            directories.map { "\(format($0.hashes))  \($0.size)  \($0.relativePath)" }.joined(separator: "\n")
        }
    }

    private func format(_ hashes: FileHashes) -> String {
        switch algorithm {
        case .sha256: hashes.sha256
        case .blake3: hashes.blake3
        case .both: "\(hashes.sha256)  \(hashes.blake3)"
        }
    }
}
