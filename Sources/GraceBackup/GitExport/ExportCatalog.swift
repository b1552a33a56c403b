import Deflate
import Foundation
import GraceGit
import GraceModel
import GraceStorage

/// One export in the catalog, `<repositoryID>/exports/<n>.json`, written after its bundle and
/// state: an export exists once its record does. Format: docs/formats/bundle-catalog.md.
public struct BundleExportRecord: Codable, Sendable, Hashable {
    public static let formatName = "grace-backup-bundle-export"
    /// Version 3 names a sorted state (searched in place), or changes over one; version 2 named state
    /// changes (`stateChanges`) over an older state, version 1 neither. Readers before refuse what they
    /// cannot read, by this number, rather than take a sorted state for a damaged one.
    public static let currentVersion = 3

    public var format = BundleExportRecord.formatName
    public var version = BundleExportRecord.currentVersion
    public var number: Int
    public var repositoryID: String
    public var createdAt: Instant
    /// The deployment's change-feed position the export read.
    public var position: Int64
    public var bundle: String
    public var bundleBytes: Int64
    public var bundleSHA256: String
    /// The state's key; absent in records written before states were named by content
    /// (then it is `state/<n>.gz`). With `stateChanges`, the state of an earlier export.
    public var state: String?
    /// The key of the changes since `state` that give this export's state; nil when `state` is its own.
    public var stateChanges: String?
    public var full: Bool
    public var prerequisites: [String]
    /// Refs this bundle sets (new or moved); `allRefs` is every ref after it.
    public var refs: [String: String]
    public var allRefs: [String: String]
    public var newCommits: Int
    public var objects: Int
    /// The chain's newest full bundle as of this export (its own number when full); absent in records
    /// written before it was kept (the records are then read to find it).
    public var lastFull: Int?
}

/// The catalog's newest export and what a receiver of its chain has, as an export left them: a caller
/// that exports again and again (`--follow`) hands it to the next export, which then reads neither again
/// unless another exporter wrote since.
public struct CatalogTip: Sendable {
    public let record: BundleExportRecord
    let base: ExportBase
    /// Read by `tip()` just before the export, which then does not look for a record after it again.
    var readJustBefore = false

    /// The same, its state's every entry held in maps: a follower looks every reference up again on
    /// every promotion, where a map answers sooner than a search of the state's text. What a single
    /// export saves by searching, reading every line once, a follower pays once.
    public func heldInMaps() -> CatalogTip {
        CatalogTip(record: record, base: base.materialized(), readJustBefore: readJustBefore)
    }
}

/// The bundles exported of one repository into an `ObjectStore` location, in order, with what
/// the next incremental export builds on. Fetching the bundles in number order rebuilds the history.
public struct ExportCatalog: Sendable {
    public let store: any ObjectStore
    public let repositoryID: RepositoryID

    public init(store: any ObjectStore, repositoryID: RepositoryID) {
        self.store = store
        self.repositoryID = repositoryID
    }

    var root: String { repositoryID.description }

