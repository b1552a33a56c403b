import Foundation
import GraceStorage
import Testing

struct StorageLocationTests {
    @Test func anS3LocationCarriesBucketPrefixEndpointAndRegion() throws {
        let text = "s3://grace-vault/backups/prod?endpoint=http://127.0.0.1:9000&region=eu-west-1"
        guard case let .s3(location) = try StorageLocation(parsing: text) else { Issue.record("not an S3 location"); return }
        #expect(location.bucket == "grace-vault")
        #expect(location.prefix == "backups/prod/")
        #expect(location.endpoint == URL(string: "http://127.0.0.1:9000"))
        #expect(location.region == "eu-west-1")
        #expect(location.profile == nil)
        #expect(location.description == "s3://grace-vault/backups/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1")
        #expect(try StorageLocation(parsing: location.description) == .s3(location))
        guard case let .s3(bare) = try StorageLocation(parsing: "s3://bucket.name") else { Issue.record("not an S3 location"); return }
        #expect(bare.prefix == "" && bare.endpoint == nil && bare.region == nil)
        #expect(StorageLocation.s3(bare).appending("bundles").description == "s3://bucket.name/bundles/")
    }

    @Test(arguments: [
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://Bad_Bucket/x", "not a valid bucket name"),
        ("s3://ab/x", "not a valid bucket name"),
        ("s3://key:secret@bucket/x", "holds credentials"),
        ("s3://bucket:9000/x", "has a port after the bucket name"),
        ("s3://bucket/x?endpoint=ftp://host", "not an http:// or https:// URL"),
        ("s3://bucket/x?endpoint=http://key:secret@host", "holds credentials in its endpoint"),
        ("s3://bucket/x?color=blue", "unknown parameter color"),
        ("s3://bucket/x?region=", "has an empty region"),
        ("s3://bucket/a//b", "empty, . or .. segment"),
        ("s3://bucket/a/../b", "empty, . or .. segment"),
        ("gs://bucket/x", "uses gs://"),
    ])
    func aBadLocationSaysWhatIsWrong(text: String, reason: String) {
        let failure = #expect(throws: InvalidLocation.self) { try StorageLocation(parsing: text) }
        #expect(failure?.description.contains(reason) == true, "\(failure.map { "\($0)" } ?? "no failure")")
        #expect(failure?.description.contains("secret") == false)
    }

    @Test func aDeploymentIsAFolderEvenWhenItsObjectsAreInABucket() throws {
        #expect(throws: InvalidLocation.self) { try DeploymentLocation(parsing: "s3://bucket/deployment") }
    }
}
