import Foundation
import GraceModel
import GraceStorage

/// Takes snapshots of a deployment into a vault.
///
/// The cutoff is fixed by one consistent database read (a snapshot read view); the database as
/// of the cutoff is written as an image, or, after a parent snapshot, as the change-feed segment
/// since the parent's cutoff, so the cost follows the change, not the deployment. Then every
/// object the new documents reference and the vault lacks is copied, verified while it streams.
/// The manifest is written last: a crash before it leaves only unreferenced records.
public struct Snapshotter: Sendable {
    public let deployment: Deployment
    public let vault: Vault
    public let now: @Sendable () -> Instant
    /// Objects copied at once.
    public let concurrency: Int
    /// After this many segments on one image, the next snapshot writes a full image again.
    public let maxSegments: Int
    /// How long a snapshot whose database went away (a restart, a failover) keeps starting over,
    /// counted from the first failure; the pauses between starts double from 1 s up to 10 s.
    public var databaseOutageAllowance: Duration = .seconds(60)

    public init(deployment: Deployment, vault: Vault, now: @escaping @Sendable () -> Instant, concurrency: Int = 4, maxSegments: Int = 32) {
        self.deployment = deployment
        self.vault = vault
        self.now = now
        self.concurrency = concurrency
        self.maxSegments = maxSegments
    }

    public func snapshot(progress: ProgressSink? = nil) async throws -> SnapshotRecord {
        let started = ContinuousClock.now
        let lock = try await VaultLock.acquire(in: vault, purpose: "snapshot of \(deployment.location)", now: now, progress: progress)
        do {
            var firstFailure: ContinuousClock.Instant?
            var backoff = Backoff(first: .seconds(1), limit: .seconds(10))
            while true {
                do {
                    let record = try await takeSnapshot(started: started, progress: progress)
                    try await lock.release()
                    return record
                } catch let failure as StorageFailure where failure.reason == .unavailable && failure.location == deployment.database.location {
                    // The database went away mid-read (a restart, a failover): the read's transaction is
                    // gone, so the snapshot starts over at a new cutoff. What it already put in the vault
                    // is content-addressed and found again; no manifest was written.
                    let outageStarted = firstFailure ?? .now
                    firstFailure = outageStarted
                    let pause = backoff.next()
                    guard ContinuousClock.now + pause - outageStarted <= databaseOutageAllowance else { throw failure }
                    progress?.yield(.note("the database failed (\(failure.message)); starting the snapshot over in \(pause)"))
                    try await Task.sleep(for: pause)
                }
            }
        } catch {
            try? await lock.release()  // the snapshot's own error is the one to report
            throw error
        }
    }

    private func takeSnapshot(started: ContinuousClock.Instant, progress: ProgressSink?) async throws -> SnapshotRecord {
        // The database first: Grace stores objects before the metadata naming them, so every
        // object this view references is already in object storage.
        let view = try await deployment.database.openReadView(.snapshot)
        let cutoff = view.position
        let existing = try await vault.snapshots()
        let parent = existing.last { $0.manifest.deployment == deployment.location.description && $0.manifest.cutoff.sequence <= cutoff.sequence }
        let catalog = try await vault.reusableCatalog()

        // Read what changed, then copy its objects while the database record is encoded and
        // written: the two use different cores.
        let counts = try await view.counts().reduce(into: [:]) { $0[$1.key.rawValue] = $1.value }
        let extendsParent = parent.map { $0.manifest.segments.count < maxSegments } ?? false
        var newDirectories: [DirectoryVersion] = []
        var changes: [SegmentLine] = []
        var lines: [ImageLine] = []
        if let parent, extendsParent {
            changes = try await self.changes(from: parent.manifest.cutoff.sequence, to: cutoff.sequence)
            for change in changes where change.kind == .directoryVersion {
                guard let document = change.document else { continue }
                newDirectories.append(try decodeDirectory(document, id: change.id))
            }
        } else {
            for kind in EntityKind.allCases {
                for document in try await view.documents(of: kind, in: nil) {
                    lines.append(ImageLine(kind: kind, id: document.id, document: document.json))
                    if kind == .directoryVersion { newDirectories.append(try decodeDirectory(document.json, id: document.id)) }
                }
            }
        }
        async let copying = copyObjects(of: newDirectories, skipping: catalog, progress: progress)

        var image: Manifest.RecordReference
        var segments: [Manifest.RecordReference] = []
        if let parent, extendsParent {
            image = parent.manifest.image
            segments = parent.manifest.segments
            if !changes.isEmpty {
                let encoded = try JSONLines.encode(changes)
                let (key, sha256) = try await vault.putSealed(encoded, in: "segments")
                segments.append(.init(key: key.rawValue, sha256: sha256, sizeBytes: Int64(encoded.count), entries: changes.count,
                                      fromSequence: parent.manifest.cutoff.sequence, toSequence: cutoff.sequence))
            }
        } else {
            let encoded = try JSONLines.encode(lines)
            let (key, sha256) = try await vault.putSealed(encoded, in: "images")
            image = .init(key: key.rawValue, sha256: sha256, sizeBytes: Int64(encoded.count), entries: lines.count, fromSequence: nil, toSequence: cutoff.sequence)
        }

        let copied = try await copying
        let indexes = try await vault.commitIndex(copied.entries).map { [$0] } ?? []
        let manifest = Manifest(
            vaultID: vault.config.vaultID, deployment: deployment.location.description, createdAt: now(), cutoff: cutoff,
            parent: parent?.id, image: image, segments: segments, indexes: indexes, counts: counts,
            newObjects: copied.newObjects, newObjectBytes: copied.newBytes,
            elapsedSeconds: (ContinuousClock.now - started).seconds)
        // Everything the manifest names must be durable before the manifest is.
        try await vault.store.synchronize()
        let (_, sha256) = try await vault.putSealed(Array(try GraceJSON.encode(manifest)), in: "snapshots", suffix: ".json")
        try await vault.store.synchronize()
        // Under Object Lock, the older records this snapshot still needs stay locked as long as it is.
        _ = try await vault.extendLocks(now: now(), progress: progress)
        return SnapshotRecord(id: sha256, manifest: manifest)
    }

