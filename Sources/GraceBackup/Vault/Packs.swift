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

/// Every content the vault holds: BLAKE3 → its slice of a pack, read from every index record.
///
/// An index record commits the packs it names: writers make their packs durable before they write
/// the index, so a crash leaves packs no index names (garbage for `prune`), never an index that
/// names a pack that may be lost. Contents are found through the vault's indexes, not through a
/// manifest, so `prune` can repack and rewrite indexes without changing any snapshot's id.
struct PackCatalog: Sendable {
    private(set) var entries: [String: PackEntry] = [:]
    /// Each index record read, with its entries: a refresh reads only the new ones.
    var byIndex: [String: [PackEntry]] = [:]
    /// Packs a prune has condemned: left out, so a writer copies such a content again instead of
    /// reusing a slice that is about to be deleted.
    private(set) var excludedPacks: Set<String> = []

    var indexKeys: [String] { byIndex.keys.sorted() }

    /// Adds an index record this process wrote, without reading it back.
    mutating func add(index key: String, entries added: [PackEntry]) {
        byIndex[key] = added
        for entry in added where !excludedPacks.contains(entry.pack) && entries[entry.blake3] == nil { entries[entry.blake3] = entry }
    }

    mutating func rebuild(excluding excluded: Set<String>) {
        excludedPacks = excluded
        entries = [:]
        for key in byIndex.keys.sorted() {
            for entry in byIndex[key]! where !excluded.contains(entry.pack) && entries[entry.blake3] == nil { entries[entry.blake3] = entry }
        }
    }
}

extension Vault {
    /// The catalog of every index record in the vault, checking each against its SHA-256. Given the
    /// previous catalog, reads only index records added since and forgets removed ones.
    func contentCatalog(refreshing previous: PackCatalog = PackCatalog(), excludingPacks excluded: Set<String> = []) async throws -> PackCatalog {
        var catalog = previous
        var present: Set<String> = []
        var changed = previous.excludedPacks != excluded
        for try await summary in store.list(under: try ObjectKey.Prefix("index")) {
            let key = summary.key.rawValue
            present.insert(key)
            guard catalog.byIndex[key] == nil else { continue }
            catalog.byIndex[key] = try JSONLines.decode(PackEntry.self, from: try await getSealed(summary.key), key: key)
            changed = true
        }
        for key in catalog.byIndex.keys where !present.contains(key) {
            catalog.byIndex[key] = nil
            changed = true
        }
        if changed || catalog.entries.isEmpty { catalog.rebuild(excluding: excluded) }
        return catalog
    }

    /// The catalog a writer may reuse contents from: every index, less the packs a pending prune condemned.
    func reusableCatalog(refreshing previous: PackCatalog = PackCatalog()) async throws -> PackCatalog {
        try await contentCatalog(refreshing: previous, excludingPacks: try await condemnedPacks())
    }

    /// Writes an index record for `entries` after making their packs durable, and returns its reference.
    func commitIndex(_ entries: [PackEntry]) async throws -> Manifest.RecordReference? {
        guard !entries.isEmpty else { return nil }
        try await store.synchronize()
        let encoded = try JSONLines.encode(entries)
        let (key, sha256) = try await putSealed(encoded, in: "index")
        return .init(key: key.rawValue, sha256: sha256, sizeBytes: Int64(encoded.count), entries: entries.count, fromSequence: nil, toSequence: nil)
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
