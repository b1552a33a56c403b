import Crypto
import Foundation
import GraceS3
import GraceStorage
import Testing

/// An independent client, the AWS CLI (`python3 -m awscli`, from PyPI), reads what we write and
/// writes what we read, multipart uploads included, byte for byte.
struct S3InteropTests {
    @Test func theAWSCLIReadsOurObjectsAndWeReadItsUploads() async throws {
        guard let store = try await S3TestServer.store("interop"), let endpoint = S3TestServer.endpoint() else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let remote = "s3://\(store.bucket)/\(store.prefix)"

        // Ours, read by aws: a small object and one that went up in two parts.
        let small = S3TestServer.bytes(1_000, seed: 7)
        let large = S3TestServer.bytes(9 << 20, seed: 8)
        try await store.put(try ObjectKey("ours/small.txt"), bytes: small)
        _ = try await store.put(try ObjectKey("ours/large.bin"), from: S3TestServer.source(large))
        let listing = try await AWSCLI.run(["s3", "ls", "--recursive", remote + "ours/"], endpoint: endpoint)
        #expect(listing.contains("\(small.count) \(store.prefix)ours/small.txt"), "\(listing)")
        #expect(listing.contains("\(large.count) \(store.prefix)ours/large.bin"), "\(listing)")
        _ = try await AWSCLI.run(["s3", "cp", remote + "ours/large.bin", folder.appendingPathComponent("large.bin").path], endpoint: endpoint)
        #expect(try Data(contentsOf: folder.appendingPathComponent("large.bin")) == Data(large))
        _ = try await AWSCLI.run(["s3", "cp", remote + "ours/small.txt", folder.appendingPathComponent("small.txt").path], endpoint: endpoint)
        #expect(try Data(contentsOf: folder.appendingPathComponent("small.txt")) == Data(small))

        // aws's, read by us: over its 8 MiB threshold, `aws s3 cp` uploads in parts.
        let theirs = S3TestServer.bytes(20 << 20, seed: 9)
        try Data(theirs).write(to: folder.appendingPathComponent("theirs.bin"))
        _ = try await AWSCLI.run(["s3", "cp", folder.appendingPathComponent("theirs.bin").path, remote + "theirs/theirs.bin"], endpoint: endpoint)
        var listed: [String: Int64] = [:]
        for try await summary in store.list(under: try ObjectKey.Prefix("theirs/")) { listed[summary.key.rawValue] = summary.sizeBytes }
        #expect(listed == ["theirs/theirs.bin": Int64(theirs.count)])
        let read = try await store.getBytes(try ObjectKey("theirs/theirs.bin"))
        #expect(read.count == theirs.count && SHA256.hash(data: read) == SHA256.hash(data: theirs))
    }
}
