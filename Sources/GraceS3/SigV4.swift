import Crypto
import Foundation
import GraceModel

/// AWS Signature Version 4 for S3 (docs: "Authenticating Requests (AWS Signature Version 4)"),
/// written here because no AWS SDK for Swift is available. Pure: a request description in, the
/// headers to send out, so every step is checked against AWS's published vectors in the tests.
///
/// S3's rules, which differ from other services: the path is percent-encoded once (not twice) and
/// never normalized, since an object key may hold `//` or `.`.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request to sign. `path` is the decoded path (an object key after `/bucket/`, say); `query`
    /// holds decoded names and values; `headers` are those to sign (never `user-agent` or `expect`,
    /// which proxies rewrite). `payloadSHA256` is the hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        public var payloadSHA256: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
                    payloadSHA256: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadSHA256 = payloadSHA256
        }
    }

    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        /// Headers to add to the request: `x-amz-date`, `x-amz-security-token` when there is one, `authorization`.
        public var headers: [(name: String, value: String)]
    }

    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The `x-amz-content-sha256` of a body held in memory.
    public static func payloadSHA256(of body: some DataProtocol) -> String { Hex.encode(SHA256.hash(data: body)) }

    public func sign(_ request: Request, at date: Date) -> Signed {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        var headers = request.headers
        headers.append(("x-amz-date", stamp))
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonical = [request.method, Self.canonicalURI(request.path), Self.canonicalQuery(request.query), canonicalHeaders, signedHeaders,
                         request.payloadSHA256].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, Hex.encode(SHA256.hash(data: Data(canonical.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        var added: [(name: String, value: String)] = [("x-amz-date", stamp)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        added.append(("authorization", authorization))
        return Signed(canonicalRequest: canonical, stringToSign: stringToSign, signature: signature, authorization: authorization, headers: added)
    }

    // MARK: - Canonical forms

    /// Each byte outside RFC 3986's unreserved set as `%XX` (uppercase), `/` kept in a path.
    public static func percentEncode(_ text: String, keepingSlash: Bool) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where keepingSlash:
                encoded.append("/")
            default:
                encoded.unicodeScalars.append("%")
                encoded.unicodeScalars.append(Unicode.Scalar(upperHexDigits[Int(byte >> 4)]))
                encoded.unicodeScalars.append(Unicode.Scalar(upperHexDigits[Int(byte & 0x0f)]))
            }
        }
        return encoded
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    static func canonicalURI(_ path: String) -> String {
        let encoded = percentEncode(path, keepingSlash: true)
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// Names and values encoded, then sorted by name and value, compared as bytes.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (percentEncode($0.name, keepingSlash: false), percentEncode($0.value, keepingSlash: false)) }
            .sorted { ($0.0.utf8.lexicographicallyPrecedes($1.0.utf8)) || ($0.0 == $1.0 && $0.1.utf8.lexicographicallyPrecedes($1.1.utf8)) }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lowercase names, sorted; values trimmed with inner runs of spaces collapsed; repeated names
    /// joined with commas in the order given. Returns the block (each line ending in a newline) and
    /// the signed-headers list.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            values[name.lowercased(), default: []].append(trimmed)
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// `YYYYMMDDTHHMMSSZ`: the ISO-8601 UTC form of the whole second, without its separators (not
    /// `Calendar` and `String(format:)`, which cost Foundation's calendar and formatter on every request).
    static func timestamp(_ date: Date) -> String {
        let whole = Instant(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down)))
        return String(whole.description.filter { $0 != "-" && $0 != ":" })
    }
}