    private func changes(from: Int64, to: Int64) async throws -> [SegmentLine] {
        var lines: [SegmentLine] = []
        var after = from
        while after < to {
            let batch = try await deployment.database.changes(after: after, limit: 5000).filter { $0.sequence <= to }
            guard let last = batch.last else { break }
            lines += batch.map(SegmentLine.init)
            after = last.sequence
        }
        return lines
    }

    private func decodeDirectory(_ json: String, id: String) throws -> DirectoryVersion {
        do {
            return try GraceJSON.decode(DirectoryVersion.self, from: json)
        } catch {
            throw MalformedDocument(entityKind: .directoryVersion, id: id, detail: "\(error)")
        }
    }

    struct CopyOutcome {
        var entries: [PackEntry] = []
        var newObjects: Int { entries.count }
        var newBytes: Int64 { entries.reduce(0) { $0 + $1.length } }
    }

    /// Copies every content the directory versions name that the vault does not have yet into
    /// packs, each verified against both of Grace's hashes and its size before it is packed.
    func copyObjects(of directories: [DirectoryVersion], skipping catalog: PackCatalog, progress: ProgressSink?) async throws -> CopyOutcome {
        var wanted: [String: (FileVersion, RepositoryID)] = [:]
        for directory in directories {
            for file in directory.files {
                guard file.contentReference.kind == .wholeFileContent else {
                    throw UnsupportedGraceData(what: "manifest-backed large file \(file.relativePath)", whereFound: "DirectoryVersion \(directory.directoryVersionID)")
                }
                if catalog.entries[file.blake3Hash] == nil, wanted[file.blake3Hash] == nil { wanted[file.blake3Hash] = (file, directory.repositoryID) }
            }
        }
        let started = ContinuousClock.now
        progress?.yield(.phaseStarted(.copyingObjects, totalItems: wanted.count, totalBytes: wanted.values.reduce(0) { $0 + $1.0.size }))
        let packs = PackWriter(vault: vault)
        let work = wanted.values.sorted { $0.0.relativePath < $1.0.relativePath }  // neighbours share packs
        let deployment = self.deployment
        try await forEachConcurrently(work, limit: concurrency, { file, repositoryID in
            let source = try ObjectKey.fileVersion(file, in: repositoryID)
            let stored = try await deployment.objects.getBytes(source)
            let contents: GraceBlob.Contents
            do {
                contents = try GraceBlob.decode(storedBytes: stored, isBinary: file.isBinary, expectedSizeBytes: file.size)
            } catch {
                throw SnapshotFailure.objectDoesNotMatch(source, location: deployment.objects.location, detail: "\(error)")
            }
            guard contents.hashes == file.hashes, contents.sizeBytes == file.size else {
                throw SnapshotFailure.objectDoesNotMatch(source, location: deployment.objects.location,
                    detail: "its bytes hash to \(contents.hashes) (\(contents.sizeBytes) bytes); the file version says \(file.hashes) (\(file.size) bytes)")
            }
            try await packs.add(blake3: file.blake3Hash, storedBytes: stored)
            return Int64(stored.count)
        }) { bytes in
            progress?.yield(.advanced(items: 1, bytes: bytes))
        }
        let outcome = CopyOutcome(entries: try await packs.finish())
        progress?.yield(.phaseFinished(.copyingObjects, elapsedSeconds: (ContinuousClock.now - started).seconds))
        return outcome
    }
}

public enum SnapshotFailure: BackupFailure {
    case objectDoesNotMatch(ObjectKey, location: String, detail: String)

    public var kind: FailureKind { .integrity }
    public var description: String {
        switch self {
        case let .objectDoesNotMatch(key, location, detail): "\(key) in \(location): \(detail); the snapshot was not written"
        }
    }
}
