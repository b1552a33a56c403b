import Foundation
import GraceBackupTesting
import GraceStorage
import Testing

struct FileSystemObjectStoreTests {
    @Test func keepsTheObjectStoreContract() async throws {
        let folder = try TemporaryFolder()
        try await ObjectStoreConformance.check(try FileSystemObjectStore(root: folder.url, create: true))
    }

    @Test func aMissingFolderIsNotFoundUnlessCreated() throws {
        let folder = try TemporaryFolder()
        #expect(throws: StorageFailure.self) { try FileSystemObjectStore(root: folder.url.appendingPathComponent("none"), create: false) }
    }

    @Test func putLeavesNoTemporaryFilesAndListHidesIncoming() async throws {
        let folder = try TemporaryFolder()
        let store = try FileSystemObjectStore(root: folder.url, create: true)
        try await store.put(try ObjectKey("r/x"), bytes: [1])
        let incoming = try FileManager.default.contentsOfDirectory(atPath: folder.url.appendingPathComponent(".incoming").path)
        #expect(incoming.isEmpty)
        var keys: [String] = []
        for try await summary in store.list(under: .all) { keys.append(summary.key.rawValue) }
        #expect(keys == ["r/x"])
    }

    @Test func refusesKeysThatEscapeTheFolder() {
        for text in ["../x", "a/../../x", "/abs", "a//b", ""] {
            #expect(throws: InvalidObjectKey.self) { try ObjectKey(text) }
        }
    }
}

/// A folder removed when the test ends.
final class TemporaryFolder: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("grace-backup-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}
