import GraceModel
import GraceStorage

/// Writes and reads `snapshots/<sha256>.json`: the cutoff and the records of one restore point.
/// Format: docs/formats/vault.md, version 1. Change this type and that document in one commit:
/// restoring old backups depends on both. A snapshot exists once its manifest does; the
/// manifest is written last.
public struct Manifest: Codable, Sendable, Hashable {
    public static let formatName = "grace-backup-snapshot"
    public static let currentVersion = 1

    public var format = Manifest.formatName
    public var version = Manifest.currentVersion
    public var vaultID: String
    /// The deployment the snapshot was taken of.
    public var deployment: String
    public var createdAt: Instant
    /// The exact point the snapshot stands for: everything up to this change-feed position.
    public var cutoff: ChangePosition
    /// The snapshot this one adds segments to; nil for one that starts from a full image.
    public var parent: String?
    public var image: RecordReference
    /// Change-feed segments applied in order on top of the image.
    public var segments: [RecordReference]
    /// The index records this snapshot wrote (for its contents new to the vault). Readers find
    /// contents through every index of the vault, which `prune` may rewrite; this list is a record.
    public var indexes: [RecordReference]
    /// Entities by kind as of the cutoff.
    public var counts: [String: Int]
    /// File contents this snapshot added to the vault (the rest it shares with earlier snapshots).
    public var newObjects: Int
    public var newObjectBytes: Int64
    public var elapsedSeconds: Double

    /// A sealed record: its key, the SHA-256 of its stored bytes, and what it spans.
    public struct RecordReference: Codable, Sendable, Hashable {
        public var key: String
        public var sha256: String
        public var sizeBytes: Int64
        /// Documents in an image, changes in a segment.
        public var entries: Int
        /// For a segment: the sequences it holds, `(fromSequence, toSequence]`.
        public var fromSequence: Int64?
        public var toSequence: Int64?
    }
}

/// A snapshot as the vault lists it: its id (the manifest's SHA-256) and manifest.
public struct SnapshotRecord: Sendable, Hashable {
    public let id: String
    public let manifest: Manifest
    public var shortID: String { String(id.prefix(12)) }
}
