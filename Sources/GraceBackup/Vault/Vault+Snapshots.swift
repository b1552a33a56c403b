import Foundation
import GraceModel
import GraceStorage

extension Vault {
    /// Every snapshot whose manifest is intact, oldest cutoff first. A damaged manifest throws:
    /// silently leaving a restore point out would be worse.
    public func snapshots() async throws -> [SnapshotRecord] {
        var records: [SnapshotRecord] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("snapshots")) where summary.key.rawValue.hasSuffix(".json") {
            records.append(try await loadSnapshot(summary.key))
        }
        return records.sorted { ($0.manifest.cutoff.sequence, $0.manifest.createdAt) < ($1.manifest.cutoff.sequence, $1.manifest.createdAt) }
    }

    /// The snapshot whose id starts with `prefix` (at least 4 hex digits), or the newest when nil.
    public func snapshot(_ prefix: String?) async throws -> SnapshotRecord {
        let all = try await snapshots()
        guard let prefix else {
            guard let newest = all.last else { throw VaultFailure.noSnapshots(location: location) }
            return newest
        }
        let matches = all.filter { $0.id.hasPrefix(prefix.lowercased()) }
        guard prefix.count >= 4, !matches.isEmpty else { throw VaultFailure.snapshotNotFound(prefix, location: location) }
        guard matches.count == 1 else { throw VaultFailure.ambiguousSnapshot(prefix, matches: matches.map(\.shortID)) }
        return matches[0]
    }

    func loadSnapshot(_ key: ObjectKey) async throws -> SnapshotRecord {
        let bytes = try await getSealed(key)
        let manifest: Manifest
        do {
            manifest = try GraceJSON.decode(Manifest.self, from: Data(bytes))
        } catch {
            throw VaultFailure.recordDamaged(key: key.rawValue, detail: "the manifest does not decode: \(error)")
        }
        guard manifest.format == Manifest.formatName else { throw VaultFailure.recordDamaged(key: key.rawValue, detail: "not a snapshot manifest") }
        guard manifest.version <= Manifest.currentVersion else {
            throw VaultFailure.unsupportedFormat(location: location, found: "snapshot \(manifest.version)")
        }
        let id = String(key.rawValue.dropFirst("snapshots/".count).dropLast(".json".count))
        return SnapshotRecord(id: id, manifest: manifest)
    }

    /// The database as of a snapshot's cutoff: its image with its segments replayed.
    func databaseState(of snapshot: SnapshotRecord) async throws -> DatabaseState {
        let image = snapshot.manifest.image
        var state = DatabaseState(image: try JSONLines.decode(ImageLine.self, from: try await getSealed(try ObjectKey(image.key), expectedSHA256: image.sha256), key: image.key))
        for segment in snapshot.manifest.segments {
            state.apply(try JSONLines.decode(SegmentLine.self, from: try await getSealed(try ObjectKey(segment.key), expectedSHA256: segment.sha256), key: segment.key))
        }
        return state
    }
}
