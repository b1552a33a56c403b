import AsyncHTTPClient
import Crypto
import Foundation
import GraceModel
import GraceStorage
import NIOCore
import NIOHTTP1
import Synchronization

/// An `ObjectStore` over the S3 REST API, signed with `SigV4Signer`, on async-http-client.
/// Keys live under `prefix` in `bucket` (path-style addressing, which every S3-compatible
/// service accepts); the endpoint is AWS or any S3-compatible server.
///
/// Every request is retried under `retry` (`S3RetryPolicy`); a `get` that breaks mid-body resumes
/// from the byte it reached, and only while the object is unchanged. A `put` of up to
/// `singlePutLimit` bytes is one PUT; a larger one goes up as a multipart upload, `concurrency`
/// parts at a time, aborted if anything fails, so memory stays at `concurrency` parts and nothing
/// is left under the key or among the uploads.
public struct S3ObjectStore: ObjectStore {
    public let endpoint: URL
    public let bucket: String
    public let prefix: String
    public let signer: SigV4Signer
    public var retry: S3RetryPolicy
    /// Requests of one transfer (parts of one upload) in flight at once.
    public var concurrency: Int
    /// Objects up to this size go up in one PUT, held in memory meanwhile: fewer requests than a
    /// multipart upload of two or three parts, which services and moto handle more slowly.
    public var singlePutLimit: Int
    /// The first 2,000 parts of an upload have this size, the next 2,000 twice it, and so on:
    /// S3 allows 10,000 parts of at least 5 MiB (but the last), so sizes grow with the object.
    public var partSizeBytes: Int
    /// When set, every object is written locked until `retention` after its write (Object Lock).
    public var objectLock: ObjectLockSetting?
    let client: HTTPClient
    let tally = S3RequestTally()

