import Crypto
import Foundation
import GraceBackupTesting
import GraceS3
import GraceStorage
import NIOCore
import Testing

struct S3ObjectStoreTests {
    @Test func keepsTheObjectStoreContract() async throws {
        guard let store = try await S3TestServer.store("conformance") else { return }
        try await ObjectStoreConformance.check(store)
    }

    @Test func aLargeStreamGoesUpInPartsAndReadsBackWhole() async throws {
        guard let store = try await S3TestServer.store("multipart", concurrency: 3) else { return }
        let bytes = S3TestServer.bytes(23 << 20)
        let key = try ObjectKey("large/object.bin")
        let before = store.requestTally.requests
        let summary = try await store.put(key, from: S3TestServer.source(bytes))
        #expect(summary.sizeBytes == Int64(bytes.count))
        // Create, five parts of 5 MiB (the last 3 MiB), complete.
        #expect(store.requestTally.requests - before == 7)
        #expect(try await store.head(key)?.sizeBytes == Int64(bytes.count))
        let read = try await store.getBytes(key)
        #expect(read.count == bytes.count && SHA256.hash(data: read) == SHA256.hash(data: bytes))
        #expect(try await store.unfinishedUploads().isEmpty)
    }

    @Test func aSourceThatFailsMidUploadAbortsIt() async throws {
        guard let store = try await S3TestServer.store("aborted") else { return }
        struct Broke: Error {}
        let key = try ObjectKey("never.bin")
        await #expect(throws: Broke.self) {
            try await store.put(key, from: S3TestServer.source(S3TestServer.bytes(24 << 20), failingWith: Broke()))
        }
        #expect(try await store.head(key) == nil)
        #expect(try await store.unfinishedUploads().isEmpty, "the upload was aborted, its parts with it")
    }

    @Test func oneBatchDeletesAThousandKeysAndTheNextTheRest() async throws {
        guard let store = try await S3TestServer.store("batch") else { return }
        let keys = try (0..<1_003).map { try ObjectKey("k/\($0)") }
        try await forEachConcurrently(keys, limit: 16, { try await store.put($0, bytes: [1]) }, collect: { _ in })
        let before = store.requestTally.requests
        try await store.deleteIfPresent(keys + [try ObjectKey("k/missing")])
        #expect(store.requestTally.requests - before == 2)
        var left = 0
        for try await _ in store.list(under: try ObjectKey.Prefix("k/")) { left += 1 }
        #expect(left == 0)
    }

    @Test func aMissingBucketIsNamedWhenOpened() async throws {
        guard let endpoint = S3TestServer.endpoint() else { return }
        let location = S3Location(bucket: "no-such-bucket-here", prefix: "x", endpoint: endpoint, region: "us-east-1")
        let environment = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]
        let store = try S3ObjectStore(location, environment: environment)
        let failure = await #expect(throws: StorageFailure.self) { try await store.checkBucket() }
        #expect(failure?.reason == .notFound)
        #expect(failure?.description.contains("bucket no-such-bucket-here does not exist") == true)
    }

    /// A port nothing listens on: every attempt is refused. The count ends it here (the time bound
    /// is far: the whole suite shares two cores, and a loaded machine is slow).
    @Test func anEndpointThatDoesNotAnswerFailsAfterItsAttempts() async throws {
        let policy = S3RetryPolicy(maxAttempts: 4, baseDelaySeconds: 0.05, maxDelaySeconds: 0.2, maxTotalSeconds: 600, attemptTimeoutSeconds: 5)
        let store = S3ObjectStore(endpoint: URL(string: "http://127.0.0.1:9")!, bucket: "grace-tests", region: "us-east-1",
                                  credentials: S3TestServer.credentials, retry: policy)
        let failure = await #expect(throws: StorageFailure.self) { try await store.put(try ObjectKey("a"), bytes: [1]) }
        #expect(failure?.reason == .unavailable)
        #expect(failure?.description.contains("gave up on s3://grace-tests/a at http://127.0.0.1:9 after 4 attempts") == true, "\(failure.map { "\($0)" } ?? "")")
        #expect(failure?.description.contains("Connection refused") == true)
        #expect(store.requestTally.retries == 3)
    }

    /// The same, ended by time: attempts stop once the total bound has passed, however many are left.
    @Test func retriesStopWhenTheirTimeIsUp() async throws {
        let policy = S3RetryPolicy(maxAttempts: 1_000, baseDelaySeconds: 0.2, maxDelaySeconds: 0.2, maxTotalSeconds: 1, attemptTimeoutSeconds: 5)
        let store = S3ObjectStore(endpoint: URL(string: "http://127.0.0.1:9")!, bucket: "grace-tests", region: "us-east-1",
                                  credentials: S3TestServer.credentials, retry: policy)
        let started = ContinuousClock.now
        let failure = await #expect(throws: StorageFailure.self) { _ = try await store.head(try ObjectKey("a")) }
        #expect(ContinuousClock.now - started >= .seconds(1))
        #expect(failure?.description.contains("gave up on s3://grace-tests/a") == true)
        #expect(store.requestTally.retries < 100, "time, not the count, ended it")
    }

    /// Refused, throttled, dropped, applied-but-unanswered, truncated and delayed requests: the
    /// contract still holds, a multipart upload still lands whole, and the retries are counted.
    @Test func retriesCarryEveryOperationThroughAFailingProxy() async throws {
        guard let server = S3TestServer.endpoint() else { return }
        let proxy = try FailureProxy(upstream: server, share: 0.3, failures: ["refuse", "throttle", "drop", "applied", "truncate", "delay"])
        let policy = S3RetryPolicy(maxAttempts: 10, baseDelaySeconds: 0.01, maxDelaySeconds: 0.1, maxTotalSeconds: 60, attemptTimeoutSeconds: 1)
        guard let store = try await S3TestServer.store("proxied", endpoint: proxy.endpoint, retry: policy) else { return }
        try await ObjectStoreConformance.check(store)
        let bytes = S3TestServer.bytes(12 << 20, seed: 2)
        let key = try ObjectKey("large.bin")
        _ = try await store.put(key, from: S3TestServer.source(bytes))
        let read = try await store.getBytes(key)
        #expect(read.count == bytes.count && SHA256.hash(data: read) == SHA256.hash(data: bytes))
        let stats = try await proxy.stats()
        let injected = ["refuse", "throttle", "drop", "applied", "truncate", "delay"].map { stats[$0] ?? 0 }.reduce(0, +)
        #expect(injected > 5, "the proxy injected failures: \(stats)")
        #expect(store.requestTally.retries > 0)
    }

    /// A create the server applied whose answer never came back: the retry meets 412 and finds the
    /// key holding what this create wrote, so the create is done (an export's record, a vault's
    /// config.json), not lost to "someone else".
    @Test func aCreateWhoseAnswerWasLostIsDone() async throws {
        guard let server = S3TestServer.endpoint() else { return }
        let proxy = try FailureProxy(upstream: server, share: 0.5, failures: ["applied"])
        let policy = S3RetryPolicy(maxAttempts: 10, baseDelaySeconds: 0.01, maxDelaySeconds: 0.1, maxTotalSeconds: 60, attemptTimeoutSeconds: 5)
        guard let store = try await S3TestServer.store("created", endpoint: proxy.endpoint, retry: policy) else { return }
        for index in 0..<20 {
            let key = try ObjectKey("records/\(index).json")
            #expect(try await store.create(key, bytes: Array("record \(index)".utf8)), "create \(index)")
        }
        let stats = try await proxy.stats()
        #expect((stats["applied"] ?? 0) > 3, "the proxy applied requests and dropped their answers: \(stats)")
        #expect(try await !store.create(try ObjectKey("records/0.json"), bytes: Array("other".utf8)), "other bytes under a taken key are refused")
    }

    @Test func aReadWhoseConnectionBreaksResumesWhereItStopped() async throws {
        guard let server = S3TestServer.endpoint() else { return }
        let proxy = try FailureProxy(upstream: server, share: 0.5, failures: ["truncate"])
        guard let direct = try await S3TestServer.store("resumed") else { return }
        var store = direct
        store = S3ObjectStore(endpoint: proxy.endpoint, bucket: direct.bucket, prefix: direct.prefix, region: "us-east-1", credentials: S3TestServer.credentials)
        let bytes = S3TestServer.bytes(3 << 20, seed: 3)
        let key = try ObjectKey("read.bin")
        try await direct.put(key, bytes: bytes)
        for _ in 0..<6 {
            let read = try await store.getBytes(key)
            #expect(read == bytes)
        }
        #expect(store.requestTally.resumedReads > 0)
    }

    @Test func anObjectReplacedWhileBeingReadIsAnErrorNotASplice() async throws {
        guard let server = S3TestServer.endpoint() else { return }
        let proxy = try FailureProxy(upstream: server, share: 1, failures: ["truncate"])
        guard let direct = try await S3TestServer.store("replaced") else { return }
        let store = S3ObjectStore(endpoint: proxy.endpoint, bucket: direct.bucket, prefix: direct.prefix, region: "us-east-1",
                                  credentials: S3TestServer.credentials)
        let key = try ObjectKey("changing.bin")
        try await direct.put(key, bytes: S3TestServer.bytes(1 << 20, seed: 4))
        let stream = try await store.get(key)
        try await direct.put(key, bytes: S3TestServer.bytes(2 << 20, seed: 5))
        let failure = await #expect(throws: StorageFailure.self) {
            for try await _ in stream {}
        }
        #expect(failure?.reason == .integrity)
        #expect(failure?.description.contains("changed or went away while being read") == true)
    }
}
