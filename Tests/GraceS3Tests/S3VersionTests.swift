import Foundation
import GraceModel
import GraceS3
import GraceStorage
import NIOCore
import Testing

/// A versioned bucket read as it was at a time: objects overwritten or deleted since come back,
/// objects written since are found, and nothing is lost doing it.
struct S3VersionTests {
    @Test func aVersionedBucketRewindsToATime() async throws {
        guard let store = try await S3TestServer.store("versions") else { return }
        let versioned = S3ObjectStore(endpoint: store.endpoint, bucket: "versioned-\(UUID().uuidString.prefix(8).lowercased())", prefix: "objects",
                                      region: "us-east-1", credentials: S3TestServer.credentials)
        try await versioned.createBucket()
        let unversioned = await #expect(throws: StorageFailure.self, "an unversioned bucket has no past to read") {
            _ = try await VersionedRewind.rewind(versioned, to: Instant(Date()), deleteNewer: false, dryRun: true)
        }
        #expect(unversioned?.reason == .invalidInput && unversioned?.description.contains("does not keep versions") == true, "\(String(describing: unversioned))")
        try await versioned.enableVersioning()
        let kept = try ObjectKey("a/kept.bin"), changed = try ObjectKey("a/changed.bin"), deleted = try ObjectKey("b/deleted.bin")
        try await versioned.put(kept, bytes: [1])
        try await versioned.put(changed, bytes: [2, 2])
        try await versioned.put(deleted, bytes: [3, 3, 3])
        // S3 records a version's time to the second or millisecond: step past it on both sides.
        try await Task.sleep(for: .milliseconds(1100))
        let then = Instant(Date())
        try await Task.sleep(for: .milliseconds(1100))
        try await versioned.put(changed, bytes: [9])
        try await versioned.delete(deleted)
        let newer = try ObjectKey("c/newer.bin")
        try await versioned.put(newer, bytes: [4])

        let plan = try await VersionedRewind.rewind(versioned, to: then, deleteNewer: true, dryRun: true)
        #expect(Set(plan.restored) == [changed.rawValue, deleted.rawValue] && plan.newer == [newer.rawValue] && plan.unchanged == 1)
        #expect(try await versioned.getBytes(changed) == [9], "a dry run changes nothing")

        let done = try await VersionedRewind.rewind(versioned, to: then, deleteNewer: true, dryRun: false)
        #expect(done.restored.count == 2 && done.deletedNewer)
        #expect(try await versioned.getBytes(changed) == [2, 2])
        #expect(try await versioned.getBytes(deleted) == [3, 3, 3], "a key deleted after the time is back")
        #expect(try await versioned.getBytes(kept) == [1])
        #expect(try await versioned.head(newer) == nil)
        // Nothing was lost: the overwritten bytes and the newer object are versions still.
        let versions = try await versioned.versions()
        #expect(versions.contains { $0.key == newer && !$0.isDeleteMarker })
        #expect(versions.filter { $0.key == changed && !$0.isDeleteMarker }.count == 3)
        let again = try await VersionedRewind.rewind(versioned, to: then, deleteNewer: true, dryRun: true)
        #expect(again.restored.isEmpty && again.newer.isEmpty, "a second rewind finds nothing to do")
    }
}
