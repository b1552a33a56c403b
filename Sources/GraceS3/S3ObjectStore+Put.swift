import AsyncHTTPClient
import Foundation
import GraceStorage
import NIOCore

extension S3ObjectStore {
    /// One PUT when the object is at most `singlePutLimit`; otherwise a multipart upload with
    /// `concurrency` parts in flight. The source is read once, a part at a time: memory stays at
    /// `concurrency` parts whatever the object's size. A failure (the source's, or a part's after
    /// its retries) aborts the upload, so S3 keeps neither an object nor parts.
    public func put(_ key: ObjectKey, from source: some AsyncSequence<ByteBuffer, any Error> & Sendable) async throws -> ObjectSummary {
        var reader = PartReader(source.makeAsyncIterator())
        let head = try await reader.next(singlePutLimit) ?? ByteBuffer()
        if reader.isFinished {
            try await putWhole(key, body: head)
            return ObjectSummary(key: key, sizeBytes: Int64(head.readableBytes), lastModified: nil)
        }
        // Larger: what was read goes back, to be cut into parts like the rest.
        reader.unread(head)
        let uploadID = try await createUpload(key)
        do {
            let total = try await uploadParts(key, uploadID: uploadID, from: &reader)
            return ObjectSummary(key: key, sizeBytes: total, lastModified: nil)
        } catch {
            // Not a child of this task: a cancelled put still aborts its upload.
            await Task { try? await abortUpload(key, uploadID: uploadID) }.value
            throw error
        }
    }

    /// A PUT with `If-None-Match: *`: S3 (since 2024) and moto refuse it with 412 when the key exists,
    /// which is also the answer to a retry whose first attempt was applied and its answer lost: then
    /// the key holds these very bytes, and the create is done.
    public func create(_ key: ObjectKey, bytes: [UInt8]) async throws -> Bool {
        let body = ByteBuffer(bytes: bytes)
        var headers = lockHeaders(for: key) + [("if-none-match", "*")]
        if objectLock != nil { headers.append(("content-md5", Self.md5Base64(body))) }
        let answer = try await perform(Call(method: .PUT, path: objectPath(key.rawValue), headers: headers, body: body), .put, key: key.rawValue, accept: [200, 412])
        guard answer.status == .ok else { return try await holds(key, exactly: bytes) }
        return true
    }

    func partSize(number: Int) -> Int { min(partSizeBytes << ((number - 1) / 2000), 5 << 30) }

    func putWhole(_ key: ObjectKey, body: ByteBuffer) async throws {
        var headers = lockHeaders(for: key)
        if objectLock != nil { headers.append(("content-md5", Self.md5Base64(body))) }
        _ = try await perform(Call(method: .PUT, path: objectPath(key.rawValue), headers: headers, body: body), .put, key: key.rawValue)
    }

    func createUpload(_ key: ObjectKey) async throws -> String {
        let answer = try await perform(Call(method: .POST, path: objectPath(key.rawValue), query: [("uploads", "")], headers: lockHeaders(for: key)), .put, key: key.rawValue)
        guard let id = try S3XML.parse(answer.body.readableBytesView, what: "the answer to CreateMultipartUpload").value("UploadId"), !id.isEmpty else {
            throw StorageFailure(.unavailable, .put, key: key.rawValue, location: location, message: "CreateMultipartUpload for \(describe(key.rawValue)) returned no upload id")
        }
        return id
    }

    private func uploadParts<Source: AsyncIteratorProtocol>(_ key: ObjectKey, uploadID: String,
                                                            from reader: inout PartReader<Source>) async throws -> Int64 {
        var etags: [Int: String] = [:]
        var total: Int64 = 0
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var inFlight = 0
            var number = 0
            var next = try await reader.next(partSize(number: 1))
            while let body = next {
                number += 1
                guard number <= 10_000 else {
                    throw StorageFailure(.unsupported, .put, key: key.rawValue, location: location, message: "the object needs more than S3's 10,000 parts")
                }
                if inFlight == concurrency, let (done, etag) = try await group.next() {
                    etags[done] = etag
                    inFlight -= 1
                }
                total += Int64(body.readableBytes)
                let partNumber = number
                group.addTask { (partNumber, try await uploadPart(key, uploadID: uploadID, number: partNumber, body: body)) }
                inFlight += 1
                next = try await reader.next(partSize(number: number + 1))
            }
            for try await (done, etag) in group { etags[done] = etag }
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for number in etags.keys.sorted() { xml += "<Part><PartNumber>\(number)</PartNumber><ETag>\(Self.escapeXML(etags[number]!))</ETag></Part>" }
        xml += "</CompleteMultipartUpload>"
        let answer: Answer
        do {
            answer = try await perform(Call(method: .POST, path: objectPath(key.rawValue), query: [("uploadId", uploadID)],
                                            headers: [("content-type", "application/xml")], body: ByteBuffer(string: xml)), .put, key: key.rawValue)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            // A retry of a completion whose answer was lost finds the upload gone: done, if the
            // object is there at its full size.
            guard let stored = try await head(key), stored.sizeBytes == total else { throw failure }
            return total
        }
        // CompleteMultipartUpload can fail after its 200 has been sent: the error is then the body.
        let result = try S3XML.parse(answer.body.readableBytesView, what: "the answer to CompleteMultipartUpload")
        if result.name == "Error" {
            throw StorageFailure(.unavailable, .put, key: key.rawValue, location: location,
                                 message: "completing the upload of \(describe(key.rawValue)) failed: \(result.value("Code") ?? "") \(result.value("Message") ?? "")")
        }
        return total
    }

