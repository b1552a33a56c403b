import Foundation
import GraceStorage
import NIOCore

/// The promises of `ObjectStore`, checked against any conformer: restic's backend suite, for
/// our stores. Throws `ConformanceFailure` naming the broken promise.
public enum ObjectStoreConformance {
    public static func check(_ store: some ObjectStore, under prefix: String = "conformance-\(UUID().uuidString.prefix(8))") async throws {
        let base = prefix + "/"
        let key = try ObjectKey(base + "a/b/object.bin")
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        try expect(try await store.head(key) == nil, "head of a missing key returns nil")
        do {
            _ = try await store.getBytes(key)
            throw ConformanceFailure("getBytes of a missing key must throw")
        } catch let failure as StorageFailure {
            try expect(failure.reason == .notFound, "getBytes of a missing key throws .notFound, not \(failure.reason)")
        }
        do {
            _ = try await store.get(key)
            throw ConformanceFailure("get of a missing key must throw")
        } catch let failure as StorageFailure {
            try expect(failure.reason == .notFound, "get of a missing key throws .notFound, not \(failure.reason)")
        }

        let summary = try await store.put(key, bytes: bytes)
        try expect(summary.sizeBytes == Int64(bytes.count), "put reports the stored size")
        try expect(try await store.getBytes(key) == bytes, "get returns exactly the bytes put")
        var pieces = 0
        for try await piece in try await store.get(key) {
            pieces += 1
            try expect(piece.readableBytes <= 64 * 1024, "get streams pieces of at most 64 KiB")
        }
        try expect(pieces >= 3, "a 200 KB object streams in several pieces")
        try expect(try await store.head(key)?.sizeBytes == Int64(bytes.count), "head reports the size")

        try await store.put(key, bytes: [1, 2, 3])
        try expect(try await store.getBytes(key) == [1, 2, 3], "a second put replaces the object whole")

        // A put whose source fails leaves nothing under the key, not a prefix.
        let failing = try ObjectKey(base + "failing")
        let (source, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.yield(ByteBuffer(bytes: [9, 9, 9]))
        continuation.finish(throwing: SourceBroke())
        do {
            _ = try await store.put(failing, from: source)
            throw ConformanceFailure("put must rethrow its source's error")
        } catch is SourceBroke {}
        try expect(try await store.head(failing) == nil, "a failed put leaves no object behind")

        let empty = try ObjectKey(base + "empty")
        try await store.put(empty, bytes: [])
        try expect(try await store.getBytes(empty) == [], "an empty object reads back empty")

        var listed: Set<ObjectKey> = []
        for try await entry in store.list(under: try ObjectKey.Prefix(base)) { listed.insert(entry.key) }
        try expect(listed == [key, empty], "list under a prefix returns exactly the objects there, got \(listed)")
        var outside = 0
        for try await _ in store.list(under: try ObjectKey.Prefix(base + "a/b/object.bin/none")) { outside += 1 }
        try expect(outside == 0, "list under a prefix with nothing returns nothing")

        let created = try ObjectKey(base + "created")
        try expect(try await store.create(created, bytes: [7]), "create of a new key writes it")
        try expect(!(try await store.create(created, bytes: [8])), "create of a key holding other bytes says so")
        try expect(try await store.create(created, bytes: [7]), "create of a key holding these very bytes is done (a retry whose answer was lost)")
        try expect(try await store.getBytes(created) == [7], "create of an existing key leaves it as it was")
        try await store.delete(created)

        let copied = try ObjectKey(base + "copied/object.bin")
        let copySummary = try await store.copy(key, to: copied)
        let copiedBytes = try await store.getBytes(copied)
        try expect(copySummary.sizeBytes == 3 && copiedBytes == [1, 2, 3], "copy stores the source's bytes under the target")
        try expect(try await store.getBytes(key) == [1, 2, 3], "copy leaves the source in place")
        do {
            _ = try await store.copy(try ObjectKey(base + "none"), to: try ObjectKey(base + "none-copy"))
            throw ConformanceFailure("copy of a missing key must throw")
        } catch let failure as StorageFailure {
            try expect(failure.reason == .notFound, "copy of a missing key throws .notFound, not \(failure.reason)")
        }
        try await store.deleteIfPresent([copied, try ObjectKey(base + "never-written")])
        try expect(try await store.head(copied) == nil, "deleteIfPresent removes the keys that exist, and missing ones are no error")

        try await store.delete(key)
        try expect(try await store.head(key) == nil, "delete removes the object")
        do {
            try await store.delete(key)
            throw ConformanceFailure("delete of a missing key must throw")
        } catch let failure as StorageFailure {
            try expect(failure.reason == .notFound, "delete of a missing key throws .notFound")
        }
        try await store.delete(empty)

        // A local file handed over: stored whole, and gone from where it was.
        let handed = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)")
        try Data(bytes).write(to: handed)
        let moved = try ObjectKey(base + "moved")
        let movedSummary = try await store.put(moved, movingFile: handed)
        let movedBytes = try await store.getBytes(moved)
        try expect(movedSummary.sizeBytes == Int64(bytes.count) && movedBytes == bytes, "put(movingFile:) stores the file's bytes")
        try expect(!FileManager.default.fileExists(atPath: handed.path), "put(movingFile:) leaves no file behind")
        // Some of what was written since the last synchronize is gone again: making the rest durable is no error.
        try await store.synchronize()
        try expect(try await store.getBytes(moved) == bytes, "synchronize leaves the objects as they were")
        try await store.delete(moved)
        try await store.synchronize()
    }

    private static func expect(_ condition: Bool, _ promise: String) throws {
        guard condition else { throw ConformanceFailure(promise) }
    }
}

struct SourceBroke: Error {}

public struct ConformanceFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ promise: String) { description = "ObjectStore promise broken: \(promise)" }
}