    /// Every export record, in number order. An export reads only the newest (`newestRecord`): a
    /// follower's catalog gains one record a promotion, and reading them all each time grew without end.
    public func records() async throws -> [BundleExportRecord] {
        var records: [BundleExportRecord] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("\(root)/exports")) where summary.key.rawValue.hasSuffix(".json") {
            records.append(try decodeRecord(try await store.getBytes(summary.key), key: summary.key))
        }
        return records.sorted { $0.number < $1.number }
    }

    /// The newest export record, the others unread: `latest.json`'s, or a record after it, looked for
    /// by number (an export that stopped between its record and `latest.json` leaves one). A
    /// `latest.json` that does not decode is only a damaged copy: the records are read instead.
    public func newestRecord() async throws -> BundleExportRecord? {
        let latestKey = try ObjectKey("\(root)/latest.json")
        var newest: BundleExportRecord?
        do {
            newest = try decodeRecord(try await store.getBytes(latestKey), key: latestKey)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            newest = nil  // no export yet, or the first stopped before it: the look below finds any record
        } catch ExportCatalogFailure.damaged {
            newest = try await records().last
        }
        while let next = try await record(number: (newest?.number ?? 0) + 1) { newest = next }
        return newest
    }

    /// The newest export and the state after it, as `exportNext` reads them first; nil for an empty
    /// catalog. Read ahead (while the deployment opens, say), it is handed to `exportNext` as `continuing`.
    public func tip() async throws -> CatalogTip? {
        guard let newest = try await newestRecord() else { return nil }
        return CatalogTip(record: newest, base: try await base(after: newest), readJustBefore: true)
    }

    /// Export record `number`; nil when there is none.
    public func record(number: Int) async throws -> BundleExportRecord? {
        let key = try ObjectKey("\(root)/exports/\(Self.numbered(number)).json")
        do {
            return try decodeRecord(try await store.getBytes(key), key: key)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            return nil
        }
    }

    private func decodeRecord(_ bytes: [UInt8], key: ObjectKey) throws -> BundleExportRecord {
        guard let record = try? GraceJSON.decode(BundleExportRecord.self, from: Data(bytes)), record.format == BundleExportRecord.formatName else {
            throw ExportCatalogFailure.damaged(key: key.rawValue, detail: "not a bundle export record", location: store.location)
        }
        guard record.version <= BundleExportRecord.currentVersion else {
            throw ExportCatalogFailure.unsupportedFormat(key: key.rawValue, version: record.version, location: store.location)
        }
        return record
    }

    /// The number of the chain's newest full bundle as of `record`.
    func lastFull(asOf record: BundleExportRecord) async throws -> Int {
        if let lastFull = record.lastFull { return lastFull }
        return try await records().last { $0.full && $0.number <= record.number }?.number ?? 1
    }

    /// What the receiver of every bundle so far has: the record's state, and the changes since it
    /// when the record names them. Its changes are counted from that state on.
    public func base(after record: BundleExportRecord) async throws -> ExportBase {
        let stateKey = statePath(of: record)
        // Both files at once: against a remote store, the second costs no round trip of its own.
        async let changes = record.stateChanges.asyncMap { try await stateFile($0, of: record) }
        let key = try ObjectKey(stateKey)
        guard var base = await ExportBase.reading(lines: try await stateFile(stateKey, of: record)) else {
            throw ExportCatalogFailure.damaged(key: key.rawValue, detail: "not an export state", location: store.location)
        }
        base.changed = ExportBase.ChangedKeys()
        if let changesKey = record.stateChanges, let bytes = try await changes {
            guard let read = ExportBase.reading(changes: bytes, of: stateKey) else {
                throw ExportCatalogFailure.damaged(key: changesKey, detail: "not the changes of export state \(stateKey)", location: store.location)
            }
            base.apply(read)
        }
        return base
    }

    /// A state file a record names, its text.
    private func stateFile(_ name: String, of record: BundleExportRecord) async throws -> [UInt8] {
        let key = try ObjectKey(name)
        do {
            let stored = try await store.getBytes(key)
            // States were gzipped before version 2 (`.gz`); since, they are plain text (`.txt`), named by
            // their SHA-256, which is checked: a state is searched where it lies, its lines not all read.
            if stored.starts(with: [0x1f, 0x8b]) { return try Inflater.decompress(stored, format: .gzip) }
            if let named = Self.namedHash(of: name), !Vault.sha256Hex(stored).hasPrefix(named) {
                throw ExportCatalogFailure.damaged(key: key.rawValue, detail: "its SHA-256 is not the one its name gives", location: store.location)
            }
            return stored
        } catch let failure as StorageFailure where failure.reason == .notFound {
            // Only the files of the newest two records are kept: an older one was deleted by exports that
            // came after this one was listed, and one of them has the number this export would take.
            if let newest = try await newestRecord(), newest.number > record.number + 1 {
                throw ExportCatalogFailure.overtaken(what: "export \(newest.number) of repository \(root) was recorded while this export read export \(record.number)", location: store.location)
            }
            throw ExportCatalogFailure.damaged(key: key.rawValue, detail: "it is missing", location: store.location)
        }
    }

    /// The hexadecimal digits of the SHA-256 a state file's name carries (`state/<n>-<h>.txt`).
    static func namedHash(of key: String) -> Substring? {
        guard key.hasSuffix(".txt"), let dash = key.lastIndex(of: "-") else { return nil }
        let digits = key[key.index(after: dash)..<key.index(key.endIndex, offsetBy: -4)]
        return digits.count == 16 && digits.allSatisfy(\.isHexDigit) ? digits : nil
    }

    /// A state's changes are written instead of the state while they have at most one entry in this
    /// many: a follower's promotion changes a few dozen entries of a state that holds every object of
    /// the repository. Each export's changes hold the earlier ones since the state (a reader reads two
    /// files, whatever the chain's length), so a larger share makes each write longer, and a smaller
    /// one writes the whole state more often.
    var changesShare = 8

    /// Stores a bundle written to `file` (moved, not copied, when the store can) as the next export,
    /// then its state, then its record. The bundle and state are named by their content, and the
    /// record is created only if no export of that number exists: of two exports racing for one
    /// number (a worker that lost its lease and the one that took it over), one record wins, it
    /// names its own bundle, and the other throws `ExportCatalogFailure.overtaken` having overwritten nothing.
    ///
    /// The state goes as its changes since the state of `previous` (the record `next` was read from, or
    /// left by) while they are few (`changesShare`), else whole; `next` then counts its changes from it.
    func append(bundle file: URL, report: BundleExportReport, next: inout ExportBase, after previous: BundleExportRecord?, number: Int, lastFull: Int,
                now: Instant) async throws -> BundleExportRecord {
        let bundleSHA256 = report.bundleSHA256  // hashed while the bundle was written
        precondition(bundleSHA256.count == 64, "a report of a written bundle carries its SHA-256")
        let bundleKey = try ObjectKey("\(root)/bundles/\(Self.numbered(number))-\(bundleSHA256.prefix(16)).bundle")
        _ = try await store.put(bundleKey, movingFile: file)
        let changesOf: String? = if let previous, let changed = next.changed, changed.count * changesShare <= next.entryCount {
            statePath(of: previous)
        } else {
            nil
        }
        // Not compressed: hexadecimal ids shrink by half at best, and gzip took a quarter of an incremental export.
        let state = if let changesOf { next.changeLines(since: changesOf) } else { next.lines() }
        let stateKey = try ObjectKey("\(root)/state/\(Self.numbered(number))-\(Vault.sha256Hex(state).prefix(16)).txt")
        try await store.put(stateKey, bytes: state)
        var record = BundleExportRecord(
            number: number, repositoryID: root, createdAt: now, position: report.position, bundle: bundleKey.rawValue,
            bundleBytes: report.bundleBytes, bundleSHA256: bundleSHA256, state: changesOf ?? stateKey.rawValue,
            stateChanges: changesOf.map { _ in stateKey.rawValue }, full: report.full, prerequisites: report.prerequisites, refs: report.refs,
            allRefs: next.refs, newCommits: report.newCommits, objects: report.objects, lastFull: lastFull)
        // Changes over a state written before version 3 (the first exports after an upgrade) stay version 2.
        if changesOf != nil, (previous?.version ?? 0) < 3 { record.version = 2 }
        // The bundle and state are durable before the record that makes them count.
        try await store.synchronize()
        let recordKey = try ObjectKey("\(root)/exports/\(Self.numbered(number)).json")
        guard try await store.create(recordKey, bytes: Array(try GraceJSON.encode(record))) else {
            // This export's files, unless the winner's record names them: two exports of one position
            // write the same bytes under the same names.
            if let winner = try? GraceJSON.decode(BundleExportRecord.self, from: Data(try await store.getBytes(recordKey))) {
                try? await store.deleteIfPresent([bundleKey, stateKey].filter { $0.rawValue != winner.bundle && !statePaths(of: winner).contains($0.rawValue) })
            }
            throw ExportCatalogFailure.overtaken(what: "another export recorded export \(number) of repository \(root) first", location: store.location)
        }
        try await store.put(try ObjectKey("\(root)/latest.json"), bytes: Array(try GraceJSON.encode(record)))
        try await store.synchronize()
        if changesOf == nil { next.wroteWhole(state) }
        return record
    }

    /// Exports what is new in the repository since the catalog's last export as the next bundle
    /// of the chain (`full`: a bundle without prerequisites); nothing is written when nothing is new.
    public func exportNext(from deployment: Deployment, _ request: BundleExportRequest, full: Bool = false, now: Instant,
                           progress: ProgressSink? = nil) async throws -> (BundleExportReport, BundleExportRecord?) {
        var tip: CatalogTip?
        return try await exportNext(from: deployment, request, full: full, now: now, continuing: &tip, progress: progress)
    }

    /// The same, continuing from `tip` as an earlier export left it (nil: read from the catalog). It is
    /// used when no record after its own exists (one look, none for a tip `tip()` has just read); it is
    /// then what this export leaves, or nil after a failure.
    public func exportNext(from deployment: Deployment, _ request: BundleExportRequest, full: Bool = false, now: Instant,
                           continuing tip: inout CatalogTip?, progress: ProgressSink? = nil) async throws -> (BundleExportReport, BundleExportRecord?) {
        let started = ContinuousClock.now
        let newest: BundleExportRecord?
        var base: ExportBase?
        if let kept = tip.take(), try await kept.readJustBefore ? true : record(number: kept.record.number + 1) == nil {
            (newest, base) = (kept.record, kept.base)
        } else {
            newest = try await newestRecord()
            base = if let newest { try await self.base(after: newest) } else { nil }
        }
        let number = (newest?.number ?? 0) + 1
        let lastFull: Int? = if let newest { try await self.lastFull(asOf: newest) } else { nil }
        // A folder of their own, so looking for what killed exports left reads only theirs.
        let scratchFolders = FileManager.default.temporaryDirectory.appendingPathComponent("grace-backup-exports")
        ScratchFiles.removeAbandoned(in: scratchFolders, prefix: "export")
        let scratch = scratchFolders.appendingPathComponent(ScratchFiles.name("export"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = scratch.appendingPathComponent("export.bundle")
        func attempt(reusing: ReusedEntries?, base: consuming ExportBase?) async throws -> (BundleExportReport, ExportBase) {
            guard FileManager.default.createFile(atPath: file.path, contents: nil) else {  // empty, even after an attempt
                throw StorageFailure(.unavailable, .put, key: file.path, location: file.deletingLastPathComponent().path, message: "cannot create the bundle")
            }
            let handle = try FileHandle(forUpdating: file)
            do {
                let exported = try await BundleExporter(deployment: deployment).export(
                    request, base: consume base, full: full, number: number, lastFull: lastFull, reusing: reusing, destination: handle, progress: progress)
                try handle.close()
                return exported
            } catch {
                try? handle.close()
                throw error
            }
        }
        // A full export copies the entries of the chain's last full bundle and the incrementals after
        // it when it can, as `git repack` reuses packed objects, and writes only what they lack.
        let reusable: ReusedEntries? = if full, !request.includeCommits, let newest, let lastFull {
            try await reusableEntries(try await chain(from: lastFull, through: newest), base: base)
        } else {
            nil
        }
        let exported: (BundleExportReport, ExportBase)
        do {
            exported = try await attempt(reusing: reusable, base: base.take())
        } catch is ReusedEntriesUnreachable {
            // The first attempt took the base (an export adds to it in place): read it again.
            let again: ExportBase? = if let newest { try await self.base(after: newest) } else { nil }
            exported = try await attempt(reusing: nil, base: again)
        }
        var (report, next) = exported
        guard !report.nothingNew else {
            tip = newest.map { CatalogTip(record: $0, base: next) }
            return (report, nil)
        }
        // An incremental bundle follows a recorded export, so `lastFull` is known for it.
        let newestFull = report.full ? number : lastFull ?? number
        let record = try await append(bundle: file, report: report, next: &next, after: newest, number: number, lastFull: newestFull, now: now)
        tip = CatalogTip(record: record, base: next)
        do {
            try await deleteStaleStates(before: number, keeping: statePaths(of: record) + (newest.map(statePaths) ?? []))
            if full || number % Self.unrecordedSweepInterval == 0 {
                try await deleteUnrecorded(upTo: number, from: full ? 1 : number - 2 * Self.unrecordedSweepInterval + 1)
            }
        } catch {
            // The export is recorded; a file left behind costs space, and a later export tries again.
            progress?.yield(.note("older export files were not deleted: \(error)"))
        }
        // The catalog's reading, recording and tidying are part of what this export cost (what a follower spends a promotion).
        var whole = report
        whole.elapsedSeconds = (ContinuousClock.now - started).seconds
        return (whole, record)
    }

    /// Records `first` to `last.number`, `last` included.
    func chain(from first: Int, through last: BundleExportRecord) async throws -> [BundleExportRecord] {
        var chain: [BundleExportRecord] = []
        for number in first..<last.number {
            guard let record = try await record(number: number) else {
                throw ExportCatalogFailure.damaged(key: "\(root)/exports/\(Self.numbered(number)).json", detail: "it is missing, and export \(last.number) is recorded",
                                                   location: store.location)
            }
            chain.append(record)
        }
        return chain + [last]
    }

    /// How often (in exports) `deleteUnrecorded` lists the catalog; full exports always do.
    static let unrecordedSweepInterval = 16

    /// Deletes bundles and states numbered `lowest` to `number` that no record names: an export killed
    /// before its record, or one that lost the race for its number, leaves them, and a bundle can be
    /// large. Numbers above are left alone: an export writing them may be under way. A sweep every
    /// `unrecordedSweepInterval` exports over twice as many numbers looks at every number at least once.
    func deleteUnrecorded(upTo number: Int, from lowest: Int) async throws {
        var named: [Int: Set<String>] = [:]
        var unrecorded: [ObjectKey] = []
        for folder in ["bundles", "state"] {
            for try await summary in store.list(under: try ObjectKey.Prefix("\(root)/\(folder)")) {
                guard let written = Self.number(of: summary.key), (lowest...number).contains(written) else { continue }
                if named[written] == nil {
                    named[written] = try await record(number: written).map { Set([$0.bundle] + statePaths(of: $0)) } ?? []
                }
                if !named[written]!.contains(summary.key.rawValue) { unrecorded.append(summary.key) }
            }
        }
        try await store.deleteIfPresent(unrecorded)
    }

    /// Deletes the state files numbered `number - 2` and lower but those `kept`: the files of the newest
    /// record, which the next export reads, and of the record before it, for an export that read that
    /// one just before the newest landed. States are several MB for a large repository; the folder holds a few.
    func deleteStaleStates(before number: Int, keeping kept: [String]) async throws {
        var stale: [ObjectKey] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("\(root)/state")) {
            if let written = Self.number(of: summary.key), written <= number - 2, !kept.contains(summary.key.rawValue) { stale.append(summary.key) }
        }
        try await store.deleteIfPresent(stale)
    }

    /// The export number a bundle's or state's name starts with.
    static func number(of key: ObjectKey) -> Int? {
        Int(key.rawValue.split(separator: "/").last?.prefix { $0.isNumber } ?? "")
    }

    /// Where a record's state is: records of catalogs before state version 2 do not say, and theirs is gzipped.
    func statePath(of record: BundleExportRecord) -> String {
        record.state ?? "\(root)/state/\(Self.numbered(record.number)).gz"
    }

    /// Every state file a record's state is read from: its state, and its changes since.
    func statePaths(of record: BundleExportRecord) -> [String] {
        [statePath(of: record)] + (record.stateChanges.map { [$0] } ?? [])
    }

    /// Eight digits, zero-padded, so names sort in number order.
    static func numbered(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

extension Optional {
    fileprivate func asyncMap<Mapped>(_ transform: (Wrapped) async throws -> Mapped) async rethrows -> Mapped? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

extension ExportBase {
    /// What a receiver of `bundle` has, read from the bundle itself: its refs, every object in
    /// its pack, and the Grace reference each commit was made of (its `Grace-Reference-Id:` trailer).
    /// Objects of bundles before it are unknown, and are exported again.
    public static func reading(bundle file: URL) throws -> ExportBase {
        let data = try Data(contentsOf: file, options: .alwaysMapped)
        let header: GitBundleHeader, packOffset: Int, pack: GitPackReader
        do {
            (header, packOffset) = try GitBundleHeader.parse(data)
            pack = try GitPackReader(bytes: data[(data.startIndex + packOffset)...])  // a slice of the mapped file, not a copy
        } catch let failure as GitFormatError {
            throw BundleExportFailure.previousBundleDamaged(file: file.path, detail: failure.description)
        }
        var base = ExportBase()
        for reference in header.references { base.refs[reference.name] = reference.id.hex }
        for id in pack.objectIDs {
            // Only commits are inflated again: a blob may be hundreds of MB.
            guard pack.type(of: id) == .commit, let (_, content) = try pack.object(id) else {
                base.otherObjects.append(id)
                continue
            }
            // A trailer that names no Grace id cannot name a reference an export walks.
            if let trailer = BundleImporter.graceReferenceID(in: try GitCommit.parse(content).message), let reference = ReferenceID(trailer) {
                base.commits[reference] = id
            } else {
                base.otherObjects.append(id)
            }
        }
        base.otherObjects.sort()
        return base
    }
}
