import Foundation
import GraceModel
import GraceStorage

/// A prune record, `prune/<sha256>.json`: what a prune found that nothing kept needs. The keys are
/// deleted by a later prune once the grace period has passed and they are still unneeded, so a
/// snapshot or capture that was running when they were condemned (and may reference them) has
/// committed by then and is seen. Writers do not reuse contents of condemned packs.
public struct PruneRecord: Codable, Sendable, Hashable {
    public static let formatName = "grace-backup-prune"
    public static let currentVersion = 1

    public var format = PruneRecord.formatName
    public var version = PruneRecord.currentVersion
    public var vaultID: String
    public var createdAt: Instant
    /// Keys under `packs/`, `images/` and `segments/`.
    public var condemned: [String]
    public var condemnedBytes: Int64
}

public struct PruneOptions: Sendable {
    /// How long condemned records wait before deletion: longer than any snapshot or capture runs.
    public var graceSeconds = 3600.0
    /// Delete at once, holding every writer's lock (fails while a snapshot or stream runs).
    public var immediately = false
    public var dryRun = false
    /// A pack is repacked when more than this share of its bytes is unneeded.
    public var repackUnusedShare = 0.25
    public init() {}
}

public struct PruneReport: Sendable, Codable, Hashable {
    public var vault: String
    public var dryRun: Bool
    public var immediately: Bool
    public var snapshots = 0
    public var captures = 0
    /// Contents some kept snapshot or capture references.
    public var contentsNeeded = 0
    /// Records and packs nothing kept needs (crashed writers' leftovers included), and their bytes.
    public var unneeded = 0
    public var unneededBytes: Int64 = 0
    /// Packs rewritten because most of them was unneeded: the contents kept, the bytes written.
    public var packsRepacked = 0
    public var contentsRepacked = 0
    public var bytesRepacked: Int64 = 0
    /// Condemned by this run, to be deleted by a prune after `waitUntil`.
    public var condemned = 0
    public var condemnedBytes: Int64 = 0
    public var waitUntil: Instant?
    public var deleted = 0
    public var deletedBytes: Int64 = 0
    public var indexesRewritten = 0
    /// Condemned earlier but needed again (a snapshot that ran meanwhile references them): kept.
    public var reprieved = 0
    /// Due for deletion but under Object Lock: kept, to be deleted by a prune after `lockedUntil`.
    public var locked = 0
    public var lockedBytes: Int64 = 0
    public var lockedUntil: Instant?
    public var elapsedSeconds = 0.0
}

public enum PruneFailure: BackupFailure {
    case damaged(key: String, detail: String)
    case contentsMissing(count: Int, example: String)

    public var kind: FailureKind { .integrity }
    public var description: String {
        switch self {
        case let .damaged(key, detail): "\(key) cannot be read (\(detail)), so what it needs is unknown; nothing was pruned. Run `grace-backup verify`"
        case let .contentsMissing(count, example):
            "\(count) content(s) a kept snapshot or capture needs are in no pack (content \(example), for one); nothing was pruned. Run `grace-backup verify`"
        }
    }
}

extension Vault {
    /// Every prune record, oldest first.
    func pruneRecords() async throws -> [(key: ObjectKey, record: PruneRecord)] {
        var records: [(key: ObjectKey, record: PruneRecord)] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("prune")) where summary.key.rawValue.hasSuffix(".json") {
            let bytes = try await getSealed(summary.key)
            guard let record = try? GraceJSON.decode(PruneRecord.self, from: Data(bytes)), record.format == PruneRecord.formatName else {
                throw VaultFailure.recordDamaged(key: summary.key.rawValue, detail: "not a prune record")
            }
            guard record.version <= PruneRecord.currentVersion else {
                throw VaultFailure.unsupportedFormat(location: "\(location) (\(summary.key))", found: String(record.version))
            }
            records.append((summary.key, record))
        }
        return records.sorted { $0.record.createdAt < $1.record.createdAt }
    }

    /// Packs a pending prune will delete: a writer must not reuse what they hold.
    func condemnedPacks() async throws -> Set<String> {
        Set(try await pruneRecords().flatMap { $0.record.condemned.filter { $0.hasPrefix("packs/") } })
    }
}

