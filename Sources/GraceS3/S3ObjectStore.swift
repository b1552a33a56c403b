import AsyncHTTPClient
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GraceStorage
import NIOCore
import NIOHTTP1

/// An `ObjectStore` over the S3 REST API, signed with `SigV4Signer`, on async-http-client.
/// Keys live under `prefix` in `bucket`; the endpoint is any S3-compatible server.
public struct S3ObjectStore: ObjectStore {
    public let endpoint: URL
    public let bucket: String
    public let prefix: String
    public let signer: SigV4Signer
    let client: HTTPClient
    /// Objects up to this size are sent in one PUT, held in memory meanwhile; larger ones are refused
    /// until multipart uploads are built (issue 12). Grace's objects and the vault's 16 MiB packs fit.
    public static let singlePutLimit = 64 * 1024 * 1024

    public init(endpoint: URL, bucket: String, prefix: String = "", region: String, credentials: AWSCredentials, client: HTTPClient = .shared) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        signer = SigV4Signer(credentials: credentials, region: region)
        self.client = client
    }

    public var location: String { "s3://\(bucket)/\(prefix)" }

    func objectPath(_ key: String) -> String { "/\(bucket)/\(prefix)\(key)" }

    /// Sends one signed request; the body, if any, is in memory.
    func send(_ method: HTTPMethod, path: String, query: [(name: String, value: String)] = [], body: [UInt8]? = nil,
              headers extra: [(name: String, value: String)] = []) async throws -> HTTPClientResponse {
        let host = endpoint.port.map { "\(endpoint.host ?? "localhost"):\($0)" } ?? (endpoint.host ?? "localhost")
        let payload = body.map { SigV4Signer.payloadSHA256(of: $0) } ?? SigV4Signer.emptyPayloadSHA256
        let headers: [(name: String, value: String)] = [("host", host), ("x-amz-content-sha256", payload)] + extra
        let signed = signer.sign(SigV4Signer.Request(method: method.rawValue, path: path, query: query, headers: headers, payloadSHA256: payload), at: Date())
        let queryText = query.map { "\(SigV4Signer.percentEncode($0.name, keepingSlash: false))=\(SigV4Signer.percentEncode($0.value, keepingSlash: false))" }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: "\(endpoint.scheme ?? "http")://\(host)\(SigV4Signer.percentEncode(path, keepingSlash: true))" + (queryText.isEmpty ? "" : "?\(queryText)"))
        request.method = method
        for (name, value) in headers + signed.headers where name != "host" { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        return try await client.execute(request, timeout: .seconds(60))
    }

    func failure(_ response: HTTPClientResponse, _ operation: StorageFailure.Operation, key: String) async -> StorageFailure {
        let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        let code = Self.xmlValue("Code", in: text) ?? "HTTP \(response.status.code)"
        let reason: FailureKind = response.status == .notFound ? .notFound : .unavailable
        return StorageFailure(reason, operation, key: key, location: location, message: "\(code) (HTTP \(response.status.code)) for s3://\(bucket)/\(prefix)\(key)")
    }

    public func put(_ key: ObjectKey, from source: some AsyncSequence<ByteBuffer, any Error> & Sendable) async throws -> ObjectSummary {
        var bytes: [UInt8] = []
        for try await var piece in source {
            bytes += piece.readBytes(length: piece.readableBytes) ?? []
            guard bytes.count <= Self.singlePutLimit else {
                throw StorageFailure(.unsupported, .put, key: key.rawValue, location: location,
                                     message: "objects over \(Self.singlePutLimit >> 20) MiB need a multipart upload, which this version does not do yet")
            }
        }
        let response = try await send(.PUT, path: objectPath(key.rawValue), body: bytes)
        guard response.status == .ok else { throw await failure(response, .put, key: key.rawValue) }
        return ObjectSummary(key: key, sizeBytes: Int64(bytes.count), lastModified: nil)
    }

    public func get(_ key: ObjectKey) async throws -> ObjectStream {
        let response = try await send(.GET, path: objectPath(key.rawValue))
        guard response.status == .ok else { throw await failure(response, .get, key: key.rawValue) }
        let (stream, continuation) = ObjectStream.makeStream()
        let task = Task {
            do {
                // The contract's pieces are at most 64 KiB, whatever the HTTP client hands over.
                for try await var piece in response.body {
                    while piece.readableBytes > 0 { continuation.yield(piece.readSlice(length: min(piece.readableBytes, 64 * 1024))!) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func head(_ key: ObjectKey) async throws -> ObjectSummary? {
        let response = try await send(.HEAD, path: objectPath(key.rawValue))
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw await failure(response, .head, key: key.rawValue) }
        let size = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
        return ObjectSummary(key: key, sizeBytes: size, lastModified: nil)
    }

    public func list(under prefix: ObjectKey.Prefix) -> AsyncThrowingStream<ObjectSummary, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ObjectSummary, any Error>.makeStream()
        let store = self
        let task = Task {
            do {
                var token: String?
                repeat {
                    var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", store.prefix + prefix.rawValue)]
                    if let token { query.append(("continuation-token", token)) }
                    let response = try await store.send(.GET, path: "/\(store.bucket)", query: query)
                    guard response.status == .ok else { throw await store.failure(response, .list, key: prefix.rawValue) }
                    let text = String(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
                    let page = try ListPage(xml: text)
                    for (name, size) in page.objects where name.hasPrefix(store.prefix) {
                        continuation.yield(ObjectSummary(key: try ObjectKey(String(name.dropFirst(store.prefix.count))), sizeBytes: size, lastModified: nil))
                    }
                    token = page.isTruncated ? page.nextToken : nil
                } while token != nil
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func delete(_ key: ObjectKey) async throws {
        // S3 answers a DELETE of a missing key with success; the contract says notFound.
        guard try await head(key) != nil else {
            throw StorageFailure(.notFound, .delete, key: key.rawValue, location: location, message: "no such object")
        }
        let response = try await send(.DELETE, path: objectPath(key.rawValue))
        guard response.status == .noContent || response.status == .ok else { throw await failure(response, .delete, key: key.rawValue) }
    }

    /// Creates the bucket (for tests and `init` of a new vault location).
    public func createBucket() async throws {
        let response = try await send(.PUT, path: "/\(bucket)")
        guard response.status == .ok || response.status == .conflict else { throw await failure(response, .put, key: "") }
    }

    static func xmlValue(_ element: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(element)>"), let end = text.range(of: "</\(element)>", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}

/// One page of a ListObjectsV2 answer.
struct ListPage {
    var objects: [(key: String, size: Int64)] = []
    var isTruncated = false
    var nextToken: String?

    init(xml: String) throws {
        let parser = XMLParser(data: Data(xml.utf8))
        let delegate = Delegate()
        parser.delegate = delegate
        guard parser.parse() else {
            throw StorageFailure(.unavailable, .list, location: "S3", message: "the listing is not valid XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        objects = delegate.objects
        isTruncated = delegate.isTruncated
        nextToken = delegate.nextToken
    }

    final class Delegate: NSObject, XMLParserDelegate {
        var objects: [(key: String, size: Int64)] = []
        var isTruncated = false
        var nextToken: String?
        private var text = ""
        private var key: String?
        private var size: Int64 = 0

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            text = ""
            if name == "Contents" { key = nil; size = 0 }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            switch name {
            case "Key": key = text
            case "Size": size = Int64(text) ?? 0
            case "Contents": if let key { objects.append((key, size)) }
            case "IsTruncated": isTruncated = text == "true"
            case "NextContinuationToken": nextToken = text
            default: break
            }
        }
    }
}
