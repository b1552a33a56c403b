import Foundation
import GraceBackupTesting
@testable import GraceStorage
import Testing

struct FileSystemObjectStoreTests {
    @Test(arguments: [FileSystemObjectStore.Durability.eachPut, .onSynchronize])
    func keepsTheObjectStoreContract(_ durability: FileSystemObjectStore.Durability) async throws {
        let folder = try TemporaryFolder()
        try await ObjectStoreConformance.check(try FileSystemObjectStore(root: folder.url, create: true, durability: durability))
    }

    /// Which writes `synchronize` flushes cannot be seen from outside short of a power cut; what it
    /// would flush can: every file written or moved in, every folder whose entries changed.
    @Test func synchronizeFlushesWhatWasWrittenFileByFileUntilThereIsTooMuch() async throws {
        let folder = try TemporaryFolder()
        let store = try FileSystemObjectStore(root: folder.url, create: true, durability: .onSynchronize)
        let root = store.root.path
        try await store.put(try ObjectKey("r/new/x"), bytes: [1])  // into two folders it creates
        #expect(try await store.create(try ObjectKey("r/y"), bytes: [2]))
        let outside = folder.url.appendingPathComponent("outside")
        try Data([3]).write(to: outside)
        try await store.put(try ObjectKey("r/z"), movingFile: outside)
        try await store.delete(try ObjectKey("r/y"))
        let pending = try #require(store.pendingSynchronization())
        #expect(pending.files == ["\(root)/r/new/x", "\(root)/r/y", "\(root)/r/z"])
        #expect(pending.folders == [root, "\(root)/r", "\(root)/r/new"])
        try await store.synchronize()  // r/y is gone by now: nothing to flush there
        #expect(store.pendingSynchronization().map { $0.files.isEmpty && $0.folders.isEmpty } == true)
        try await store.delete(try ObjectKey("r/z"))
        #expect(store.pendingSynchronization().map { $0.files.isEmpty && $0.folders == ["\(root)/r"] } == true, "a delete changes its folder")
        try await store.synchronize()

        // Past the limit, the whole file system at once, and nothing is kept meanwhile.
        for index in 0...UnsynchronizedPaths.limit { try await store.put(try ObjectKey("many/\(index)"), bytes: [0]) }
        #expect(store.pendingSynchronization() == nil)
        try await store.synchronize()
        #expect(store.pendingSynchronization().map { $0.files.isEmpty && $0.folders.isEmpty } == true)

        // A store that flushes each put leaves nothing for later.
        let eachPut = try FileSystemObjectStore(root: folder.url, create: true)
        try await eachPut.put(try ObjectKey("r/w"), bytes: [4])
        #expect(eachPut.pendingSynchronization().map { $0.files.isEmpty && $0.folders.isEmpty } == true)
    }

    @Test func aMissingFolderIsNotFoundUnlessCreated() throws {
        let folder = try TemporaryFolder()
        do {
            _ = try FileSystemObjectStore(root: folder.url.appendingPathComponent("none"), create: false)
            Issue.record("a missing folder must not open")
        } catch {
            #expect((error as? StorageFailure)?.reason == .notFound, "\(error)")
        }
        _ = try FileSystemObjectStore(root: folder.url.appendingPathComponent("none"), create: true)
        #expect(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("none").path))
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
