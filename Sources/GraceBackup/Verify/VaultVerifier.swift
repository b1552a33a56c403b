import Foundation
import GraceModel
import GraceStorage

/// How much object data `verify` reads back.
public enum DataCheck: Sendable, Hashable {
    /// Structure only: every record resolves and is intact, every referenced object exists.
    case none
    /// Every referenced object is read and re-hashed with both of Grace's hashes.
    case all
    /// A random share of them (0...1), a different sample each run, so daily runs cover everything over time.
    case subset(Double)
}

public struct VerifyProblem: Sendable, Codable, Hashable, CustomStringConvertible {
    public var key: String
    public var message: String
    public var description: String { "\(key): \(message)" }
}

public struct VerifyReport: Sendable, Codable, Hashable {
    public var vault: String
    public var snapshots = 0
    public var records = 0
    public var objectsReferenced = 0
    public var objectsRead = 0
    public var bytesRead: Int64 = 0
    public var problems: [VerifyProblem] = []
    public var elapsedSeconds = 0.0
    public var isClean: Bool { problems.isEmpty }
}

/// Checks a vault: every manifest decodes and matches its name's SHA-256, every image and segment
/// it names is intact, every object their directory versions reference is present; with data
/// checking, objects are read back, decoded and hashed with both of Grace's hashes.
public struct VaultVerifier: Sendable {
    public let vault: Vault
    public let concurrency: Int

