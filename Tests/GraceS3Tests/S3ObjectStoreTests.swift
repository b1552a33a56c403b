import Foundation
import GraceBackupTesting
import GraceS3
import GraceStorage
import Testing

/// Against a real S3 API: moto in server mode on 127.0.0.1, which scripts/test starts and names in
/// GRACE_S3_TEST_ENDPOINT. Without it the test fails when scripts/test asked for every tool.
struct S3ObjectStoreTests {
    static func store(prefix: String) async throws -> S3ObjectStore? {
        guard let text = ProcessInfo.processInfo.environment["GRACE_S3_TEST_ENDPOINT"], let endpoint = URL(string: text) else {
            if ProcessInfo.processInfo.environment["GRACE_BACKUP_REQUIRE_TOOLS"] != nil {
                Issue.record("GRACE_S3_TEST_ENDPOINT is not set: scripts/test starts moto and sets it")
            }
            return nil
        }
        let store = S3ObjectStore(endpoint: endpoint, bucket: "grace-tests", prefix: prefix, region: "us-east-1",
                                  credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"))
        try await store.createBucket()
        return store
    }

    @Test func keepsTheObjectStoreContract() async throws {
        guard let store = try await Self.store(prefix: "conformance-\(UUID().uuidString.prefix(8))") else { return }
        try await ObjectStoreConformance.check(store)
    }
}
