import Foundation
import NIOCore
import Synchronization

/// Requests made to a store, by kind, and the bytes moved: what a cloud bill counts.
public struct StorageRequestCounts: Sendable, Codable, Hashable {
    public var puts = 0
    public var gets = 0
    public var heads = 0
    public var lists = 0
    public var deletes = 0
    public var bytesWritten: Int64 = 0
    public var bytesRead: Int64 = 0

    public init() {}

    /// What was counted after `earlier`, a reading of the same counter.
    public func since(_ earlier: StorageRequestCounts) -> StorageRequestCounts {
        var difference = StorageRequestCounts()
        difference.puts = puts - earlier.puts
        difference.gets = gets - earlier.gets
        difference.heads = heads - earlier.heads
        difference.lists = lists - earlier.lists
        difference.deletes = deletes - earlier.deletes
        difference.bytesWritten = bytesWritten - earlier.bytesWritten
        difference.bytesRead = bytesRead - earlier.bytesRead
        return difference
    }

    /// Every request a cloud store would bill (a `synchronize` is not a request).
    public var total: Int { puts + gets + heads + lists + deletes }
}

/// An `ObjectStore` that forwards to another and counts each request and the bytes it moves.
/// `stream` reports these to prove that an idle deployment costs no requests.
public final class MeteredObjectStore: ObjectStore {
    public let base: any ObjectStore
    private final class Tally: Sendable {
        let counts = Mutex(StorageRequestCounts())
    }

    private let tally = Tally()

    public init(_ base: any ObjectStore) { self.base = base }

    public var location: String { base.location }
    public var requests: StorageRequestCounts { tally.counts.withLock { $0 } }

    public func put(_ key: ObjectKey, from source: some AsyncSequence<ByteBuffer, any Error> & Sendable) async throws -> ObjectSummary {
        tally.counts.withLock { $0.puts += 1 }
        let summary = try await base.put(key, from: source)
        tally.counts.withLock { $0.bytesWritten += summary.sizeBytes }
        return summary
    }

    public func get(_ key: ObjectKey) async throws -> ObjectStream {
        tally.counts.withLock { $0.gets += 1 }
        let pieces = Pieces(try await base.get(key).makeAsyncIterator())
        let tally = self.tally
        // Pulled piece by piece as the consumer reads, so nothing is read ahead into memory.
        return ObjectStream {
            let piece = try await pieces.next()
            if let piece { tally.counts.withLock { $0.bytesRead += Int64(piece.readableBytes) } }
            return piece
        }
    }

    /// The base store's stream, read by one consumer at a time.
    private actor Pieces {
        var iterator: ObjectStream.AsyncIterator
        init(_ iterator: ObjectStream.AsyncIterator) { self.iterator = iterator }
        func next() async throws -> ByteBuffer? {
            var current = iterator
            defer { iterator = current }
            return try await current.next(isolation: self)
        }
    }

    public func head(_ key: ObjectKey) async throws -> ObjectSummary? {
        tally.counts.withLock { $0.heads += 1 }
        return try await base.head(key)
    }

    public func list(under prefix: ObjectKey.Prefix) -> AsyncThrowingStream<ObjectSummary, any Error> {
        tally.counts.withLock { $0.lists += 1 }
        return base.list(under: prefix)
    }

    public func delete(_ key: ObjectKey) async throws {
        tally.counts.withLock { $0.deletes += 1 }
        try await base.delete(key)
    }

    public func synchronize() async throws { try await base.synchronize() }

    public func deleteIfPresent(_ keys: [ObjectKey]) async throws {
        // One request per thousand keys, as S3 bills a batch.
        tally.counts.withLock { $0.deletes += (keys.count + 999) / 1000 }
        try await base.deleteIfPresent(keys)
    }

    public func create(_ key: ObjectKey, bytes: [UInt8]) async throws -> Bool {
        tally.counts.withLock { $0.puts += 1 }
        let created = try await base.create(key, bytes: bytes)
        if created { tally.counts.withLock { $0.bytesWritten += Int64(bytes.count) } }
        return created
    }

    public func copy(_ source: ObjectKey, to target: ObjectKey) async throws -> ObjectSummary {
        tally.counts.withLock { $0.puts += 1 }
        return try await base.copy(source, to: target)
    }

    public func put(_ key: ObjectKey, movingFile file: URL) async throws -> ObjectSummary {
        tally.counts.withLock { $0.puts += 1 }
        let summary = try await base.put(key, movingFile: file)
        tally.counts.withLock { $0.bytesWritten += summary.sizeBytes }
        return summary
    }
}
