import Foundation
import GraceModel
import GraceStorage

/// One version of a key in a versioned bucket: the bytes written at a time, or a delete marker.
public struct S3ObjectVersion: Sendable, Hashable {
    public let key: ObjectKey
    public let versionID: String
    public let lastModified: Instant
    public let sizeBytes: Int64
    /// The content's ETag (nil for a delete marker): equal ETags and sizes mean equal bytes here.
    public let etag: String?
    public let isLatest: Bool
    public let isDeleteMarker: Bool
}

extension S3ObjectStore {
    /// Every version and delete marker under `prefix` (ListObjectVersions, page by page), newest
    /// first for each key, as S3 lists them.
    public func versions(under prefix: ObjectKey.Prefix = .all) async throws -> [S3ObjectVersion] {
        var found: [S3ObjectVersion] = []
        var markers: [(name: String, value: String)] = []
        repeat {
            let answer = try await perform(Call(method: .GET, path: bucketPath, query: [("versions", ""), ("prefix", self.prefix + prefix.rawValue)] + markers),
                                           .list, key: prefix.rawValue)
            let page = try S3XML.parse(answer.body.readableBytesView, what: "the answer to ListObjectVersions")
            for entry in page.children where entry.name == "Version" || entry.name == "DeleteMarker" {
                guard let name = entry.value("Key"), name.hasPrefix(self.prefix), let id = entry.value("VersionId"),
                      let modified = entry.value("LastModified").flatMap(S3Time.parseISO8601) else { continue }
                found.append(S3ObjectVersion(key: try ObjectKey(String(name.dropFirst(self.prefix.count))), versionID: id, lastModified: Instant(modified),
                                             sizeBytes: entry.value("Size").flatMap { Int64($0) } ?? 0, etag: entry.value("ETag"),
                                             isLatest: entry.value("IsLatest") == "true",
                                             isDeleteMarker: entry.name == "DeleteMarker"))
            }
            markers = []
            if page.value("IsTruncated") == "true", let key = page.value("NextKeyMarker") {
                markers = [("key-marker", key)] + (page.value("NextVersionIdMarker").map { [("version-id-marker", $0)] } ?? [])
            }
        } while !markers.isEmpty
        return found
    }

    /// Makes a former version the current one again: a server-side copy of that version onto its key.
    public func promote(_ version: S3ObjectVersion) async throws {
        let source = SigV4Signer.percentEncode(objectPath(version.key.rawValue), keepingSlash: true) + "?versionId=\(SigV4Signer.percentEncode(version.versionID, keepingSlash: false))"
        let answer = try await perform(Call(method: .PUT, path: objectPath(version.key.rawValue),
                                            headers: [("x-amz-copy-source", source)] + lockHeaders(for: version.key)), .put, key: version.key.rawValue)
        let result = try S3XML.parse(answer.body.readableBytesView, what: "the answer to CopyObject")
        if result.name == "Error" {
            throw StorageFailure(.unavailable, .put, key: version.key.rawValue, location: location,
                                 message: "\(result.value("Code") ?? "an error") bringing back version \(version.versionID) of \(describe(version.key.rawValue))")
        }
    }
}

/// A versioned bucket's objects as they were at a time: which keys to bring back (deleted or
/// overwritten since) and which were written after it. Versions written at the instant itself
/// count as before it (S3 records times to the second or millisecond).
public struct VersionedRewind: Sendable, Codable, Hashable {
    public var location: String
    public var time: Instant
    public var dryRun: Bool
    /// Keys whose version at `time` is not the current one (overwritten or deleted since): brought back.
    public var restored: [String] = []
    /// Keys that did not exist at `time` (written after it): deleted with `deleteNewer`, else listed.
    public var newer: [String] = []
    public var deletedNewer = false
    /// Keys already as they were.
    public var unchanged = 0

    /// Plans, and unless `dryRun` carries out, the rewind of `store` to `time`. Nothing is lost: in
    /// a versioned bucket, bringing a version back writes a new version, and deleting adds a delete marker.
    public static func rewind(_ store: S3ObjectStore, under prefix: ObjectKey.Prefix = .all, to time: Instant, deleteNewer: Bool,
                              dryRun: Bool, progress: ProgressSink? = nil) async throws -> VersionedRewind {
        guard try await store.versioningStatus() == "Enabled" else {
            throw StorageFailure(.invalidInput, .list, location: store.location,
                                 message: "bucket \(store.bucket) does not keep versions (versioning is not enabled), so it cannot be read as it was at \(time)")
        }
        var report = VersionedRewind(location: store.location, time: time, dryRun: dryRun)
        var toRestore: [S3ObjectVersion] = []
        var toDelete: [ObjectKey] = []
        let byKey = Dictionary(grouping: try await store.versions(under: prefix), by: \.key)
        for (key, versions) in byKey.sorted(by: { $0.key < $1.key }) {
            let newestFirst = versions.sorted { $0.lastModified > $1.lastModified || ($0.lastModified == $1.lastModified && $0.isLatest) }
            let current = newestFirst.first { $0.isLatest }
            let then = newestFirst.first { $0.lastModified <= time }
            switch (then, current) {
            case let (then?, current) where !then.isDeleteMarker:
                // The same version, or a copy of it (what an earlier rewind made current): nothing to do.
                if let current, current.versionID == then.versionID || (!current.isDeleteMarker && current.etag != nil && current.etag == then.etag
                    && current.sizeBytes == then.sizeBytes) {
                    report.unchanged += 1
                } else {
                    toRestore.append(then)
                }
            case let (_, current?) where !current.isDeleteMarker:
                toDelete.append(key)
            default:
                report.unchanged += 1  // absent then and now
            }
        }
        report.restored = toRestore.map(\.key.rawValue)
        report.newer = toDelete.map(\.rawValue)
        guard !dryRun else { return report }
        progress?.yield(.phaseStarted(.restoringObjects, totalItems: toRestore.count, totalBytes: toRestore.reduce(0) { $0 + $1.sizeBytes }))
        try await forEachConcurrently(toRestore, limit: store.concurrency, { version in
            try await store.promote(version)
            return version.sizeBytes
        }, collect: { progress?.yield(.advanced(items: 1, bytes: $0)) })
        if deleteNewer {
            try await store.deleteIfPresent(toDelete)
            report.deletedNewer = true
        }
        return report
    }
}