/// Removes what no kept snapshot or capture needs: images and segments nothing names, packs that
/// hold no needed content, and packs mostly unneeded after their needed contents are repacked.
///
/// Safe beside a running `snapshot` or `stream` by two phases: a run condemns what is unneeded in a
/// prune record; a run after the grace period deletes what is still unneeded then. A writer that
/// chose to reuse a condemned content has committed its manifest by then, so the content is
/// needed again and stays. `immediately` skips the wait by holding every writer's lock.
public struct Pruner: Sendable {
    public let vault: Vault
    public let options: PruneOptions
    public let now: @Sendable () -> Instant

    public init(vault: Vault, options: PruneOptions, now: @escaping @Sendable () -> Instant) {
        self.vault = vault
        self.options = options
        self.now = now
    }

    public func prune(progress: ProgressSink? = nil) async throws -> PruneReport {
        let started = ContinuousClock.now
        var locks = [try await VaultLock.acquire(in: vault, purpose: "prune", scope: "prune", now: now, progress: progress)]
        do {
            if options.immediately && !options.dryRun {
                for scope in ["snapshot", "stream"] {
                    locks.append(try await VaultLock.acquire(in: vault, purpose: "prune --now", scope: scope, now: now, progress: progress))
                }
            }
            var report = try await run(progress: progress)
            for lock in locks { try await lock.release() }
            report.elapsedSeconds = (ContinuousClock.now - started).seconds
            return report
        } catch {
            for lock in locks { try? await lock.release() }
            throw error
        }
    }

    /// What the vault holds and what of it is needed.
    struct Inventory {
        var packs: [String: Int64] = [:]
        var records: [String: Int64] = [:]  // images/ and segments/
        var liveRecords: Set<String> = []
        var needed: Set<String> = []
        var indexes: [String: [PackEntry]] = [:]
    }

