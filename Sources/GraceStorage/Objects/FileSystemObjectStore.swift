import CFileSystem
import Foundation
import GraceModel
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An `ObjectStore` in a local folder: key `a/b/c` is the file `<root>/a/b/c`.
///
/// A `put` writes `<root>/.incoming/<random>`, renames it over the key's file, and with
/// `.eachPut` durability fsyncs the file and the folders first, so a crash never leaves part of an
/// object under its real key; leftovers in `.incoming` are garbage that `list` never shows, removed
/// by a later open once their writer is gone (`ScratchFiles`).
/// With `.onSynchronize`, puts skip those fsyncs and `synchronize` makes them durable at once: it
/// fsyncs the files and folders written since the last one while they are few (an export's bundle,
/// state and record), and flushes the whole file system (syncfs) once they are many (a restore's
/// thousands of objects then cost one flush instead of thousands). A syncfs also flushes everything
/// else waiting on that file system: 500 MB of another program's writes added 0.15 to 0.2 s to one
/// export here.
public struct FileSystemObjectStore: ObjectStore {
    public enum Durability: Sendable {
        /// Every put is durable when it returns: what Grace's writer needs.
        case eachPut
        /// Puts are durable once `synchronize` returns: for bulk copies that end in one commit point.
        case onSynchronize
    }

    public let root: URL
    public let durability: Durability
    /// Shared by copies of this value: writes through one are flushed by `synchronize` on any.
    private let unsynchronized = UnsynchronizedPaths()
    public var location: String { "file://\(root.path)" }
    static let incomingFolder = ".incoming"
    static let readChunkBytes = 64 * 1024

