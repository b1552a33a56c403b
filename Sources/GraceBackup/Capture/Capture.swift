import Foundation
import GraceModel
import GraceStorage

/// A capture record, `captures/<sha256>.json`: one stretch of the change feed that `stream` wrote
/// into the vault after a snapshot, with the index of the contents it added. Written last, like a
/// manifest: a capture exists once its record does. Format: docs/formats/vault.md.
public struct CaptureRecord: Codable, Sendable, Hashable {
    public static let formatName = "grace-backup-capture"
    public static let currentVersion = 1

    public var format = CaptureRecord.formatName
    public var version = CaptureRecord.currentVersion
    public var vaultID: String
    public var deployment: String
    public var createdAt: Instant
    /// The changes held: sequences `(fromSequence, to.sequence]`.
    public var fromSequence: Int64
    public var to: ChangePosition
    public var segment: Manifest.RecordReference
    /// The index of the contents this capture added to `packs/`, if any.
    public var index: Manifest.RecordReference?
}

/// Follows a deployment's change feed into a vault: each call to `captureOnce` writes what changed
/// since the last capture (or snapshot) as one segment, after copying the contents it names.
/// Writes nothing when nothing changed, so an idle deployment costs no storage requests.
///
/// An actor because it keeps the vault's content catalog between captures: each capture reads only
/// the index records added since (by itself or a snapshot) instead of every one.
public actor ChangeCapture {
    public let deployment: Deployment
    public let vault: Vault
    public let now: @Sendable () -> Instant
    private var catalog = PackCatalog()
    private var catalogReadAt: ContinuousClock.Instant?
    /// How often the catalog is read again from the vault (new snapshots' indexes, prune records).
    /// Far below prune's grace period, so a condemned pack is never reused after it could be deleted.
    public static let catalogRefreshSeconds = 60.0

    public init(deployment: Deployment, vault: Vault, now: @escaping @Sendable () -> Instant) {
        self.deployment = deployment
        self.vault = vault
        self.now = now
    }

    /// Where the vault's record of this deployment ends: the latest snapshot cutoff or capture.
    public func capturedPosition() async throws -> Int64 {
        try await vault.capturedPosition(of: deployment.location.description)
    }

    /// Captures the changes after `position` (at most `limit`); returns the record, or nil when nothing changed.
    public func captureOnce(after position: Int64, limit: Int = 50_000, progress: ProgressSink? = nil) async throws -> CaptureRecord? {
        let changes = try await deployment.database.changes(after: position, limit: limit)
        guard !changes.isEmpty else { return nil }
        return try await capture(changes, after: position, progress: progress)
    }

    /// Writes `changes` (the feed's rows right after `position`, in order) as one capture: their
    /// contents first, then the segment, then the record that makes them count.
    public func capture(_ changes: [ChangeRecord], after position: Int64, progress: ProgressSink? = nil) async throws -> CaptureRecord {
        guard let last = changes.last, changes.first!.sequence > position else { preconditionFailure("a capture needs changes after its position") }
        let lines = changes.map(SegmentLine.init)
        let directories = try lines.compactMap { line -> DirectoryVersion? in
            guard line.kind == .directoryVersion, let json = line.document else { return nil }
            return try GraceJSON.decode(DirectoryVersion.self, from: json)
        }
        if catalogReadAt.map({ ContinuousClock.now - $0 >= .seconds(Self.catalogRefreshSeconds) }) ?? true {
            catalog = try await vault.reusableCatalog(refreshing: catalog)
            catalogReadAt = ContinuousClock.now
        }
        let copied = try await Snapshotter(deployment: deployment, vault: vault, now: now).copyObjects(of: directories, skipping: catalog, progress: progress)
        let index = try await vault.commitIndex(copied.entries)
        if let index { catalog.add(index: index.key, entries: copied.entries) }  // no need to read back what we just wrote
        let encoded = try JSONLines.encode(lines)
        let (key, sha256) = try await vault.putSealed(encoded, in: "segments")
        let record = CaptureRecord(
            vaultID: vault.config.vaultID, deployment: deployment.location.description, createdAt: now(), fromSequence: position,
            to: ChangePosition(sequence: last.sequence, committedAt: last.committedAt),
            segment: .init(key: key.rawValue, sha256: sha256, sizeBytes: Int64(encoded.count), entries: lines.count,
                           fromSequence: position, toSequence: last.sequence),
            index: index)
        // The segment and its contents are durable before the record that makes them count.
        try await vault.store.synchronize()
        _ = try await vault.putSealed(Array(try GraceJSON.encode(record)), in: "captures", suffix: ".json")
        try await vault.store.synchronize()
        return record
    }
}