    public init(endpoint: URL, bucket: String, prefix: String = "", region: String, credentials: AWSCredentials,
                retry: S3RetryPolicy = .standard, concurrency: Int = 4, partSizeBytes: Int = 8 << 20, singlePutLimit: Int = 16 << 20,
                client: HTTPClient = S3ObjectStore.sharedClient) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        signer = SigV4Signer(credentials: credentials, region: region)
        self.retry = retry
        self.concurrency = max(1, concurrency)
        self.partSizeBytes = max(5 << 20, partSizeBytes)
        self.singlePutLimit = max(self.partSizeBytes, singlePutLimit)
        self.client = client
    }

    /// One client for the process: a pool wide enough for parallel transfers, an idle-read timeout
    /// so a stalled connection fails (and is retried) instead of hanging. A refused connection fails
    /// its attempt at once: the pool's own retries would keep it waiting past `S3RetryPolicy`'s bounds.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public var location: String { "s3://\(bucket)/\(prefix)" }

    /// Requests sent, retries and resumed reads since this store was made (its copies share them).
    public var requestTally: S3RequestTally.Counts { tally.counts.withLock { $0 } }

    func objectPath(_ key: String) -> String { "/\(bucket)/\(prefix)\(key)" }
    var bucketPath: String { "/\(bucket)" }
    func describe(_ key: String) -> String { "s3://\(bucket)/\(prefix)\(key)" }

    // MARK: - Requests

    struct Call: Sendable {
        var method: HTTPMethod
        var path: String
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body: ByteBuffer?
    }

    /// One signed attempt.
    func execute(_ call: Call) async throws -> HTTPClientResponse {
        let host = endpoint.port.map { "\(endpoint.host ?? "localhost"):\($0)" } ?? (endpoint.host ?? "localhost")
        let payload = call.body.map { body in body.withUnsafeReadableBytes { SigV4Signer.payloadSHA256(of: $0) } } ?? SigV4Signer.emptyPayloadSHA256
        let headers: [(name: String, value: String)] = [("host", host), ("x-amz-content-sha256", payload)] + call.headers
        let signed = signer.sign(SigV4Signer.Request(method: call.method.rawValue, path: call.path, query: call.query, headers: headers, payloadSHA256: payload), at: Date())
        let queryText = call.query.map { "\(SigV4Signer.percentEncode($0.name, keepingSlash: false))=\(SigV4Signer.percentEncode($0.value, keepingSlash: false))" }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: "\(endpoint.scheme ?? "http")://\(host)\(SigV4Signer.percentEncode(call.path, keepingSlash: true))" + (queryText.isEmpty ? "" : "?\(queryText)"))
        request.method = call.method
        for (name, value) in headers + signed.headers where name != "host" { request.headers.add(name: name, value: value) }
        if let body = call.body { request.body = .bytes(body) }
        tally.counts.withLock { $0.requests += 1 }
        return try await client.execute(request, timeout: .seconds(retry.attemptTimeoutSeconds))
    }

    /// An answer: its status and headers, and its body, read whole unless the caller streams it.
    struct Answer {
        let response: HTTPClientResponse
        let body: ByteBuffer
        var status: HTTPResponseStatus { response.status }
    }

    /// Sends `call` until an attempt gets an answer that is not worth retrying, or the policy runs
    /// out. Answers with a status in `accept` are returned; any other is thrown as a
    /// `StorageFailure` naming the bucket, key and status.
    func perform(_ call: Call, _ operation: StorageFailure.Operation, key: String, accept: Set<UInt> = [200],
                 bodyLimit: Int = 16 << 20) async throws -> Answer {
        try await performStreaming(call, operation, key: key, accept: accept) { response in
            Answer(response: response, body: try await response.body.collect(upTo: bodyLimit))
        }
    }

    /// Like `perform`, but an accepted answer is handed to `read`, whose own connection errors are
    /// retried too.
    func performStreaming<Result>(_ call: Call, _ operation: StorageFailure.Operation, key: String, accept: Set<UInt> = [200],
                                  read: (HTTPClientResponse) async throws -> Result) async throws -> Result {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            var problem: String
            do {
                let response = try await execute(call)
                if accept.contains(response.status.code) {
                    return try await read(response)
                }
                let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
                let code = (try? S3XML.parse(body.readableBytesView, what: "an error")).flatMap { $0.value("Code") }
                guard S3RetryPolicy.isRetryable(response.status, code: code) else {
                    throw failure(status: response.status, code: code, operation, key: key)
                }
                problem = "\(code ?? "HTTP \(response.status.code)") (HTTP \(response.status.code))"
            } catch let failure as StorageFailure {
                throw failure
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                problem = Self.describe(error)
            }
            let elapsed = ContinuousClock.now - started
            guard attempt < retry.maxAttempts, elapsed < .seconds(retry.maxTotalSeconds) else {
                throw StorageFailure(.unavailable, operation, key: key, location: location,
                                     message: "gave up on \(describe(key)) at \(endpoint.absoluteString) after \(attempt) attempts in \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))): \(problem)")
            }
            tally.counts.withLock { $0.retries += 1 }
            try await Task.sleep(for: retry.delay(afterAttempt: attempt))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let client = error as? HTTPClientError { return "\(client)" }
        return String(describing: error)
    }

    /// A final answer that is not a success, as the contract's failure: what, where, and a hint.
    func failure(status: HTTPResponseStatus, code: String?, _ operation: StorageFailure.Operation, key: String) -> StorageFailure {
        let what = "\(code ?? "HTTP \(status.code)") (HTTP \(status.code)) for \(describe(key)) at \(endpoint.absoluteString)"
        switch (status.code, code) {
        case (404, "NoSuchBucket"):
            return StorageFailure(.notFound, operation, key: key, location: location, message: "bucket \(bucket) does not exist: \(what)")
        case (404, _):
            return StorageFailure(.notFound, operation, key: key, location: location, message: "no such object: \(what)")
        case (403, "SignatureDoesNotMatch"):
            return StorageFailure(.unavailable, operation, key: key, location: location,
                                  message: "\(what): the secret key does not match access key \(signer.credentials.accessKeyID)")
        case (403, "InvalidAccessKeyId"):
            return StorageFailure(.unavailable, operation, key: key, location: location,
                                  message: "\(what): the service does not know access key \(signer.credentials.accessKeyID)")
        case (403, _):
            return StorageFailure(.unavailable, operation, key: key, location: location,
                                  message: "\(what): access denied to access key \(signer.credentials.accessKeyID)")
        case (412, _):
            return StorageFailure(.locked, operation, key: key, location: location, message: "a condition did not hold: \(what)")
        default:
            return StorageFailure(.unavailable, operation, key: key, location: location, message: what)
        }
    }

    // MARK: - The contract

    public func get(_ key: ObjectKey) async throws -> ObjectStream {
        try await get(key, versionID: nil)
    }

    /// Streams the object (or one version of it), in pieces of at most 64 KiB, as they are consumed.
    public func get(_ key: ObjectKey, versionID: String?) async throws -> ObjectStream {
        let reader = ResumableRead(store: self, key: key.rawValue, versionID: versionID)
        try await reader.start()
        return ObjectStream { try await reader.next() }
    }

    public func head(_ key: ObjectKey) async throws -> ObjectSummary? {
        let answer = try await perform(Call(method: .HEAD, path: objectPath(key.rawValue)), .head, key: key.rawValue, accept: [200, 404])
        if answer.status == .notFound { return nil }
        let size = answer.response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
        let modified = answer.response.headers.first(name: "last-modified").flatMap(S3Time.parseHTTPDate).map { Instant($0) }
        return ObjectSummary(key: key, sizeBytes: size, lastModified: modified)
    }

    public func list(under prefix: ObjectKey.Prefix) -> AsyncThrowingStream<ObjectSummary, any Error> {
        let listing = PagedListing(store: self, prefix: prefix.rawValue)
        return AsyncThrowingStream { try await listing.next() }
    }

    public func delete(_ key: ObjectKey) async throws {
        // S3 answers a DELETE of a missing key with success; the contract says notFound.
        guard try await head(key) != nil else {
            throw StorageFailure(.notFound, .delete, key: key.rawValue, location: location, message: "no such object: \(describe(key.rawValue))")
        }
        _ = try await perform(Call(method: .DELETE, path: objectPath(key.rawValue)), .delete, key: key.rawValue, accept: [200, 204])
    }

    /// DeleteObjects: up to 1,000 keys a request, in quiet mode, so only failures come back.
    public func deleteIfPresent(_ keys: [ObjectKey]) async throws {
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = keys[start..<min(keys.count, start + 1000)]
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in batch { xml += "<Object><Key>\(Self.escapeXML(prefix + key.rawValue))</Key></Object>" }
            xml += "</Delete>"
            let body = ByteBuffer(string: xml)
            let call = Call(method: .POST, path: bucketPath, query: [("delete", "")],
                            headers: [("content-md5", Self.md5Base64(body)), ("content-type", "application/xml")], body: body)
            let answer = try await perform(call, .delete, key: batch.first!.rawValue)
            let result = try S3XML.parse(answer.body.readableBytesView, what: "the answer to DeleteObjects")
            if let error = result.child("Error") {
                throw StorageFailure(.unavailable, .delete, key: error.value("Key") ?? "", location: location,
                                     message: "\(error.value("Code") ?? "an error") deleting \(describe(error.value("Key") ?? "")): \(error.value("Message") ?? "")")
            }
        }
    }

    /// CopyObject, inside the service: no bytes through this process. Objects over 5 GiB (the
    /// limit of one copy) are read and written back instead.
    public func copy(_ source: ObjectKey, to target: ObjectKey) async throws -> ObjectSummary {
        guard let original = try await head(source) else {
            throw StorageFailure(.notFound, .get, key: source.rawValue, location: location, message: "no such object: \(describe(source.rawValue))")
        }
        guard original.sizeBytes <= 5 << 30 else { return try await put(target, from: try await get(source)) }
        var headers: [(name: String, value: String)] = [("x-amz-copy-source", SigV4Signer.percentEncode(objectPath(source.rawValue), keepingSlash: true))]
        headers += lockHeaders(for: target)
        let answer = try await perform(Call(method: .PUT, path: objectPath(target.rawValue), headers: headers), .put, key: target.rawValue)
        // A copy can fail after its 200 has been sent: the error is then the body.
        let result = try S3XML.parse(answer.body.readableBytesView, what: "the answer to CopyObject")
        if result.name == "Error" {
            throw StorageFailure(.unavailable, .put, key: target.rawValue, location: location,
                                 message: "\(result.value("Code") ?? "an error") copying \(describe(source.rawValue)) to \(describe(target.rawValue))")
        }
        return ObjectSummary(key: target, sizeBytes: original.sizeBytes, lastModified: nil)
    }

    static func escapeXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&apos;")
    }

    static func md5Base64(_ body: ByteBuffer) -> String {
        Data(body.withUnsafeReadableBytes { Insecure.MD5.hash(data: $0) }).base64EncodedString()
    }
}

