import Foundation
import GraceModel
import GraceStorage

/// What to do with objects in a deployment that the restored database does not reference.
public enum OrphanHandling: String, Sendable, Codable {
    /// Report them and leave them: the default, which loses nothing.
    case list
    /// Move them under `quarantine/<restore id>/` in the same store; `restore-quarantine` puts them back.
    case quarantine
    case delete
}

public struct RestoreOptions: Sendable {
    /// Roll a live deployment back instead of filling an empty one.
    public var inPlace = false
    public var orphans: OrphanHandling = .list
    /// Plan only: read the vault and the target, change nothing.
    public var dryRun = false
    /// Restore this Grace repository alone, leaving the others as they are.
    public var repositoryID: RepositoryID?
    public init() {}
}

public struct RestoreReport: Sendable, Codable, Hashable {
    public var snapshot: String
    public var cutoff: ChangePosition
    public var target: String
    public var dryRun: Bool
    public var repositoryID: String?
    /// Documents written (or, in a dry run, to be written); in place, also those removed.
    public var documents = 0
    public var documentsRemoved = 0
    /// File-version objects the restored database references, how many had to be copied, and their bytes.
    public var objects = 0
    public var objectsCopied = 0
    public var bytesCopied: Int64 = 0
    /// Objects the restored database does not reference (in place only), and what was done with them.
    public var orphans: [String] = []
    public var orphanBytes: Int64 = 0
    public var orphanHandling: OrphanHandling
    public var quarantineID: String?
    public var check: CheckReport?
    public var elapsedSeconds = 0.0
}

/// Restores a snapshot into a deployment: the database as of the cutoff, every object it
/// references back at Grace's key in Grace's encoding (verified while it streams), then `check`.
/// Objects are restored before the database, as Grace writes them: a crash in the middle leaves
/// extra objects, never a reference to a missing one.
public struct Restorer: Sendable {
    public let vault: Vault
    public let concurrency: Int

    public init(vault: Vault, concurrency: Int = 4) {
        self.vault = vault
        self.concurrency = concurrency
    }

    public func restore(_ snapshot: SnapshotRecord, into target: Deployment, options: RestoreOptions, progress: ProgressSink? = nil) async throws -> RestoreReport {
        try await restore(try await vault.restorePoint(of: snapshot), into: target, options: options, progress: progress)
    }

    /// Restores a snapshot, or a snapshot plus captured changes (point in time).
    public func restore(_ point: RestorePoint, into target: Deployment, options: RestoreOptions, progress: ProgressSink? = nil) async throws -> RestoreReport {
        let started = ContinuousClock.now
        var report = RestoreReport(snapshot: point.label, cutoff: point.cutoff, target: target.location.description,
                                   dryRun: options.dryRun, repositoryID: options.repositoryID?.description, orphanHandling: options.orphans)
        var state = point.state
        if let repositoryID = options.repositoryID { state = try Self.narrow(state, to: repositoryID, location: vault.location, snapshot: point.label) }

        let current = try await target.database.openReadView(.snapshot)
        let currentCounts = try await current.counts()
        if !options.inPlace, currentCounts.values.contains(where: { $0 > 0 }) {
            throw VaultFailure.targetNotEmpty(target.location.description)
        }

        // What the restored database will reference.
        let directories = try state.all(DirectoryVersion.self, .directoryVersion)
        var wanted: [ObjectKey: FileVersion] = [:]
        for directory in directories {
            for file in directory.files { wanted[try ObjectKey.fileVersion(file, in: directory.repositoryID)] = file }
        }
        report.objects = wanted.count
        let changes = try await databaseChanges(state, replacing: current, scope: options.repositoryID)
        report.documents = changes.filter { if case .deletion = $0 { false } else { true } }.count
        report.documentsRemoved = changes.count - report.documents

        let missing = try await missingObjects(wanted, in: target.objects)
        if options.dryRun {
            report.objectsCopied = missing.count
            report.bytesCopied = missing.values.reduce(0) { $0 + $1.size }
            if options.inPlace { (report.orphans, report.orphanBytes) = try await orphans(in: target, keeping: state, scope: options.repositoryID, restoring: Set(wanted.keys)) }
            report.elapsedSeconds = (ContinuousClock.now - started).seconds
            return report
        }

        let catalog = try await vault.contentCatalog()
        (report.objectsCopied, report.bytesCopied) = try await copyObjects(missing, from: catalog, into: target, progress: progress)
        // Objects before the database that names them, durable before it commits.
        try await target.objects.synchronize()
        progress?.yield(.phaseStarted(.writingDatabase, totalItems: changes.count, totalBytes: nil))
        let databaseStarted = ContinuousClock.now
        if !changes.isEmpty { _ = try await target.database.apply(GraceTransaction(changes: changes)) }
        // One transaction: every document lands at its commit, none before.
        progress?.yield(.advanced(items: changes.count, bytes: 0))
        progress?.yield(.phaseFinished(.writingDatabase, elapsedSeconds: (ContinuousClock.now - databaseStarted).seconds))

        if options.inPlace {
            (report.orphans, report.orphanBytes) = try await orphans(in: target, keeping: state, scope: options.repositoryID, restoring: Set(wanted.keys))
            switch options.orphans {
            case .list: break
            case .quarantine:
                let id: RepositoryID = IDGenerator.random.make()
                report.quarantineID = id.description
                for key in report.orphans { try await Quarantine.move(try ObjectKey(key), in: target.objects, restoreID: id.description) }
            case .delete:
                try await target.objects.deleteIfPresent(try report.orphans.map(ObjectKey.init))
            }
            try await target.objects.synchronize()
        }
        report.check = try await DeploymentChecker(deployment: target).check(progress: progress)
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        return report
    }

