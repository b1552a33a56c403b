import Foundation
import GraceS3
import Testing

/// AWS's published Signature Version 4 vectors: the generic test suite (service `service`, 2015-08-30)
/// for the cases whose paths S3 treats alike, and the S3 documentation's GET example.
struct SigV4Tests {
    static let suite = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                   region: "us-east-1", service: "service")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    struct Vector: Sendable {
        let name: String
        let method: String
        let path: String
        let query: [(name: String, value: String)]
        let headers: [(name: String, value: String)]
        let body: String
        let signature: String
    }

    static let vectors: [Vector] = [
        Vector(name: "get-vanilla", method: "GET", path: "/", query: [], headers: [], body: "",
               signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(name: "get-unreserved", method: "GET", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", query: [], headers: [],
               body: "", signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        Vector(name: "get-vanilla-query-order-key-case", method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: [],
               body: "", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(name: "get-vanilla-query-order-value", method: "GET", path: "/", query: [("Param1", "value2"), ("Param1", "value1")], headers: [],
               body: "", signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
        Vector(name: "get-vanilla-utf8-query", method: "GET", path: "/", query: [("\u{1234}", "bar")], headers: [], body: "",
               signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        Vector(name: "get-header-value-order", method: "GET", path: "/", query: [],
               headers: [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")], body: "",
               signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
        Vector(name: "get-header-key-duplicate", method: "GET", path: "/", query: [],
               headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")], body: "",
               signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        Vector(name: "get-header-value-trim", method: "GET", path: "/", query: [], headers: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
               body: "", signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(name: "post-x-www-form-urlencoded", method: "POST", path: "/", query: [], headers: [("Content-Type", "application/x-www-form-urlencoded")],
               body: "Param1=value1", signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ]

    @Test(arguments: vectors.map(\.name))
    func theSuitesVectorsSignToTheirPublishedSignatures(name: String) {
        let vector = Self.vectors.first { $0.name == name }!
        let body = Data(vector.body.utf8)
        let payload = SigV4Signer.payloadSHA256(of: body)
        let signed = Self.suite.sign(SigV4Signer.Request(method: vector.method, path: vector.path, query: vector.query,
                                                         headers: [("Host", "example.amazonaws.com")] + vector.headers, payloadSHA256: payload), at: Self.suiteDate)
        #expect(signed.signature == vector.signature, "\(name): canonical request was\n\(signed.canonicalRequest)")
        #expect(signed.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="))
    }

    @Test func aSessionTokenIsSigned() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                             sessionToken: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"),
                                 region: "us-east-1", service: "service")
        let signed = signer.sign(SigV4Signer.Request(method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")],
                                                     payloadSHA256: SigV4Signer.emptyPayloadSHA256), at: Self.suiteDate)
        #expect(signed.signature == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")
        #expect(signed.headers.contains { $0.name == "x-amz-security-token" })
        #expect(!"\(signer.credentials)".contains("wJalrXUtnFEMI"))
    }

    /// The S3 documentation's example: GET /test.txt with a Range header, each intermediate string.
    @Test func theS3DocumentationExample() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                 region: "us-east-1")
        let signed = signer.sign(SigV4Signer.Request(
            method: "GET", path: "/test.txt",
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", SigV4Signer.emptyPayloadSHA256)],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256), at: Date(timeIntervalSince1970: 1_369_353_600))  // 2013-05-24T00:00:00Z
        #expect(signed.canonicalRequest == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signed.stringToSign.hasSuffix("20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// S3's object keys: encoded once, `/` kept, never normalized; query values encode `/`, `+`, `=`.
    @Test func s3KeysAndQueriesEncodeAsS3Expects() {
        #expect(SigV4Signer.percentEncode("dir/a b+c=d:ü.txt", keepingSlash: true) == "dir/a%20b%2Bc%3Dd%3A%C3%BC.txt")
        #expect(SigV4Signer.percentEncode("dir/", keepingSlash: false) == "dir%2F")
        let signer = Self.suite
        let a = signer.sign(SigV4Signer.Request(method: "GET", path: "/bucket//a/./b", headers: [("Host", "h")], payloadSHA256: SigV4Signer.emptyPayloadSHA256),
                            at: Self.suiteDate)
        #expect(a.canonicalRequest.split(separator: "\n")[1] == "/bucket//a/./b")
    }
}

