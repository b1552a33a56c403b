import Foundation
import GraceModel
import GraceStorage
import NIOCore

/// S3 Object Lock for a vault: every object written locked, in one mode, for one period.
public struct ObjectLockSetting: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// Who holds `s3:BypassGovernanceRetention` can still delete; others cannot.
        case governance
        /// Nobody can delete before the date, not even the account's root.
        case compliance
    }

    public var mode: Mode
    public var retentionSeconds: Int64

    public init(mode: Mode, retentionSeconds: Int64) {
        self.mode = mode
        self.retentionSeconds = retentionSeconds
    }

    var headerValue: String { mode.rawValue.uppercased() }
}

extension S3ObjectStore {
    /// The headers that lock an object written now, when the store locks.
    func lockHeaders(now: Date = Date()) -> [(name: String, value: String)] {
        guard let objectLock else { return [] }
        let until = now.addingTimeInterval(TimeInterval(objectLock.retentionSeconds))
        return [("x-amz-object-lock-mode", objectLock.headerValue), ("x-amz-object-lock-retain-until-date", S3Time.formatISO8601(until))]
    }

    /// An object's lock as HEAD reports it (moto's GetObjectRetention is unreliable; HEAD is not).
    public func lock(of key: ObjectKey) async throws -> (mode: String, until: Instant)? {
        let answer = try await perform(Call(method: .HEAD, path: objectPath(key.rawValue)), .head, key: key.rawValue, accept: [200, 404])
        guard answer.status == .ok, let mode = answer.response.headers.first(name: "x-amz-object-lock-mode"),
              let until = answer.response.headers.first(name: "x-amz-object-lock-retain-until-date").flatMap(S3Time.parseISO8601) else { return nil }
        return (mode, Instant(until))
    }

    /// Moves an object's retention date later (S3 never lets it move earlier in compliance mode):
    /// what a new snapshot does for the old objects it still needs.
    public func extendRetention(of key: ObjectKey, until: Date) async throws {
        guard let objectLock else { return }
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>\(objectLock.headerValue)</Mode><RetainUntilDate>\(S3Time.formatISO8601(until))</RetainUntilDate></Retention>"
        let body = ByteBuffer(string: xml)
        _ = try await perform(Call(method: .PUT, path: objectPath(key.rawValue), query: [("retention", "")],
                                   headers: [("content-md5", Self.md5Base64(body)), ("content-type", "application/xml")], body: body), .put, key: key.rawValue)
    }

    /// The bucket's versioning status: `Enabled`, `Suspended`, or nil when never turned on.
    public func versioningStatus() async throws -> String? {
        let answer = try await perform(Call(method: .GET, path: bucketPath, query: [("versioning", "")]), .head, key: "")
        return try S3XML.parse(answer.body.readableBytesView, what: "the answer to GetBucketVersioning").value("Status")
    }

    /// Whether the bucket was created with Object Lock, and its default retention if any.
    public func objectLockEnabled() async throws -> Bool {
        let answer = try await perform(Call(method: .GET, path: bucketPath, query: [("object-lock", "")]), .head, key: "", accept: [200, 404])
        guard answer.status == .ok else { return false }
        return try S3XML.parse(answer.body.readableBytesView, what: "the answer to GetObjectLockConfiguration").value("ObjectLockEnabled") == "Enabled"
    }
}