    private func uploadPart(_ key: ObjectKey, uploadID: String, number: Int, body: ByteBuffer) async throws -> String {
        var headers: [(name: String, value: String)] = []
        if objectLock != nil { headers.append(("content-md5", Self.md5Base64(body))) }
        let answer = try await perform(Call(method: .PUT, path: objectPath(key.rawValue), query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
                                            headers: headers, body: body), .put, key: key.rawValue)
        guard let etag = answer.response.headers.first(name: "etag") else {
            throw StorageFailure(.unavailable, .put, key: key.rawValue, location: location, message: "part \(number) of \(describe(key.rawValue)) got no ETag")
        }
        return etag
    }

    func abortUpload(_ key: ObjectKey, uploadID: String) async throws {
        _ = try await perform(Call(method: .DELETE, path: objectPath(key.rawValue), query: [("uploadId", uploadID)]), .delete, key: key.rawValue, accept: [204, 200, 404])
    }

    /// Multipart uploads begun under this store's prefix and neither completed nor aborted:
    /// what a crashed writer leaves (S3 bills their parts). `doctor` reports them.
    public func unfinishedUploads() async throws -> [(key: String, uploadID: String)] {
        var found: [(key: String, uploadID: String)] = []
        var markers: [(name: String, value: String)] = []
        repeat {
            let answer = try await perform(Call(method: .GET, path: bucketPath, query: [("uploads", ""), ("prefix", prefix)] + markers), .list, key: "")
            let page = try S3XML.parse(answer.body.readableBytesView, what: "the answer to ListMultipartUploads")
            for upload in page.children("Upload") {
                if let key = upload.value("Key"), let id = upload.value("UploadId") { found.append((key, id)) }
            }
            markers = []
            if page.value("IsTruncated") == "true", let key = page.value("NextKeyMarker"), let id = page.value("NextUploadIdMarker") {
                markers = [("key-marker", key), ("upload-id-marker", id)]
            }
        } while !markers.isEmpty
        return found
    }
}

/// Cuts a stream of pieces into parts of a given size, without copying more than a piece at a time.
struct PartReader<Source: AsyncIteratorProtocol> where Source.Element == ByteBuffer {
    var iterator: Source
    var leftover: ByteBuffer?
    private(set) var isFinished = false

    init(_ iterator: Source) { self.iterator = iterator }

    /// Puts bytes back in front of what is left to read.
    mutating func unread(_ bytes: ByteBuffer) {
        var front = bytes
        if var rest = leftover { front.writeBuffer(&rest) }
        leftover = front.readableBytes > 0 ? front : nil
        isFinished = leftover == nil && isFinished
    }

    /// The next `size` bytes, fewer only at the end of the source; nil when nothing is left.
    mutating func next(_ size: Int) async throws -> ByteBuffer? {
        var part = ByteBuffer()
        part.reserveCapacity(min(size, 1 << 20))
        while part.readableBytes < size {
            if var piece = leftover {
                let taken = piece.readSlice(length: min(piece.readableBytes, size - part.readableBytes))!
                part.writeImmutableBuffer(taken)
                leftover = piece.readableBytes > 0 ? piece : nil
                continue
            }
            guard let piece = try await iterator.next() else {
                isFinished = true
                break
            }
            leftover = piece
        }
        if !isFinished, leftover == nil {
            // Look one piece ahead, so a source that ends exactly at a part boundary is seen to end.
            if let piece = try await iterator.next() { leftover = piece } else { isFinished = true }
        }
        return part.readableBytes == 0 && isFinished ? nil : part
    }
}