    /// The documents of one repository, and its owner and organization so it has a home.
    static func narrow(_ state: DatabaseState, to repositoryID: RepositoryID, location: String, snapshot: String) throws -> DatabaseState {
        guard let repositoryDocument = state.documents[.init(kind: .repository, id: repositoryID.description)],
              let repository = try? GraceJSON.decode(Repository.self, from: repositoryDocument)
        else { throw RestoreFailure.repositoryNotInSnapshot(repositoryID, snapshot: snapshot) }
        var narrowed = DatabaseState(image: [])
        for (key, document) in state.documents {
            let keep: Bool = switch key.kind {
            case .owner: key.id == repository.ownerID.description
            case .organization: key.id == repository.organizationID.description
            case .repository: key.id == repositoryID.description
            default: document.contains("\"RepositoryId\":\"\(repositoryID)\"") && Self.repositoryID(of: key.kind, document) == repositoryID
            }
            if keep { narrowed.documents[key] = document }
        }
        return narrowed
    }

    static func repositoryID(of kind: EntityKind, _ document: String) -> RepositoryID? {
        let data = Data(document.utf8)
        return switch kind {
        case .branch: (try? GraceJSON.decode(Branch.self, from: data))?.repositoryID
        case .reference: (try? GraceJSON.decode(Reference.self, from: data))?.repositoryID
        case .directoryVersion: (try? GraceJSON.decode(DirectoryVersion.self, from: data))?.repositoryID
        case .repository: (try? GraceJSON.decode(Repository.self, from: data))?.repositoryID
        case .owner, .organization: nil
        }
    }

    /// The changes that turn the target's database into `state`: upserts of every restored
    /// document that differs, and (in place) deletions of what the snapshot does not hold,
    /// within the scope (one repository, or everything).
    private func databaseChanges(_ state: DatabaseState, replacing current: any GraceReadView, scope: RepositoryID?) async throws -> [EntityChange] {
        var changes: [EntityChange] = []
        for kind in EntityKind.allCases {
            var existing: [String: String] = [:]
            let inScope: Bool = scope == nil || kind == .branch || kind == .reference || kind == .directoryVersion || kind == .repository
            for document in try await current.documents(of: kind, in: scope.flatMap { kind == .repository ? nil : $0 }) {
                existing[document.id] = document.json
            }
            for (key, json) in state.documents.sorted(by: { $0.key < $1.key }) where key.kind == kind {
                if existing[key.id] == json { continue }
                changes.append(try Self.entityChange(kind: kind, id: key.id, json: json))
            }
            guard inScope else { continue }
            for (id, json) in existing where state.documents[.init(kind: kind, id: id)] == nil {
                if kind == .repository, let scope, id != scope.description { continue }
                changes.append(.deletion(kind, id: id, repositoryID: Self.repositoryID(of: kind, json)))
            }
        }
        return changes
    }

    static func entityChange(kind: EntityKind, id: String, json: String) throws -> EntityChange {
        let data = Data(json.utf8)
        do {
            return switch kind {
            case .owner: .owner(try GraceJSON.decode(Owner.self, from: data))
            case .organization: .organization(try GraceJSON.decode(Organization.self, from: data))
            case .repository: .repository(try GraceJSON.decode(Repository.self, from: data))
            case .branch: .branch(try GraceJSON.decode(Branch.self, from: data))
            case .reference: .reference(try GraceJSON.decode(Reference.self, from: data))
            case .directoryVersion: .directoryVersion(try GraceJSON.decode(DirectoryVersion.self, from: data))
            }
        } catch {
            throw MalformedDocument(entityKind: kind, id: id, detail: "\(error)")
        }
    }