    private func run(progress: ProgressSink?) async throws -> PruneReport {
        var report = PruneReport(vault: vault.location, dryRun: options.dryRun, immediately: options.immediately)
        let pending = try await vault.pruneRecords()
        let condemnedEarlier = Set(pending.flatMap(\.record.condemned))
        var inventory = try await takeInventory(report: &report, progress: progress)

        // Each needed content at one location, preferring packs not condemned; what a pack holds of them.
        var usedBytes: [String: Int64] = [:]
        var chosen: [String: PackEntry] = [:]
        for key in inventory.indexes.keys.sorted() {
            for entry in inventory.indexes[key]! where inventory.needed.contains(entry.blake3) && inventory.packs[entry.pack] != nil {
                if let current = chosen[entry.blake3], !condemnedEarlier.contains(current.pack) || condemnedEarlier.contains(entry.pack) { continue }
                chosen[entry.blake3] = entry
            }
        }
        for entry in chosen.values { usedBytes[entry.pack, default: 0] += entry.length }
        let missing = inventory.needed.subtracting(chosen.keys)
        if let example = missing.first {
            throw PruneFailure.contentsMissing(count: missing.count, example: example)
        }

        // Mostly unneeded packs: their needed contents move to new packs first.
        let repack = inventory.packs.keys.sorted().filter { pack in
            let used = usedBytes[pack] ?? 0, size = inventory.packs[pack]!
            return used > 0 && !condemnedEarlier.contains(pack) && Double(size - used) > options.repackUnusedShare * Double(size)
        }
        if !repack.isEmpty && !options.dryRun {
            let writer = PackWriter(vault: vault)
            for pack in repack {
                let bytes = try await vault.readPack(pack)
                for entry in chosen.values.filter({ $0.pack == pack }).sorted(by: { $0.offset < $1.offset }) {
                    try await writer.add(blake3: entry.blake3, storedBytes: Array(bytes[Int(entry.offset)..<Int(entry.offset + entry.length)]))
                    report.contentsRepacked += 1
                }
                usedBytes[pack] = 0
            }
            let written = try await writer.finish()
            if let index = try await vault.commitIndex(written) {
                inventory.indexes[index.key] = written
                for entry in written {
                    inventory.packs[entry.pack] = max(inventory.packs[entry.pack] ?? 0, entry.offset + entry.length)
                    usedBytes[entry.pack, default: 0] += entry.length
                }
            }
            report.bytesRepacked = written.reduce(0) { $0 + $1.length }
        }
        report.packsRepacked = repack.count

        var unneeded: [String: Int64] = [:]
        for (pack, size) in inventory.packs where (usedBytes[pack] ?? 0) == 0 { unneeded[pack] = size }
        for (record, size) in inventory.records where !inventory.liveRecords.contains(record) { unneeded[record] = size }
        report.unneeded = unneeded.count
        report.unneededBytes = unneeded.values.reduce(0, +)
        report.reprieved = condemnedEarlier.filter { unneeded[$0] == nil && (inventory.packs[$0] != nil || inventory.records[$0] != nil) }.count
        guard !options.dryRun else { return report }

        // Phase two: delete what earlier runs condemned, once no writer of their time can still commit.
        let deadline = now().adding(seconds: -options.graceSeconds)
        let oldestWriter = try await vault.locks().filter { ($0.record.scope ?? "snapshot") == "snapshot" && !$0.record.isStale(now: now(), hostname: ProcessInfo.processInfo.hostName) }
            .map(\.record.createdAt).min()
        var deletable: Set<String> = []
        var finished: [ObjectKey] = []
        for (key, record) in pending {
            let ripe = options.immediately || (record.createdAt <= deadline && oldestWriter.map { $0 > record.createdAt } ?? true)
            guard ripe else { continue }
            deletable.formUnion(record.condemned.filter { unneeded[$0] != nil })
            finished.append(key)
        }
        if options.immediately { deletable.formUnion(unneeded.keys) }
        try await delete(deletable, sizes: unneeded, indexes: inventory.indexes, report: &report, progress: progress)
        let lockedRecords = try await vault.locked(finished.map(\.rawValue), now: now())
        try await vault.store.deleteIfPresent(finished.filter { lockedRecords[$0.rawValue] == nil })

        // Phase one: condemn what is newly unneeded.
        let stillPending = Set(pending.filter { !finished.contains($0.key) }.flatMap(\.record.condemned))
        let fresh = unneeded.keys.filter { !deletable.contains($0) && !stillPending.contains($0) }.sorted()
        if !fresh.isEmpty {
            let record = PruneRecord(vaultID: vault.config.vaultID, createdAt: now(), condemned: fresh, condemnedBytes: fresh.reduce(0) { $0 + unneeded[$1]! })
            _ = try await vault.putSealed(Array(try GraceJSON.encode(record)), in: "prune", suffix: ".json")
            report.condemned = fresh.count
            report.condemnedBytes = record.condemnedBytes
        }
        if report.condemned > 0 || !stillPending.isEmpty { report.waitUntil = now().adding(seconds: options.graceSeconds) }
        try await vault.store.synchronize()
        return report
    }