/// Counts of what a store's requests met: for tests, benchmarks and `--json` reports.
public final class S3RequestTally: Sendable {
    public struct Counts: Sendable, Hashable, Codable {
        /// HTTP requests sent, each attempt counted.
        public var requests = 0
        /// Attempts made again after a retryable answer or a connection failure.
        public var retries = 0
        /// Reads continued from the byte they reached after their connection broke.
        public var resumedReads = 0
    }

    let counts = Mutex(Counts())
}

/// One page of a listing at a time, fetched when the consumer reaches its end: memory stays at
/// one page (1,000 keys) however many objects there are.
actor PagedListing {
    let store: S3ObjectStore
    let prefix: String
    var buffered: [ObjectSummary] = []
    var token: String?
    var finished = false

    init(store: S3ObjectStore, prefix: String) {
        self.store = store
        self.prefix = prefix
    }

    func next() async throws -> ObjectSummary? {
        while buffered.isEmpty {
            if finished { return nil }
            try await fetch()
        }
        return buffered.removeFirst()
    }

    private func fetch() async throws {
        var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", store.prefix + prefix)]
        if let token { query.append(("continuation-token", token)) }
        let answer = try await store.perform(S3ObjectStore.Call(method: .GET, path: store.bucketPath, query: query), .list, key: prefix)
        let page: S3XML
        do {
            page = try S3XML.parse(answer.body.readableBytesView, what: "a listing")
        } catch {
            throw StorageFailure(.unavailable, .list, key: prefix, location: store.location, message: "\(error)")
        }
        for entry in page.children("Contents") {
            guard let name = entry.value("Key"), name.hasPrefix(store.prefix) else { continue }
            let size = entry.value("Size").flatMap { Int64($0) } ?? 0
            let modified = entry.value("LastModified").flatMap(S3Time.parseISO8601).map { Instant($0) }
            buffered.append(ObjectSummary(key: try ObjectKey(String(name.dropFirst(store.prefix.count))), sizeBytes: size, lastModified: modified))
        }
        token = page.value("IsTruncated") == "true" ? page.value("NextContinuationToken") : nil
        finished = token == nil
    }
}