    private func missingObjects(_ wanted: [ObjectKey: FileVersion], in store: any ObjectStore) async throws -> [ObjectKey: FileVersion] {
        var missing: [ObjectKey: FileVersion] = [:]
        for (key, file) in wanted where try await store.head(key) == nil { missing[key] = file }
        return missing
    }

    /// Writes each missing object from its pack, verified against both hashes and its size
    /// first; packs are read one at a time per task, whole (each is checked against its name).
    private func copyObjects(_ objects: [ObjectKey: FileVersion], from catalog: PackCatalog, into target: Deployment, progress: ProgressSink?) async throws -> (Int, Int64) {
        var byPack: [String: [(key: ObjectKey, file: FileVersion, entry: PackEntry)]] = [:]
        for (key, file) in objects {
            guard let entry = catalog.entries[file.blake3Hash] else {
                throw VaultFailure.objectDamaged(key: "content \(file.blake3Hash)", detail: "no index of the snapshot locates it (needed for \(file.relativePath))")
            }
            byPack[entry.pack, default: []].append((key, file, entry))
        }
        let started = ContinuousClock.now
        progress?.yield(.phaseStarted(.restoringObjects, totalItems: objects.count, totalBytes: objects.values.reduce(0) { $0 + $1.size }))
        let work = byPack.sorted { $0.key < $1.key }
        var copied = 0
        var bytes: Int64 = 0
        let vault = self.vault
        try await forEachConcurrently(work, limit: max(1, concurrency / 2), { pack, items in
            let packBytes = try await vault.readPack(pack)
            var written: Int64 = 0
            for item in items {
                let end = Int(item.entry.offset + item.entry.length)
                guard item.entry.offset >= 0, end <= packBytes.count else {
                    throw VaultFailure.objectDamaged(key: pack, detail: "content \(item.file.blake3Hash) lies past the pack's end")
                }
                let stored = Array(packBytes[Int(item.entry.offset)..<end])
                let contents = try GraceBlob.decode(storedBytes: stored, isBinary: item.file.isBinary, expectedSizeBytes: item.file.size)
                guard contents.hashes == item.file.hashes, contents.sizeBytes == item.file.size else {
                    throw VaultFailure.objectDamaged(key: pack, detail: "content \(item.file.blake3Hash) hashes to \(contents.hashes)")
                }
                try await target.objects.put(item.key, bytes: stored)
                written += Int64(stored.count)
            }
            return (items.count, written)
        }) { count, stored in
            copied += count
            bytes += stored
            progress?.yield(.advanced(items: count, bytes: stored))
        }
        progress?.yield(.phaseFinished(.restoringObjects, elapsedSeconds: (ContinuousClock.now - started).seconds))
        return (copied, bytes)
    }

    /// Objects under the restored repositories' containers that nothing in the restored database references.
    private func orphans(in target: Deployment, keeping state: DatabaseState, scope: RepositoryID?, restoring restored: Set<ObjectKey>) async throws -> ([String], Int64) {
        // Every directory version the target will hold after the restore names objects to keep;
        // outside the scope, that is what the target has now.
        var referenced = restored
        if scope != nil {
            let view = try await target.database.openReadView(.snapshot)
            for directory in try await view.all(DirectoryVersion.self, .directoryVersion) where directory.repositoryID != scope {
                for file in directory.files { referenced.insert(try ObjectKey.fileVersion(file, in: directory.repositoryID)) }
            }
        }
        var orphans: [String] = []
        var bytes: Int64 = 0
        for try await summary in target.objects.list(under: .all) {
            let container = summary.key.rawValue.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            guard let repositoryID = RepositoryID(container) else { continue }  // quarantine/ and anything not Grace's
            if let scope, repositoryID != scope { continue }
            if !referenced.contains(summary.key) {
                orphans.append(summary.key.rawValue)
                bytes += summary.sizeBytes
            }
        }
        return (orphans.sorted(), bytes)
    }
}

public enum RestoreFailure: BackupFailure {
    case repositoryNotInSnapshot(RepositoryID, snapshot: String)

    public var kind: FailureKind { .notFound }
    public var description: String {
        switch self {
        case let .repositoryNotInSnapshot(id, snapshot): "repository \(id) is not in snapshot \(snapshot.prefix(12))"
        }
    }
}
