import AsyncHTTPClient
import Crypto
import Foundation
import GraceBackupTesting
import GraceS3
import GraceStorage
import NIOCore
import Testing

/// The real S3 API the tests run against: moto in server mode on 127.0.0.1, which scripts/test
/// starts and names in GRACE_S3_TEST_ENDPOINT (and a second one, with signature checking, in
/// GRACE_S3_AUTH_TEST_ENDPOINT). Without them the tests fail when scripts/test asked for every tool.
enum S3TestServer {
    static func endpoint(_ variable: String = "GRACE_S3_TEST_ENDPOINT") -> URL? {
        guard let text = ProcessInfo.processInfo.environment[variable], let url = URL(string: text) else {
            if ProcessInfo.processInfo.environment["GRACE_BACKUP_REQUIRE_TOOLS"] != nil {
                Issue.record("\(variable) is not set: scripts/test starts moto and sets it")
            }
            return nil
        }
        return url
    }

    static let credentials = AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")
    static let bucket = "grace-tests"

    /// A store under a fresh prefix of the test bucket, which it creates.
    static func store(_ name: String, endpoint: URL? = nil, retry: S3RetryPolicy = .standard, partSizeBytes: Int = 5 << 20,
                      concurrency: Int = 4) async throws -> S3ObjectStore? {
        guard let server = self.endpoint() else { return nil }
        let store = S3ObjectStore(endpoint: endpoint ?? server, bucket: bucket, prefix: "\(name)-\(UUID().uuidString.prefix(8))", region: "us-east-1",
                                  credentials: credentials, retry: retry, concurrency: concurrency, partSizeBytes: partSizeBytes)
        try await S3ObjectStore(endpoint: server, bucket: bucket, region: "us-east-1", credentials: credentials).createBucket()
        return store
    }

    /// Bytes that do not repeat in a way a store could shortcut: a SHA-256 chain.
    static func bytes(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 32)
        var block = Array(SHA256.hash(data: [seed]))
        while bytes.count < count {
            bytes += block
            block = Array(SHA256.hash(data: block))
        }
        return Array(bytes.prefix(count))
    }

    /// A source that hands `bytes` over in 64 KiB pieces, then throws `failure` if given.
    static func source(_ bytes: [UInt8], failingWith failure: (any Error)? = nil) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        for start in stride(from: 0, to: bytes.count, by: 64 * 1024) {
            continuation.yield(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + 64 * 1024)]))
        }
        continuation.finish(throwing: failure)
        return stream
    }
}