    public init(vault: Vault, concurrency: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)) {
        self.vault = vault
        self.concurrency = concurrency
    }

    public func verify(data: DataCheck, sampleSeed: UInt64, progress: ProgressSink? = nil) async throws -> VerifyReport {
        let started = ContinuousClock.now
        var report = VerifyReport(vault: vault.location)
        var checkedRecords: Set<String> = []
        var referenced: [String: FileVersion] = [:]  // blake3 → a file version naming it
        var snapshotCutoffs: [(deployment: String, sequence: Int64)] = []

        for try await summary in vault.store.list(under: try ObjectKey.Prefix("snapshots")) where summary.key.rawValue.hasSuffix(".json") {
            let snapshot: SnapshotRecord
            do {
                snapshot = try await vault.loadSnapshot(summary.key)
            } catch let failure as VaultFailure {
                report.problems.append(VerifyProblem(key: summary.key.rawValue, message: failure.description))
                continue
            }
            report.snapshots += 1
            snapshotCutoffs.append((snapshot.manifest.deployment, snapshot.manifest.cutoff.sequence))
            for record in [snapshot.manifest.image] + snapshot.manifest.segments where checkedRecords.insert(record.key).inserted {
                report.records += 1
                do {
                    let bytes = try await vault.getSealed(try ObjectKey(record.key), expectedSHA256: record.sha256)
                    let documents: [(EntityKind, String, String?)] = record.key.hasPrefix("images/")
                        ? try JSONLines.decode(ImageLine.self, from: bytes, key: record.key).map { ($0.kind, $0.id, $0.document) }
                        : try JSONLines.decode(SegmentLine.self, from: bytes, key: record.key).map { ($0.kind, $0.id, $0.document) }
                    for (kind, id, json) in documents where kind == .directoryVersion {
                        guard let json else { continue }
                        guard let directory = try? GraceJSON.decode(DirectoryVersion.self, from: json) else {
                            report.problems.append(VerifyProblem(key: record.key, message: "DirectoryVersion \(id) does not decode"))
                            continue
                        }
                        for file in directory.files { referenced[file.blake3Hash] = file }
                    }
                } catch let failure as VaultFailure {
                    report.problems.append(VerifyProblem(key: record.key, message: "\(failure) (needed by snapshot \(snapshot.shortID))"))
                }
            }
        }
        // Captures: each intact, its contents indexed and referenced, and the chain without gaps or
        // overlaps (a capture starts where a snapshot or the previous capture of its deployment ended).
        var captures: [(key: String, record: CaptureRecord)] = []
        for try await summary in vault.store.list(under: try ObjectKey.Prefix("captures")) where summary.key.rawValue.hasSuffix(".json") {
            do {
                let bytes = try await vault.getSealed(summary.key)
                guard let record = try? GraceJSON.decode(CaptureRecord.self, from: Data(bytes)) else {
                    throw VaultFailure.recordDamaged(key: summary.key.rawValue, detail: "not a capture record")
                }
                captures.append((summary.key.rawValue, record))
                report.records += 2  // the capture record and its segment
                let lines = try JSONLines.decode(SegmentLine.self, from: try await vault.getSealed(try ObjectKey(record.segment.key), expectedSHA256: record.segment.sha256),
                                                 key: record.segment.key)
                for line in lines where line.kind == .directoryVersion {
                    guard let json = line.document, let directory = try? GraceJSON.decode(DirectoryVersion.self, from: json) else { continue }
                    for file in directory.files { referenced[file.blake3Hash] = file }
                }
            } catch let failure as VaultFailure {
                report.problems.append(VerifyProblem(key: summary.key.rawValue, message: failure.description))
            }
        }
        report.problems += Self.continuityProblems(captures: captures, snapshots: snapshotCutoffs)
        // Every index record, each intact: together they locate every content.
        var entries: [String: PackEntry] = [:]
        for try await summary in vault.store.list(under: try ObjectKey.Prefix("index")) {
            report.records += 1
            do {
                for entry in try JSONLines.decode(PackEntry.self, from: try await vault.getSealed(summary.key), key: summary.key.rawValue) where entries[entry.blake3] == nil {
                    entries[entry.blake3] = entry
                }
            } catch let failure as VaultFailure {
                report.problems.append(VerifyProblem(key: summary.key.rawValue, message: failure.description))
            }
        }
        report.objectsReferenced = referenced.count
        var byPack: [String: [(file: FileVersion, entry: PackEntry)]] = [:]
        for (blake3, file) in referenced.sorted(by: { $0.key < $1.key }) {
            guard let entry = entries[blake3] else {
                report.problems.append(VerifyProblem(key: "content \(blake3)", message: "no index locates it (content of \(file.relativePath))"))
                continue
            }
            byPack[entry.pack, default: []].append((file, entry))
        }

        var generator = SeededGenerator(seed: sampleSeed)
        // Counted as checked whether read or not: without reading, each is checked present in its pack.
        progress?.yield(.phaseStarted(.verifyingObjects, totalItems: byPack.values.reduce(0) { $0 + $1.count }, totalBytes: nil))
        let work = byPack.sorted { $0.key < $1.key }.map { pack, items -> (String, [(file: FileVersion, entry: PackEntry)], Bool) in
            let read: Bool = switch data {
            case .none: false
            case .all: true
            case let .subset(share): Double.random(in: 0..<1, using: &generator) < share
            }
            return (pack, items, read)
        }
        let verifier = self
        try await forEachConcurrently(work, limit: concurrency, { pack, items, read in
            (items.count, await verifier.checkPack(pack, items, read: read))
        }) { checked, outcome in
            let (problems, objectsRead, bytes) = outcome
            for problem in problems { progress?.yield(.note(problem.description)) }
            report.problems += problems
            report.objectsRead += objectsRead
            report.bytesRead += bytes
            progress?.yield(.advanced(items: checked, bytes: bytes))
        }
        report.problems.sort { $0.key < $1.key }
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        progress?.yield(.phaseFinished(.verifyingObjects, elapsedSeconds: report.elapsedSeconds))
        return report
    }

    /// A capture must start exactly where a snapshot or another capture of its deployment ends
    /// (else a gap: changes nobody captured), and no two captures may hold the same change.
    static func continuityProblems(captures: [(key: String, record: CaptureRecord)], snapshots: [(deployment: String, sequence: Int64)]) -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        for deployment in Set(captures.map(\.record.deployment)) {
            let own = captures.filter { $0.record.deployment == deployment }.sorted { $0.record.fromSequence < $1.record.fromSequence }
            let starts = Set(snapshots.filter { $0.deployment == deployment }.map(\.sequence)).union(own.map(\.record.to.sequence))
            var previousEnd: Int64?
            for (key, record) in own {
                if !starts.contains(record.fromSequence) {
                    problems.append(VerifyProblem(key: key, message: "gap: it starts after change \(record.fromSequence), where no snapshot or capture ends"))
                }
                if let previousEnd, record.fromSequence < previousEnd {
                    problems.append(VerifyProblem(key: key, message: "overlap: it holds changes \(record.fromSequence + 1)...\(min(previousEnd, record.to.sequence)) that another capture holds too"))
                }
                previousEnd = max(previousEnd ?? record.to.sequence, record.to.sequence)
            }
        }
        return problems
    }

    /// Without reading: the pack exists and is long enough for its slices. Reading: every slice
    /// decodes and hashes to its file version's hashes; a pack whose bytes changed elsewhere is named too.
    private func checkPack(_ pack: String, _ items: [(file: FileVersion, entry: PackEntry)], read: Bool) async -> ([VerifyProblem], Int, Int64) {
        let end = items.map { $0.entry.offset + $0.entry.length }.max() ?? 0
        do {
            let key = try ObjectKey(pack)
            guard read else {
                guard let summary = try await vault.store.head(key) else { return ([VerifyProblem(key: pack, message: "missing (holds \(items.count) contents)")], 0, 0) }
                return summary.sizeBytes >= end ? ([], 0, 0) : ([VerifyProblem(key: pack, message: "is \(summary.sizeBytes) bytes, shorter than its index says (\(end))")], 0, 0)
            }
            let bytes = try await vault.store.getBytes(key)
            var problems: [VerifyProblem] = []
            var hashedBytes: Int64 = 0
            for (file, entry) in items {
                guard entry.offset >= 0, entry.offset + entry.length <= Int64(bytes.count) else {
                    problems.append(VerifyProblem(key: pack, message: "content \(file.blake3Hash) lies past the pack's end (truncated)"))
                    continue
                }
                do {
                    let contents = try bytes.withUnsafeBytes { pack in
                        try GraceBlob.decode(storedBytes: UnsafeRawBufferPointer(rebasing: pack[Int(entry.offset)..<Int(entry.offset + entry.length)]),
                                             isBinary: file.isBinary, expectedSizeBytes: file.size)
                    }
                    hashedBytes += contents.sizeBytes
                    if contents.hashes != file.hashes || contents.sizeBytes != file.size {
                        problems.append(VerifyProblem(key: pack, message: "content \(file.blake3Hash) (\(file.relativePath)) hashes to \(contents.hashes), \(contents.sizeBytes) bytes"))
                    }
                } catch {
                    problems.append(VerifyProblem(key: pack, message: "content \(file.blake3Hash) (\(file.relativePath)) does not decode: \(error)"))
                }
            }
            let name = String(pack.dropFirst("packs/".count))
            if problems.isEmpty, Vault.sha256Hex(bytes) != name {
                problems.append(VerifyProblem(key: pack, message: "its SHA-256 no longer matches its name, outside any content it holds"))
            }
            return (problems, items.count, hashedBytes)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            return ([VerifyProblem(key: pack, message: "missing (holds \(items.count) contents)")], 0, 0)
        } catch {
            return ([VerifyProblem(key: pack, message: "cannot be read back: \(error)")], 0, 0)
        }
    }
}