/// A GET that survives a broken connection: it asks again for the bytes from where it stopped,
/// `If-Match` the ETag of its first answer, so a changed object is an error, never a splice.
actor ResumableRead {
    let store: S3ObjectStore
    let key: String
    let versionID: String?
    var body: HTTPClientResponse.Body.AsyncIterator?
    var pending: ByteBuffer?
    var delivered: Int64 = 0
    var length: Int64?
    var etag: String?
    var resumes = 0

    init(store: S3ObjectStore, key: String, versionID: String?) {
        self.store = store
        self.key = key
        self.versionID = versionID
    }

    var query: [(name: String, value: String)] { versionID.map { [("versionId", $0)] } ?? [] }

    func start() async throws {
        let response = try await store.performStreaming(S3ObjectStore.Call(method: .GET, path: store.objectPath(key), query: query), .get, key: key) { $0 }
        etag = response.headers.first(name: "etag")
        length = response.headers.first(name: "content-length").flatMap { Int64($0) }
        body = response.body.makeAsyncIterator()
    }

    func next() async throws -> ByteBuffer? {
        while true {
            if var piece = pending, piece.readableBytes > 0 {
                let slice = piece.readSlice(length: min(piece.readableBytes, 64 * 1024))!
                pending = piece
                delivered += Int64(slice.readableBytes)
                return slice
            }
            do {
                var iterator = body
                let piece = try await iterator?.next(isolation: self)
                body = iterator
                if let piece {
                    pending = piece
                    continue
                }
                if let length, delivered < length { throw S3ProtocolError(message: "the body ended after \(delivered) of \(length) bytes") }
                return nil
            } catch is CancellationError {
                throw CancellationError()
            } catch let failure as StorageFailure {
                throw failure
            } catch {
                try await resume(after: error)
            }
        }
    }

    private func resume(after error: any Error) async throws {
        guard let etag, resumes < store.retry.maxAttempts else {
            throw StorageFailure(.unavailable, .get, key: key, location: store.location,
                                 message: "reading \(store.describe(key)) broke after \(delivered) bytes, \(resumes) times: \(S3ObjectStore.describe(error))")
        }
        resumes += 1
        store.tally.counts.withLock { $0.resumedReads += 1 }
        try await Task.sleep(for: store.retry.delay(afterAttempt: resumes))
        let call = S3ObjectStore.Call(method: .GET, path: store.objectPath(key), query: query,
                                      headers: [("range", "bytes=\(delivered)-"), ("if-match", etag)])
        do {
            let response = try await store.performStreaming(call, .get, key: key, accept: [206]) { $0 }
            body = response.body.makeAsyncIterator()
        } catch let failure as StorageFailure where failure.reason == .locked || failure.reason == .notFound {
            throw StorageFailure(.integrity, .get, key: key, location: store.location,
                                 message: "\(store.describe(key)) changed or went away while being read (after \(delivered) bytes); read it again")
        }
    }
}
