import Foundation
import NIOCore

/// A stored object's bytes, in pieces of at most 64 KiB, read as they are consumed.
public typealias ObjectStream = AsyncThrowingStream<ByteBuffer, any Error>

/// A flat namespace of objects: what a deployment's object storage, a vault, bundles and
/// mirrors all need.
///
/// Every conformer keeps these promises (`ObjectStoreConformance` checks them):
/// - `put` is atomic: a reader sees the whole object or nothing, never a prefix; a second `put`
///   of a key replaces the object whole. An object is durable (survives a crash or power cut)
///   when `put` returns, or, for a store opened to defer durability, once `synchronize` returns.
/// - `get` streams; memory stays constant whatever the object's size.
/// - `get` and `delete` of a missing key throw a `StorageFailure` with reason `.notFound`;
///   `get` never returns empty bytes for a missing key. `head` returns nil instead.
/// - `list` streams every object under a prefix, in no promised order, and may lag behind `put`
///   (S3 listings can); use `head` to confirm a write.
public protocol ObjectStore: Sendable {
    /// Where the store is, for messages: a `file://` or `s3://` location.
    var location: String { get }
    func put(_ key: ObjectKey, from source: some AsyncSequence<ByteBuffer, any Error> & Sendable) async throws -> ObjectSummary
    func get(_ key: ObjectKey) async throws -> ObjectStream
    func head(_ key: ObjectKey) async throws -> ObjectSummary?
    func list(under prefix: ObjectKey.Prefix) -> AsyncThrowingStream<ObjectSummary, any Error>
    func delete(_ key: ObjectKey) async throws
    /// Makes every `put` and `delete` that has returned (through this store value or a copy of it)
    /// durable. Writers call it before they write the record that makes earlier writes visible (a
    /// manifest, a database transaction).
    func synchronize() async throws
    /// Stores a local file the caller no longer needs, which is gone afterwards: a folder store on the
    /// same file system renames it into place instead of copying it (a bundle of hundreds of MB).
    func put(_ key: ObjectKey, movingFile file: URL) async throws -> ObjectSummary
    /// Deletes every key given that exists; missing ones are not an error. S3 deletes a thousand
    /// keys in one request (prune, forget and orphan deletion remove many at once).
    func deleteIfPresent(_ keys: [ObjectKey]) async throws
    /// Copies an object to another key of the same store; S3 copies inside the service, without
    /// the bytes passing through this process (quarantining orphans and putting them back).
    func copy(_ source: ObjectKey, to target: ObjectKey) async throws -> ObjectSummary
    /// Writes the object only if the key holds none; false (nothing written) if it holds other bytes.
    /// Atomic where the store can make it so (a folder: link(2); S3: `If-None-Match: *`), so of two
    /// writers creating one key with different bytes, one wins (a vault's config.json, an export
    /// record). A key already holding exactly `bytes` counts as created: on S3 a create retried after
    /// its answer was lost finds there what its own first attempt wrote, and an identical create by
    /// another writer leaves the same object.
    func create(_ key: ObjectKey, bytes: [UInt8]) async throws -> Bool
    /// A whole object in memory: for records, and for contents an export reads by the thousand,
    /// where a folder store's one `read(2)` beats streaming it in pieces.
    func getBytes(_ key: ObjectKey) async throws -> [UInt8]
}

extension ObjectStore {
    /// Stores whose writes are durable when they return have nothing to do.
    public func synchronize() async throws {}

    /// Stores bytes already in memory.
    @discardableResult
    public func put(_ key: ObjectKey, bytes: [UInt8]) async throws -> ObjectSummary {
        let (source, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.yield(ByteBuffer(bytes: bytes))
        continuation.finish()
        return try await put(key, from: source)
    }

    /// Copies, then removes the file: what a store that cannot adopt a file does.
    @discardableResult
    public func put(_ key: ObjectKey, movingFile file: URL) async throws -> ObjectSummary {
        let summary = try await put(key, contentsOf: file)
        try? FileManager.default.removeItem(at: file)
        return summary
    }

    public func deleteIfPresent(_ keys: [ObjectKey]) async throws {
        for key in keys {
            do {
                try await delete(key)
            } catch let failure as StorageFailure where failure.reason == .notFound {}
        }
    }

    /// Whether `key` holds exactly `bytes`: what a create that found its key taken asks (see `create`).
    /// A key deleted since counts as holding other bytes.
    public func holds(_ key: ObjectKey, exactly bytes: [UInt8]) async throws -> Bool {
        do {
            return try await getBytes(key) == bytes
        } catch let failure as StorageFailure where failure.reason == .notFound {
            return false
        }
    }

    /// Stores that cannot write conditionally check first: two racing writers can both pass.
    public func create(_ key: ObjectKey, bytes: [UInt8]) async throws -> Bool {
        guard try await head(key) == nil else { return try await holds(key, exactly: bytes) }
        try await put(key, bytes: bytes)
        return true
    }

    @discardableResult
    public func copy(_ source: ObjectKey, to target: ObjectKey) async throws -> ObjectSummary {
        try await put(target, from: try await get(source))
    }

    /// Stores a local file's bytes, read in 1 MiB pieces as the store consumes them.
    @discardableResult
    public func put(_ key: ObjectKey, contentsOf file: URL) async throws -> ObjectSummary {
        try await put(key, from: FileByteSequence(file: file))
    }

    /// Collects what `get` streams.
    public func getBytes(_ key: ObjectKey) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await var piece in try await get(key) {
            bytes += piece.readBytes(length: piece.readableBytes) ?? []
        }
        return bytes
    }
}

/// A local file's bytes in 1 MiB pieces, each read when the consumer asks for it: memory stays at
/// one piece however large the file.
public struct FileByteSequence: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public let file: URL

    public init(file: URL) { self.file = file }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var handle: FileHandle?
        let file: URL

        public mutating func next() async throws -> ByteBuffer? {
            if handle == nil { handle = try FileHandle(forReadingFrom: file) }
            guard let piece = try handle!.read(upToCount: 1 << 20), !piece.isEmpty else {
                try handle?.close()
                return nil
            }
            return ByteBuffer(bytes: piece)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: nil, file: file) }
}
