import Foundation
import GraceStorage

extension S3ObjectStore: PostureReporting {
    public func posture() async throws -> StorePosture {
        let answer = try await perform(Call(method: .GET, path: bucketPath, query: [("encryption", "")]), .head, key: "", accept: [200, 404])
        var encryption: String?
        if answer.status == .ok {
            let rules = try S3XML.parse(answer.body.readableBytesView, what: "the answer to GetBucketEncryption").children("Rule")
            encryption = rules.compactMap { $0.child("ApplyServerSideEncryptionByDefault")?.value("SSEAlgorithm") }.first
        }
        return StorePosture(kind: .s3, place: "\(endpoint.absoluteString) \(signer.region)", versioning: try await versioningStatus() == "Enabled",
                            objectLock: try await objectLockEnabled(), defaultEncryption: encryption,
                            unfinishedUploads: try await unfinishedUploads().count)
    }
}