    /// Opens the store at `root`, creating the folder when `create` is true.
    /// Throws `.notFound` when the folder is missing and `create` is false.
    public init(root: URL, create: Bool, durability: Durability = .eachPut) throws {
        self.root = root.standardizedFileURL
        self.durability = durability
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: self.root.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StorageFailure(.invalidInput, .open, location: "file://\(self.root.path)", message: "is a file, not a folder")
            }
        } else if create {
            do {
                try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
            } catch {
                throw StorageFailure(.unavailable, .open, location: "file://\(self.root.path)", message: "cannot create the folder", underlying: error)
            }
        } else {
            throw StorageFailure(.notFound, .open, location: "file://\(self.root.path)", message: "the folder does not exist")
        }
        ScratchFiles.removeAbandoned(in: self.root.appendingPathComponent(Self.incomingFolder), prefix: "put")
    }

    func path(of key: ObjectKey) -> String { root.path + "/" + key.rawValue }

    public func put(_ key: ObjectKey, from source: some AsyncSequence<ByteBuffer, any Error> & Sendable) async throws -> ObjectSummary {
        try await store(key, from: source, replacing: true)!
    }

    /// link(2) instead of rename(2): it fails when the key exists, so two writers cannot both create it.
    public func create(_ key: ObjectKey, bytes: [UInt8]) async throws -> Bool {
        let (source, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.yield(ByteBuffer(bytes: bytes))
        continuation.finish()
        guard try await store(key, from: source, replacing: false) != nil else { return try await holds(key, exactly: bytes) }
        return true
    }

    /// Writes to a temporary file, then moves it into place: replacing what is there, or, when not
    /// `replacing`, only if nothing is (nil then).
    private func store(_ key: ObjectKey, from source: some AsyncSequence<ByteBuffer, any Error> & Sendable, replacing: Bool) async throws -> ObjectSummary? {
        let incoming = root.path + "/" + Self.incomingFolder
        let temporaryPath = incoming + "/" + ScratchFiles.name("put")
        let finalPath = path(of: key)
        try createDurableFolder(incoming, key)
        try createDurableFolder((finalPath as NSString).deletingLastPathComponent, key)
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(.unavailable, .put, key, "cannot create \(temporaryPath): \(errnoText())") }
        var size: Int64 = 0
        do {
            defer { close(descriptor) }
            for try await piece in source {
                try piece.withUnsafeReadableBytes { bytes in try writeAll(descriptor, bytes, key) }
                size += Int64(piece.readableBytes)
            }
            if durability == .eachPut {
                guard fsync(descriptor) == 0 else { throw failure(.unavailable, .put, key, "fsync failed: \(errnoText())") }
            }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        if replacing {
            guard rename(temporaryPath, finalPath) == 0 else {
                let reason = errnoText()
                unlink(temporaryPath)
                throw failure(.unavailable, .put, key, "cannot rename into place: \(reason)")
            }
        } else {
            let linked = link(temporaryPath, finalPath) == 0
            let code = errno
            unlink(temporaryPath)
            guard linked else {
                if code == EEXIST { return nil }
                throw failure(.unavailable, .put, key, "cannot link into place: \(errnoText(code))")
            }
        }
        if durability == .eachPut { try syncFolder(containing: finalPath, key) } else { unsynchronized.wrote(file: finalPath) }
        return ObjectSummary(key: key, sizeBytes: size, lastModified: modificationInstant(finalPath))
    }

    /// The object's file, open for reading; a missing one is `.notFound`.
    private func openForReading(_ key: ObjectKey) throws -> Int32 {
        let descriptor = open(path(of: key), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw failure(code == ENOENT || code == ENOTDIR ? .notFound : .unavailable, .get, key,
                          code == ENOENT || code == ENOTDIR ? "no such object" : "cannot open: \(errnoText(code))")
        }
        return descriptor
    }

    public func get(_ key: ObjectKey) async throws -> ObjectStream {
        let descriptor = try openForReading(key)
        let reader = FileReader(descriptor: descriptor)
        let location = self.location
        return ObjectStream {
            do {
                return try reader.next(chunkBytes: Self.readChunkBytes)
            } catch {
                throw StorageFailure(.unavailable, .read, key: key.rawValue, location: location, message: "\(error)")
            }
        }
    }

    /// The whole file, read with as few system calls as its size allows.
    public func getBytes(_ key: ObjectKey) async throws -> [UInt8] {
        let descriptor = try openForReading(key)
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(.unavailable, .read, key, "fstat failed: \(errnoText())") }
        /// Reads into `buffer` until it is full or the file ends; returns how many bytes it read.
        func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            var filled = 0
            while filled < buffer.count {
                let result = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if result > 0 {
                    filled += result
                } else if result == 0 {
                    break
                } else if errno != EINTR {
                    throw failure(.unavailable, .read, key, "read failed: \(errnoText())")
                }
            }
            return filled
        }
        // One byte more than its size, so a file that grew since is noticed and read on.
        var bytes = try [UInt8](unsafeUninitializedCapacity: Int(status.st_size) + 1) { buffer, count in
            count = try fill(UnsafeMutableRawBufferPointer(buffer))
        }
        var ended = bytes.count <= Int(status.st_size)
        while !ended {
            let more = try [UInt8](unsafeUninitializedCapacity: Self.readChunkBytes) { buffer, count in
                count = try fill(UnsafeMutableRawBufferPointer(buffer))
            }
            bytes += more
            ended = more.count < Self.readChunkBytes
        }
        return bytes
    }

    /// Renames the file into place when it is on this store's file system (with the same durability
    /// as `put`); copies it otherwise.
    @discardableResult
    public func put(_ key: ObjectKey, movingFile file: URL) async throws -> ObjectSummary {
        let finalPath = path(of: key)
        try createDurableFolder((finalPath as NSString).deletingLastPathComponent, key)
        if durability == .eachPut {
            let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw failure(.unavailable, .put, key, "cannot open \(file.path): \(errnoText())") }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw failure(.unavailable, .put, key, "fsync failed: \(errnoText())") }
        }
        guard rename(file.path, finalPath) == 0 else {
            guard errno == EXDEV else { throw failure(.unavailable, .put, key, "cannot rename into place: \(errnoText())") }
            let summary = try await put(key, contentsOf: file)
            try? FileManager.default.removeItem(at: file)
            return summary
        }
        if durability == .eachPut { try syncFolder(containing: finalPath, key) } else { unsynchronized.wrote(file: finalPath) }
        var status = stat()
        _ = stat(finalPath, &status)
        return ObjectSummary(key: key, sizeBytes: Int64(status.st_size), lastModified: modificationInstant(finalPath))
    }

    public func head(_ key: ObjectKey) async throws -> ObjectSummary? {
        var status = stat()
        guard stat(path(of: key), &status) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw failure(.unavailable, .head, key, "stat failed: \(errnoText(code))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        return ObjectSummary(key: key, sizeBytes: Int64(status.st_size), lastModified: Self.instant(of: status))
    }

    public func list(under prefix: ObjectKey.Prefix) -> AsyncThrowingStream<ObjectSummary, any Error> {
        let start = prefix.rawValue.isEmpty ? root.path : root.path + "/" + String(prefix.rawValue.dropLast())
        let rootPath = root.path
        let location = self.location
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try Self.walk(folder: start, relativeTo: rootPath, isRoot: prefix.rawValue.isEmpty) { summary in
                        continuation.yield(summary)
                        return !Task.isCancelled
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: StorageFailure(.unavailable, .list, key: prefix.rawValue, location: location, message: "\(error)"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func delete(_ key: ObjectKey) async throws {
        guard unlink(path(of: key)) == 0 else {
            let code = errno
            throw failure(code == ENOENT || code == ENOTDIR ? .notFound : .unavailable, .delete, key,
                          code == ENOENT ? "no such object" : "unlink failed: \(errnoText(code))")
        }
        if durability == .onSynchronize { unsynchronized.changed(folder: (path(of: key) as NSString).deletingLastPathComponent) }
        // Empty folders left behind are harmless; removing them races with a concurrent put.
    }

    // MARK: - Helpers

    /// Walks depth first with readdir, yielding regular files; `yield` returns false to stop.
    static func walk(folder: String, relativeTo rootPath: String, isRoot: Bool, yield: (ObjectSummary) -> Bool) throws {
        guard let directory = opendir(folder) else {
            if errno == ENOENT || errno == ENOTDIR { return }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var entries: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." || (isRoot && name == incomingFolder) { continue }
            entries.append((name, entry.pointee.d_type == DT_DIR))
        }
        closedir(directory)
        for entry in entries {
            let full = folder + "/" + entry.name
            if entry.isDirectory {
                try walk(folder: full, relativeTo: rootPath, isRoot: false, yield: yield)
                continue
            }
            var status = stat()
            guard stat(full, &status) == 0 else { continue }  // deleted since readdir
            if (status.st_mode & S_IFMT) == S_IFDIR {
                try walk(folder: full, relativeTo: rootPath, isRoot: false, yield: yield)
                continue
            }
            guard (status.st_mode & S_IFMT) == S_IFREG, let key = try? ObjectKey(String(full.dropFirst(rootPath.count + 1))) else { continue }
            guard yield(ObjectSummary(key: key, sizeBytes: Int64(status.st_size), lastModified: Self.instant(of: status))) else { return }
        }
    }

    private func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, _ key: ObjectKey) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure(.unavailable, .put, key, "write failed: \(errnoText())")
            }
            offset += written
        }
    }

    /// Creates a folder and its missing ancestors, and fsyncs the parent of each one created:
    /// without that, a power cut can lose a new folder, and the object renamed into it.
    private func createDurableFolder(_ folder: String, _ key: ObjectKey) throws {
        var missing: [String] = []
        var current = folder
        while !FileManager.default.fileExists(atPath: current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        guard !missing.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw failure(.unavailable, .put, key, "cannot create the folder \(folder)", error)
        }
        for created in missing {
            if durability == .eachPut { try syncFolder(containing: created, key) } else { unsynchronized.changed(folder: (created as NSString).deletingLastPathComponent) }
        }
    }

    public func synchronize() async throws {
        guard durability == .onSynchronize else { return }
        guard let pending = unsynchronized.take() else { return try synchronizeFileSystem() }
        var opened: [(path: String, descriptor: Int32)] = []
        defer { for file in opened { close(file.descriptor) } }
        do {
            // Files before the folders that name them; one deleted or replaced since is not there to flush.
            for path in pending.files + pending.folders {
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                if descriptor < 0, errno == ENOENT { continue }
                guard descriptor >= 0 else { throw StorageFailure(.unavailable, .write, location: location, message: "cannot open \(path) to fsync: \(errnoText())") }
                opened.append((path, descriptor))
            }
            // Every file's writeback started before waiting on any, so the disk sees them together, as with syncfs.
            for file in opened { _ = grace_start_writeback(file.descriptor, 0, 0) }
            for file in opened where fsync(file.descriptor) != 0 {
                throw StorageFailure(.unavailable, .write, location: location, message: "fsync of \(file.path) failed: \(errnoText())")
            }
        } catch {
            unsynchronized.flushWholeFileSystemNext()
            throw error
        }
    }

    /// What `synchronize` would flush file by file (files, then folders), or nil for the whole file system.
    func pendingSynchronization() -> (files: Set<String>, folders: Set<String>)? { unsynchronized.peek() }

    private func synchronizeFileSystem() throws {
        let descriptor = open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StorageFailure(.unavailable, .write, location: location, message: "cannot open the folder to sync: \(errnoText())") }
        defer { close(descriptor) }
        guard grace_sync_file_system(descriptor) == 0 else {
            throw StorageFailure(.unavailable, .write, location: location, message: "syncfs failed: \(errnoText())")
        }
    }

    private func syncFolder(containing path: String, _ key: ObjectKey) throws {
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw failure(.unavailable, .put, key, "cannot open the folder to fsync: \(errnoText())") }
        defer { close(folder) }
        guard fsync(folder) == 0 else { throw failure(.unavailable, .put, key, "folder fsync failed: \(errnoText())") }
    }

    private func modificationInstant(_ path: String) -> Instant? {
        var status = stat()
        return stat(path, &status) == 0 ? Self.instant(of: status) : nil
    }

    static func instant(of status: stat) -> Instant {
        Instant(nanosecondsSinceEpoch: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec))
    }

    private func failure(_ reason: FailureKind, _ operation: StorageFailure.Operation, _ key: ObjectKey, _ message: String, _ underlying: (any Error)? = nil) -> StorageFailure {
        StorageFailure(reason, operation, key: key.rawValue, location: location, message: message, underlying: underlying)
    }
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Reads one open file front to back. The stream that owns it pulls one piece at a time
/// (AsyncThrowingStream's unfolding closure is never run concurrently), which is the only
/// access, so the descriptor needs no lock.
final class FileReader: @unchecked Sendable {
    private let descriptor: Int32
    private var closed = false

