import Foundation

/// Copies every object of one store that another lacks: a vault to a second location, a folder of
/// files to a bucket and back. An object the target already holds at the same size is skipped, so
/// a second run after an interrupted one copies only what is left (rclone's `copy`, restic's `copy`).
/// Each object lands whole (the target's `put` is atomic); the target is synchronized at the end.
public struct ObjectCopier: Sendable {
    public let source: any ObjectStore
    public let target: any ObjectStore
    /// Objects in flight at once.
    public let transfers: Int

    public init(from source: any ObjectStore, to target: any ObjectStore, transfers: Int = 16) {
        self.source = source
        self.target = target
        self.transfers = max(1, transfers)
    }

    public struct Report: Sendable, Codable, Hashable {
        public var source: String
        public var target: String
        public var objects = 0
        public var copied = 0
        public var copiedBytes: Int64 = 0
        public var skipped = 0
        public var elapsedSeconds = 0.0
    }

    public func copy(under prefix: ObjectKey.Prefix = .all, progress: ProgressSink? = nil) async throws -> Report {
        let started = ContinuousClock.now
        var report = Report(source: source.location, target: target.location)
        var present: [ObjectKey: Int64] = [:]
        for try await summary in target.list(under: prefix) { present[summary.key] = summary.sizeBytes }
        var wanted: [ObjectSummary] = []
        for try await summary in source.list(under: prefix) {
            report.objects += 1
            if present[summary.key] == summary.sizeBytes { report.skipped += 1 } else { wanted.append(summary) }
        }
        progress?.yield(.phaseStarted(.copyingObjects, totalItems: wanted.count, totalBytes: wanted.reduce(0) { $0 + $1.sizeBytes }))
        let source = self.source, target = self.target
        try await forEachConcurrently(wanted, limit: transfers, { summary in
            try await target.put(summary.key, from: try await source.get(summary.key))
        }, collect: { stored in
            report.copied += 1
            report.copiedBytes += stored.sizeBytes
            progress?.yield(.advanced(items: 1, bytes: stored.sizeBytes))
        })
        try await target.synchronize()
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        progress?.yield(.phaseFinished(.copyingObjects, elapsedSeconds: report.elapsedSeconds))
        return report
    }
}