extension Vault {
    /// Every intact capture record, in order of position.
    public func captures() async throws -> [CaptureRecord] {
        try await captureRecords().map(\.record)
    }

    /// Every intact capture record with its key, in order of position.
    func captureRecords() async throws -> [(key: ObjectKey, record: CaptureRecord)] {
        var records: [(key: ObjectKey, record: CaptureRecord)] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("captures")) where summary.key.rawValue.hasSuffix(".json") {
            let bytes = try await getSealed(summary.key)
            guard let record = try? GraceJSON.decode(CaptureRecord.self, from: Data(bytes)), record.format == CaptureRecord.formatName else {
                throw VaultFailure.recordDamaged(key: summary.key.rawValue, detail: "not a capture record")
            }
            records.append((summary.key, record))
        }
        return records.sorted { ($0.record.fromSequence, $0.record.to.sequence) < ($1.record.fromSequence, $1.record.to.sequence) }
    }
}

extension Vault {
    /// Where the vault's record of a deployment ends: its latest snapshot cutoff or capture.
    public func capturedPosition(of deployment: String) async throws -> Int64 {
        let snapshots = try await snapshots().filter { $0.manifest.deployment == deployment }
        let captures = try await captures().filter { $0.deployment == deployment }
        return max(snapshots.map(\.manifest.cutoff.sequence).max() ?? 0, captures.map(\.to.sequence).max() ?? 0)
    }
}

/// Tells a writer when the vault holds a change, so it can acknowledge a promotion only once
/// `stream` has captured it: a promotion acknowledged is a promotion a restore brings back.
/// Reads only capture records it has not seen, so waiting costs one listing per poll.
public actor CaptureWatcher {
    public let vault: Vault
    public let deployment: String
    private var seen: Set<String> = []
    private var reached: Int64

    /// Starts from where the vault's record of `deployment` ends now.
    public init(vault: Vault, deployment: String) async throws {
        self.vault = vault
        self.deployment = deployment
        reached = try await vault.capturedPosition(of: deployment)
    }

    /// The last change of the deployment the vault holds, reading capture records written since the last call.
    public func capturedPosition() async throws -> Int64 {
        for try await summary in vault.store.list(under: try ObjectKey.Prefix("captures")) where summary.key.rawValue.hasSuffix(".json") {
            guard seen.insert(summary.key.rawValue).inserted else { continue }
            let bytes = try await vault.getSealed(summary.key)
            guard let record = try? GraceJSON.decode(CaptureRecord.self, from: Data(bytes)) else { continue }
            if record.deployment == deployment { reached = max(reached, record.to.sequence) }
        }
        return reached
    }

    /// Returns once the vault holds change `sequence`; throws after `timeoutSeconds`.
    public func waitUntilCaptured(_ sequence: Int64, pollSeconds: Double = 0.02, timeoutSeconds: Double = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while try await capturedPosition() < sequence {
            guard ContinuousClock.now < deadline else { throw CaptureWaitTimedOut(sequence: sequence, reached: reached, vault: vault.location, seconds: timeoutSeconds) }
            try await Task.sleep(for: .seconds(pollSeconds))
        }
    }
}

public struct CaptureWaitTimedOut: BackupFailure {
    public let sequence: Int64
    public let reached: Int64
    public let vault: String
    public let seconds: Double
    public var kind: FailureKind { .unavailable }
    public var description: String {
        "change \(sequence) was not captured into \(vault) within \(Int(seconds)) s (it holds up to \(reached)): is `grace-backup stream` running?"
    }
}