    private func takeInventory(report: inout PruneReport, progress: ProgressSink?) async throws -> Inventory {
        var inventory = Inventory()
        for try await summary in vault.store.list(under: try ObjectKey.Prefix("packs")) { inventory.packs[summary.key.rawValue] = summary.sizeBytes }
        for folder in ["images", "segments"] {
            for try await summary in vault.store.list(under: try ObjectKey.Prefix(folder)) { inventory.records[summary.key.rawValue] = summary.sizeBytes }
        }
        for try await summary in vault.store.list(under: try ObjectKey.Prefix("index")) {
            do {
                inventory.indexes[summary.key.rawValue] = try JSONLines.decode(PackEntry.self, from: try await vault.getSealed(summary.key), key: summary.key.rawValue)
            } catch let failure as VaultFailure {
                throw PruneFailure.damaged(key: summary.key.rawValue, detail: failure.description)
            }
        }
        let snapshots = try await vault.snapshots()
        let captures = try await vault.captures()
        report.snapshots = snapshots.count
        report.captures = captures.count
        let live = snapshots.flatMap { [$0.manifest.image] + $0.manifest.segments } + captures.map(\.segment)
        let started = ContinuousClock.now
        progress?.yield(.phaseStarted(.readingRecords, totalItems: Set(live.map(\.key)).count, totalBytes: nil))
        // Every content any live image or segment names: a superset of what each kept state needs, cheaper than replaying each.
        for record in live where inventory.liveRecords.insert(record.key).inserted {
            do {
                let bytes = try await vault.getSealed(try ObjectKey(record.key), expectedSHA256: record.sha256)
                let documents: [(EntityKind, String?)] = record.key.hasPrefix("images/")
                    ? try JSONLines.decode(ImageLine.self, from: bytes, key: record.key).map { ($0.kind, $0.document) }
                    : try JSONLines.decode(SegmentLine.self, from: bytes, key: record.key).map { ($0.kind, $0.document) }
                for (kind, json) in documents where kind == .directoryVersion {
                    guard let json else { continue }
                    for file in try GraceJSON.decode(DirectoryVersion.self, from: json).files { inventory.needed.insert(file.blake3Hash) }
                }
            } catch let failure as VaultFailure {
                throw PruneFailure.damaged(key: record.key, detail: failure.description)
            }
            progress?.yield(.advanced(items: 1, bytes: record.sizeBytes))
        }
        progress?.yield(.phaseFinished(.readingRecords, elapsedSeconds: (ContinuousClock.now - started).seconds))
        report.contentsNeeded = inventory.needed.count
        return inventory
    }

    /// Deletes `keys`: first rewrites every index that locates contents in a pack about to go, so
    /// no index ever names a missing pack; then the packs and records.
    private func delete(_ due: Set<String>, sizes: [String: Int64], indexes: [String: [PackEntry]], report: inout PruneReport, progress: ProgressSink?) async throws {
        // Never try to delete what Object Lock protects: a versioned bucket would only hide it
        // behind a delete marker and keep billing it. Its index entries stay valid, as it stays.
        var locked = try await vault.locked(due, now: now())
        // A pack goes only with every index that names it rewritten; a locked index keeps its packs.
        let namingIndexes = indexes.filter { $0.value.contains { due.contains($0.pack) && locked[$0.pack] == nil } }
        for (index, until) in try await vault.locked(namingIndexes.keys, now: now()) {
            for entry in namingIndexes[index]! where due.contains(entry.pack) && locked[entry.pack] == nil { locked[entry.pack] = until }
        }
        report.locked = locked.count
        report.lockedBytes = locked.keys.reduce(0) { $0 + (sizes[$1] ?? 0) }
        report.lockedUntil = locked.values.max()
        let keys = due.subtracting(locked.keys)
        guard !keys.isEmpty else { return }
        let started = ContinuousClock.now
        progress?.yield(.phaseStarted(.deleting, totalItems: keys.count, totalBytes: keys.reduce(0) { $0 + (sizes[$1] ?? 0) }))
        defer { progress?.yield(.phaseFinished(.deleting, elapsedSeconds: (ContinuousClock.now - started).seconds)) }
        let packs = keys.filter { $0.hasPrefix("packs/") }
        var superseded: [String] = []
        for (key, entries) in indexes.sorted(by: { $0.key < $1.key }) where entries.contains(where: { packs.contains($0.pack) }) {
            let remaining = entries.filter { !packs.contains($0.pack) }
            if !remaining.isEmpty {
                let encoded = try JSONLines.encode(remaining)
                _ = try await vault.putSealed(encoded, in: "index")
            }
            superseded.append(key)
        }
        // The replacement indexes are durable before the ones they replace go.
        try await vault.store.synchronize()
        try await vault.store.deleteIfPresent(try superseded.map(ObjectKey.init))
        report.indexesRewritten = superseded.count
        try await vault.store.synchronize()
        // A thousand at a time: one request each on S3.
        let sorted = keys.sorted()
        for start in stride(from: 0, to: sorted.count, by: 1000) {
            let batch = sorted[start..<min(sorted.count, start + 1000)]
            try await vault.store.deleteIfPresent(try batch.map(ObjectKey.init))
            let bytes = batch.reduce(0) { $0 + (sizes[$1] ?? 0) }
            report.deleted += batch.count
            report.deletedBytes += bytes
            progress?.yield(.advanced(items: batch.count, bytes: bytes))
        }
    }
}