    init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { if !closed { close(descriptor) } }

    func next(chunkBytes: Int) throws -> ByteBuffer? {
        guard !closed else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: chunkBytes)
        let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunkBytes) { target in
            while true {
                let result = read(descriptor, target.baseAddress!, chunkBytes)
                if result >= 0 { return result }
                if errno != EINTR { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            }
        }
        if count == 0 {
            close(descriptor)
            closed = true
            return nil
        }
        return buffer
    }
}

/// The files and folders a `.onSynchronize` store wrote since its last `synchronize`, while there are
/// at most `limit` of them; past that, or after a failed fsync, only a flush of the whole file system
/// will do, and nothing more is kept.
final class UnsynchronizedPaths: Sendable {
    static let limit = 64
    private struct Pending {
        var files: Set<String> = []
        var folders: Set<String> = []
        var tooMany = false
    }

    private let pending = Mutex(Pending())

    /// A file written and renamed or linked into its folder: both must be flushed.
    func wrote(file: String) {
        record { $0.files.insert(file); $0.folders.insert((file as NSString).deletingLastPathComponent) }
    }

    /// A folder whose entries changed (a file deleted, a folder created in it).
    func changed(folder: String) {
        record { $0.folders.insert(folder) }
    }

    /// After a failed fsync: which writes it left unflushed is not known, so the next synchronize flushes them all.
    func flushWholeFileSystemNext() {
        pending.withLock { $0 = Pending(tooMany: true) }
    }

    func peek() -> (files: Set<String>, folders: Set<String>)? {
        pending.withLock { $0.tooMany ? nil : ($0.files, $0.folders) }
    }

    /// What to flush, as paths (files first); nil to flush the whole file system. Starts afresh.
    func take() -> (files: [String], folders: [String])? {
        pending.withLock { current in
            defer { current = Pending() }
            return current.tooMany ? nil : (Array(current.files), Array(current.folders))
        }
    }

    private func record(_ change: (inout Pending) -> Void) {
        pending.withLock { current in
            guard !current.tooMany else { return }
            change(&current)
            if current.files.count + current.folders.count > Self.limit { current = Pending(tooMany: true) }
        }
    }
}
