import Foundation
import GraceModel
import GraceStorage
import NIOCore

extension S3ObjectStore: ObjectLocking {
    /// The headers that lock an object written now under `key`, when the store locks it.
    func lockHeaders(for key: ObjectKey, now: Date = Date()) -> [(name: String, value: String)] {
        guard let objectLock, objectLock.locks(key) else { return [] }
        let until = now.addingTimeInterval(TimeInterval(objectLock.retentionSeconds))
        return [("x-amz-object-lock-mode", objectLock.mode.rawValue.uppercased()), ("x-amz-object-lock-retain-until-date", S3Time.formatISO8601(until))]
    }

    public func locking(with setting: ObjectLockSetting) -> S3ObjectStore {
        var locked = self
        locked.objectLock = setting
        return locked
    }

    /// The object's retention date as HEAD reports it (moto's GetObjectRetention is unreliable;
    /// HEAD is not); nil when it is not locked or not there.
    public func lockedUntil(_ key: ObjectKey) async throws -> Instant? {
        let answer = try await perform(Call(method: .HEAD, path: objectPath(key.rawValue)), .head, key: key.rawValue, accept: [200, 404])
        guard answer.status == .ok, answer.response.headers.first(name: "x-amz-object-lock-mode") != nil,
              let until = answer.response.headers.first(name: "x-amz-object-lock-retain-until-date").flatMap(S3Time.parseISO8601) else { return nil }
        return Instant(until)
    }

    /// PutObjectRetention with a later date (S3 refuses an earlier one in compliance mode).
    public func extendLock(of key: ObjectKey, until: Instant) async throws {
        guard let objectLock else { return }
        let date = Date(timeIntervalSince1970: Double(until.nanosecondsSinceEpoch) / 1e9)
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>\(objectLock.mode.rawValue.uppercased())</Mode><RetainUntilDate>\(S3Time.formatISO8601(date))</RetainUntilDate></Retention>"
        let body = ByteBuffer(string: xml)
        _ = try await perform(Call(method: .PUT, path: objectPath(key.rawValue), query: [("retention", "")],
                                   headers: [("content-md5", Self.md5Base64(body)), ("content-type", "application/xml")], body: body), .put, key: key.rawValue)
    }

    /// Turns versioning on: every overwrite and delete keeps the version before it.
    public func enableVersioning() async throws {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>"
        let body = ByteBuffer(string: xml)
        _ = try await perform(Call(method: .PUT, path: bucketPath, query: [("versioning", "")],
                                   headers: [("content-md5", Self.md5Base64(body)), ("content-type", "application/xml")], body: body), .put, key: "")
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
