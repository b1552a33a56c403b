import Foundation
import GraceModel

#if canImport(Glibc)
import Glibc
#endif

/// Hashes a folder on disk exactly as Grace would version it: each file's two hashes over its
/// bytes, then every directory version bottom-up. Skips what Grace's scanner skips: the root
/// `.grace` folder and files ending in `.gracetmp`. Symbolic links are skipped (Grace stores
/// no links), and so are sockets, devices and pipes.
public struct FolderHasher: Sendable {
    public let concurrency: Int
    /// The hashes to compute; a directory's hash of one algorithm needs only its children's of that algorithm.
    public let algorithms: Set<HashAlgorithm>

    public init(concurrency: Int, algorithms: Set<HashAlgorithm> = [.sha256, .blake3]) {
        self.concurrency = max(1, concurrency)
        self.algorithms = algorithms
    }

    public struct HashedFile: Sendable, Hashable, Codable {
        public let relativePath: String
        public let size: Int64
        public let hashes: FileHashes
        public let isBinary: Bool
    }

    public struct HashedDirectory: Sendable, Hashable, Codable {
        public let relativePath: String
        /// The sum of the sizes of the files directly inside, as Grace's `Size`.
        public let size: Int64
        public let hashes: FileHashes
    }

    /// Hashes one file in constant memory.
    public static func hashFile(atPath path: String, relativePath: String, algorithms: Set<HashAlgorithm> = [.sha256, .blake3]) throws -> HashedFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw StorageFailure(errno == ENOENT ? .notFound : .unavailable, .read, key: relativePath, location: "file://\(path)", message: errnoText())
        }
        defer { close(descriptor) }
        var hasher = FileHasher(computing: algorithms)
        let chunk = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress!, chunk)
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageFailure(.unavailable, .read, key: relativePath, location: "file://\(path)", message: errnoText())
            }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return HashedFile(relativePath: relativePath, size: hasher.byteCount, hashes: hasher.finalize(), isBinary: hasher.sawNulInFirst8KiB)
    }

    /// Every directory version of the tree at `root`, deepest first and the root (`.`) last.
    /// Throws `UnsafePath` for a name Grace could not store, naming it.
    public func hashTree(at root: URL, progress: ProgressSink? = nil) async throws -> (directories: [HashedDirectory], files: [HashedFile]) {
        var files: [(absolute: String, relative: String)] = []
        var directories: [String] = [DirectoryVersion.rootPath]
        try Self.scan(folder: root.path, relative: "", files: &files, directories: &directories)
        progress?.yield(.phaseStarted(.hashing, totalItems: files.count, totalBytes: nil))
        let started = ContinuousClock.now
        var hashed: [HashedFile] = []
        hashed.reserveCapacity(files.count)
        let algorithms = self.algorithms
        try await forEachConcurrently(files, limit: concurrency, { file in
            try Self.hashFile(atPath: file.absolute, relativePath: file.relative, algorithms: algorithms)
        }) { file in
            hashed.append(file)
            progress?.yield(.advanced(items: 1, bytes: file.size))
        }
        progress?.yield(.phaseFinished(.hashing, elapsedSeconds: (ContinuousClock.now - started).seconds))
        // A directory's hash of an algorithm not asked for would be computed over its files' empty ones:
        // left empty, as theirs are.
        let versions = Self.directoryVersions(files: hashed, directories: directories).map { directory in
            HashedDirectory(relativePath: directory.relativePath, size: directory.size,
                            hashes: FileHashes(sha256: algorithms.contains(.sha256) ? directory.hashes.sha256 : "",
                                               blake3: algorithms.contains(.blake3) ? directory.hashes.blake3 : ""))
        }
        return (versions, hashed)
    }

    /// Builds the directory versions from hashed files and the list of every folder.
    static func directoryVersions(files: [HashedFile], directories: [String]) -> [HashedDirectory] {
        var filesByDirectory: [String: [HashedFile]] = [:]
        for file in files { filesByDirectory[SafePath.parent(of: file.relativePath), default: []].append(file) }
        var childrenByDirectory: [String: [String]] = [:]
        for directory in directories where directory != DirectoryVersion.rootPath {
            childrenByDirectory[SafePath.parent(of: directory), default: []].append(directory)
        }
        func depth(_ path: String) -> Int { path == DirectoryVersion.rootPath ? 0 : path.utf8.count(where: { $0 == 47 }) + 1 }
        let order = directories.map { (path: $0, depth: depth($0)) }
            .sorted { $0.depth != $1.depth ? $0.depth > $1.depth : $0.path.utf16.lexicographicallyPrecedes($1.path.utf16) }
            .map(\.path)
        var done: [String: HashedDirectory] = [:]
        var result: [HashedDirectory] = []
        for path in order {
            let direct = filesByDirectory[path] ?? []
            var children = direct.map { DirectoryChild(kind: .file, relativePath: $0.relativePath, size: $0.size, hashes: $0.hashes) }
            for child in childrenByDirectory[path] ?? [] {
                let version = done[child]!
                children.append(DirectoryChild(kind: .directory, relativePath: child, size: version.size, hashes: version.hashes))
            }
            let version = HashedDirectory(relativePath: path, size: direct.reduce(0) { $0 + $1.size },
                                          hashes: DirectoryHasher.hashes(relativePath: path, children: children))
            done[path] = version
            result.append(version)
        }
        return result
    }

    private static func scan(folder: String, relative: String, files: inout [(absolute: String, relative: String)], directories: inout [String]) throws {
        guard let handle = opendir(folder) else {
            throw StorageFailure(errno == ENOENT ? .notFound : .unavailable, .list, location: "file://\(folder)", message: errnoText())
        }
        var entries: [String] = []
        while let entry = readdir(handle) {
            let raw = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            guard let name = String(validating: raw, as: UTF8.self) else {
                closedir(handle)
                throw UnsafePath(path: relative + "/" + String(decoding: raw, as: UTF8.self), rule: .notUTF8)
            }
            if name != "." && name != ".." { entries.append(name) }
        }
        closedir(handle)
        for name in entries.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let absolute = folder + "/" + name
            let path = relative.isEmpty ? name : relative + "/" + name
            var status = stat()
            guard lstat(absolute, &status) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                if relative.isEmpty && name == ".grace" { continue }
                try SafePath.validate(path, for: .filesystem)
                directories.append(path)
                try scan(folder: absolute, relative: path, files: &files, directories: &directories)
            case S_IFREG:
                if name.hasSuffix(".gracetmp") { continue }
                try SafePath.validate(path, for: .filesystem)
                files.append((absolute, path))
            default:
                continue
            }
        }
    }
}
