import AsyncHTTPClient
import Foundation
import GraceS3
import GraceStorage
import NIOCore
import Testing

/// Signatures proven, not assumed: a moto with its checking on (GRACE_S3_AUTH_TEST_ENDPOINT, which
/// scripts/test starts with INITIAL_NO_AUTH_ACTION_COUNT=3). The first three requests make an IAM
/// user, its access key and an allow-all policy; every request after them is checked.
struct S3SignatureTests {
    @Test func theRightKeyIsAcceptedAndAWrongSecretIsRefused() async throws {
        guard let endpoint = S3TestServer.endpoint("GRACE_S3_AUTH_TEST_ENDPOINT") else { return }
        // So the test can run again against the same server: three free requests from now on.
        var reset = HTTPClientRequest(url: endpoint.absoluteString + "/moto-api/reset-auth")
        reset.method = .POST
        reset.headers.add(name: "content-type", value: "text/plain")
        reset.body = .bytes(ByteBuffer(string: "3"))
        #expect(try await HTTPClient.shared.execute(reset, timeout: .seconds(10)).status == .ok)

        let user = "grace-\(UUID().uuidString.prefix(8))"
        _ = try await iam(endpoint, ["Action": "CreateUser", "UserName": user])
        let key = try await iam(endpoint, ["Action": "CreateAccessKey", "UserName": user])
        guard let id = value("AccessKeyId", in: key), let secret = value("SecretAccessKey", in: key) else {
            Issue.record("CreateAccessKey answered without a key: \(key)")
            return
        }
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await iam(endpoint, ["Action": "PutUserPolicy", "UserName": user, "PolicyName": "everything", "PolicyDocument": policy])

        let good = S3ObjectStore(endpoint: endpoint, bucket: "signed-\(user.lowercased())", prefix: "plain", region: "us-east-1",
                                 credentials: AWSCredentials(accessKeyID: id, secretAccessKey: secret))
        try await good.createBucket()
        let object = try ObjectKey("dir/object.bin")
        let bytes = S3TestServer.bytes(100_000)
        try await good.put(object, bytes: bytes)
        #expect(try await good.getBytes(object) == bytes)
        #expect(try await good.head(object)?.sizeBytes == Int64(bytes.count))

        let bad = S3ObjectStore(endpoint: endpoint, bucket: good.bucket, prefix: "plain", region: "us-east-1",
                                credentials: AWSCredentials(accessKeyID: id, secretAccessKey: secret + "x"),
                                retry: S3RetryPolicy(maxAttempts: 2, baseDelaySeconds: 0.01))
        let refusedPut = await #expect(throws: StorageFailure.self) { try await bad.put(try ObjectKey("dir/other.bin"), bytes: [1]) }
        #expect(refusedPut?.description.contains("the secret key does not match access key \(id)") == true, "\(refusedPut.map { "\($0)" } ?? "")")
        #expect(refusedPut?.description.contains(secret) == false)
        let refusedGet = await #expect(throws: StorageFailure.self) { _ = try await bad.getBytes(object) }
        #expect(refusedGet?.description.contains("SignatureDoesNotMatch (HTTP 403)") == true)
        let refusedHead = await #expect(throws: StorageFailure.self) { _ = try await bad.head(object) }
        #expect(refusedHead?.description.contains("HTTP 403") == true)
        await #expect(throws: StorageFailure.self) { try await bad.delete(object) }
        #expect(try await good.head(object) != nil, "a refused delete deleted nothing")
        #expect(try await good.head(try ObjectKey("dir/other.bin")) == nil, "a refused put wrote nothing")

        try await good.delete(object)
        #expect(try await good.head(object) == nil)
    }

    /// One IAM Query API call, signed for the `iam` service.
    func iam(_ endpoint: URL, _ parameters: [String: String]) async throws -> String {
        let form = (parameters.merging(["Version": "2010-05-08"]) { $1 }).sorted { $0.key < $1.key }
            .map { "\(SigV4Signer.percentEncode($0.key, keepingSlash: false))=\(SigV4Signer.percentEncode($0.value, keepingSlash: false))" }
            .joined(separator: "&")
        let host = "\(endpoint.host!):\(endpoint.port!)"
        let payload = SigV4Signer.payloadSHA256(of: Array(form.utf8))
        let headers = [("host", host), ("content-type", "application/x-www-form-urlencoded"), ("x-amz-content-sha256", payload)]
        let signer = SigV4Signer(credentials: S3TestServer.credentials, region: "us-east-1", service: "iam")
        let signed = signer.sign(SigV4Signer.Request(method: "POST", path: "/", headers: headers, payloadSHA256: payload), at: Date())
        var request = HTTPClientRequest(url: endpoint.absoluteString + "/")
        request.method = .POST
        for (name, value) in headers + signed.headers where name != "host" { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: form))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .ok, "\(parameters["Action"]!): \(text)")
        return text
    }

    func value(_ element: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(element)>"), let end = text.range(of: "</\(element)>", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}
