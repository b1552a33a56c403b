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

        for try await summary in vault.store.list(under: try ObjectKey.Prefix("snapshots")) where summary.key.rawValue.hasSuffix(".json") {
            let snapshot: SnapshotRecord
            do {
                snapshot = try await vault.loadSnapshot(summary.key)
            } catch let failure as VaultFailure {
                report.problems.append(VerifyProblem(key: summary.key.rawValue, message: failure.description))
                continue
            }
            report.snapshots += 1
            for record in [snapshot.manifest.image] + snapshot.manifest.segments where checkedRecords.insert(record.key).inserted {
                report.records += 1
                do {
                    let bytes = try await vault.getSealed(try ObjectKey(record.key), expectedSHA256: record.sha256)
                    let documents: [(EntityKind, String, String?)] = record.key.hasPrefix("images/")
                        ? try JSONLines.decode(ImageLine.self, from: bytes, key: record.key).map { ($0.kind, $0.id, $0.document) }
                        : try JSONLines.decode(SegmentLine.self, from: bytes, key: record.key).map { ($0.kind, $0.id, $0.document) }
                    for (kind, id, json) in documents where kind == .directoryVersion {
                        guard let json else { continue }
                        guard let directory = try? GraceJSON.decode(DirectoryVersion.self, from: Data(json.utf8)) else {
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
        report.objectsReferenced = referenced.count

        var generator = SeededGenerator(seed: sampleSeed)
        let toRead: Set<String> = switch data {
        case .none: []
        case .all: Set(referenced.keys)
        case let .subset(share): Set(referenced.keys.filter { _ in Double.random(in: 0..<1, using: &generator) < share })
        }
        progress?.yield(.phaseStarted(.verifyingObjects, totalItems: referenced.count, totalBytes: nil))
        let work = referenced.sorted { $0.key < $1.key }
        await withTaskGroup(of: (VerifyProblem?, Int64, Bool).self) { group in
            var next = 0
            func startNext() {
                guard next < work.count else { return }
                let (blake3, file) = work[next]
                next += 1
                let read = toRead.contains(blake3)
                group.addTask { await checkObject(file, read: read) }
            }
            for _ in 0..<concurrency { startNext() }
            for await (problem, bytes, read) in group {
                if let problem {
                    report.problems.append(problem)
                    progress?.yield(.note(problem.description))
                }
                if read {
                    report.objectsRead += 1
                    report.bytesRead += bytes
                }
                progress?.yield(.advanced(items: 1, bytes: bytes))
                startNext()
            }
        }
        report.problems.sort { $0.key < $1.key }
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        progress?.yield(.phaseFinished(.verifyingObjects, elapsedSeconds: report.elapsedSeconds))
        return report
    }

    private func checkObject(_ file: FileVersion, read: Bool) async -> (VerifyProblem?, Int64, Bool) {
        guard let key = try? Vault.objectKey(blake3: file.blake3Hash) else {
            return (VerifyProblem(key: file.blake3Hash, message: "not a BLAKE3 hash"), 0, false)
        }
        do {
            guard read else {
                let present = try await vault.store.head(key) != nil
                return (present ? nil : VerifyProblem(key: key.rawValue, message: "missing (content of \(file.relativePath))"), 0, false)
            }
            let contents = try await GraceBlob.readForVerification(key, isBinary: file.isBinary, expectedSizeBytes: file.size, from: vault.store)
            guard contents.hashes == file.hashes, contents.sizeBytes == file.size else {
                return (VerifyProblem(key: key.rawValue, message: "holds bytes that hash to \(contents.hashes) (\(contents.sizeBytes) bytes); expected \(file.hashes) (\(file.size) bytes)"), contents.sizeBytes, true)
            }
            return (nil, contents.sizeBytes, true)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            return (VerifyProblem(key: key.rawValue, message: "missing (content of \(file.relativePath))"), 0, read)
        } catch {
            return (VerifyProblem(key: key.rawValue, message: "cannot be read back: \(error)"), 0, read)
        }
    }
}
