import Foundation
import GraceBackupTesting
import GraceStorage
import Testing

struct MeteredObjectStoreTests {
    @Test func keepsTheObjectStoreContract() async throws {
        let folder = try TemporaryFolder()
        try await ObjectStoreConformance.check(MeteredObjectStore(try FileSystemObjectStore(root: folder.url, create: true)))
    }

    @Test func countsEachRequestAndTheBytesItMoves() async throws {
        let folder = try TemporaryFolder()
        let store = MeteredObjectStore(try FileSystemObjectStore(root: folder.url, create: true))
        let key = try ObjectKey("a/b")
        try await store.put(key, bytes: Array(repeating: 1, count: 100_000))
        #expect(try await store.getBytes(key).count == 100_000)
        _ = try await store.head(key)
        for try await _ in store.list(under: .all) {}
        try await store.delete(key)
        try await store.synchronize()
        let counts = store.requests
        #expect(counts.puts == 1 && counts.gets == 1 && counts.heads == 1 && counts.lists == 1 && counts.deletes == 1 && counts.total == 5)
        #expect(counts.bytesWritten == 100_000 && counts.bytesRead == 100_000)
    }
}
