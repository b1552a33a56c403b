import Foundation
import GraceModel
import GraceStorage

/// Where one file content lives in the vault: a slice of a pack. Lines of `index/<sha256>`.
struct PackEntry: Codable, Sendable, Hashable {
    /// BLAKE3 of the uncompressed bytes: the content's identity.
    var blake3: String
    /// The pack's key, `packs/<sha256 of the pack>`.
    var pack: String
    var offset: Int64
    /// Stored (Grace-encoded) length.
    var length: Int64
}

/// Every content reachable through a set of index records: BLAKE3 → its slice of a pack.
struct PackCatalog: Sendable {
    var entries: [String: PackEntry] = [:]
    /// The index records the catalog was read from, for the next manifest to name.
    var indexes: [Manifest.RecordReference] = []
}

extension Vault {
    /// Reads the index records (checking each against its SHA-256) into one catalog.
    func catalog(_ indexes: [Manifest.RecordReference]) async throws -> PackCatalog {
        var catalog = PackCatalog()
        var seen: Set<String> = []
        for index in indexes where seen.insert(index.key).inserted {
            let bytes = try await getSealed(try ObjectKey(index.key), expectedSHA256: index.sha256)
            for entry in try JSONLines.decode(PackEntry.self, from: bytes, key: index.key) { catalog.entries[entry.blake3] = entry }
            catalog.indexes.append(index)
        }
        return catalog
    }

    /// Every content a committed snapshot or capture stored. Only indexes a manifest or capture
    /// record names count: packs written by a writer that crashed before its record may not be durable.
    func committedCatalog(snapshots: [SnapshotRecord]) async throws -> PackCatalog {
        try await catalog(snapshots.flatMap(\.manifest.indexes) + (try await captures()).compactMap(\.index))
    }

    /// Reads one pack whole, checking it against the SHA-256 in its name. Packs are at most
    /// `PackWriter.targetBytes` plus one object, and Grace's objects stay under a few MiB
    /// (larger files are manifest-backed), so memory stays bounded.
    func readPack(_ key: String) async throws -> [UInt8] {
        try await getSealed(try ObjectKey(key))
    }
}

/// Collects verified objects into packs of about `targetBytes` and writes each, named by its
/// SHA-256, as it fills. Shared by a snapshot's copy tasks: the only mutable state on its write path.
actor PackWriter {
    static let targetBytes = 16 * 1024 * 1024

    let vault: Vault
    private var buffer: [UInt8] = []
    private var pending: [(blake3: String, offset: Int64, length: Int64)] = []
    private var written: [PackEntry] = []
    private var added: Set<String> = []

    init(vault: Vault) { self.vault = vault }

    /// Adds one content once; a second add of the same BLAKE3 is ignored.
    func add(blake3: String, storedBytes: [UInt8]) async throws {
        guard added.insert(blake3).inserted else { return }
        pending.append((blake3, Int64(buffer.count), Int64(storedBytes.count)))
        buffer += storedBytes
        if buffer.count >= Self.targetBytes { try await flush() }
    }

    /// Writes the last partial pack and returns every entry written.
    func finish() async throws -> [PackEntry] {
        try await flush()
        return written
    }

    private func flush() async throws {
        guard !pending.isEmpty else { return }
        // Take the buffer before awaiting: other adds run meanwhile and start the next pack.
        let bytes = buffer, entries = pending
        buffer = []
        pending = []
        let (key, _) = try await vault.putSealed(bytes, in: "packs")
        written += entries.map { PackEntry(blake3: $0.blake3, pack: key.rawValue, offset: $0.offset, length: $0.length) }
    }
}
