import Crypto
import Deflate
import Foundation
import GraceModel

/// The reference writer: Grace's operations applied through the storage contract, each one
/// database transaction, with objects stored before the metadata that names them (Grace uploads
/// and re-hashes blobs before it saves directory versions, which is what makes a cutoff-based
/// snapshot consistent).
///
/// An actor because an operation reads a branch and writes it back: operations from concurrent
/// tasks must not interleave.
public actor GraceWriter {
    let deployment: Deployment
    let now: @Sendable () -> Instant
    let ids: IDGenerator
    let principal: String
    /// Directory versions this writer knows, per repository and hashes: saves reuse unchanged folders.
    private var knownDirectories: [RepositoryID: [FileHashes: DirectoryVersion]] = [:]

    public init(deployment: Deployment, now: @escaping @Sendable () -> Instant, ids: IDGenerator = .random, principal: String = "grace-backup") {
        self.deployment = deployment
        self.now = now
        self.ids = ids
        self.principal = principal
    }

    var database: any GraceDatabase { deployment.database }

    // MARK: - Owners, organizations, repositories, branches

    public func createOwner(name: String) async throws -> Owner {
        let owner = Owner(ownerID: ids.make(), ownerName: name, createdAt: now())
        try await commit([.owner(owner)], events: [(.ownerCreated, owner, nil)])
        return owner
    }

    public func createOrganization(name: String, owner: Owner) async throws -> Organization {
        let organization = Organization(organizationID: ids.make(), organizationName: name, ownerID: owner.ownerID, createdAt: now())
        try await commit([.organization(organization)], events: [(.organizationCreated, organization, nil)])
        return organization
    }

    /// Creates a repository with Grace's empty root directory version and its `main` branch,
    /// whose first promotion points at that empty root so that child branches have a base.
    public func createRepository(name: String, organization: Organization, settings: (inout Repository) -> Void = { _ in }) async throws -> (Repository, Branch) {
        var repository = Repository(repositoryID: ids.make(), ownerID: organization.ownerID, organizationID: organization.organizationID,
                                    repositoryName: name, createdAt: now())
        settings(&repository)
        repository.initializedAt = repository.createdAt
        let emptyRoot = makeDirectory(in: repository, path: DirectoryVersion.rootPath, files: [], children: [])
        var main = Branch(branchID: ids.make(), branchName: repository.defaultBranchName, parentBranchID: nil, repository: repository, createdAt: now())
        let promotion = Reference(referenceID: ids.make(), branch: main, root: emptyRoot, referenceType: .promotion,
                                  referenceText: "Initial empty promotion", createdBy: principal, createdAt: now())
        main.recordLatest(promotion)
        try await commit(
            [.repository(repository), .directoryVersion(emptyRoot), .branch(main), .reference(promotion)],
            events: [(.repositoryCreated, repository, repository.repositoryID), (.repositoryInitialized, repository, repository.repositoryID),
                     (.directoryVersionCreated, emptyRoot, repository.repositoryID), (.branchCreated, main, repository.repositoryID),
                     (.referenceCreated, promotion, repository.repositoryID), (.branchPromoted, promotion, repository.repositoryID)])
        knownDirectories[repository.repositoryID, default: [:]][emptyRoot.hashes] = emptyRoot
        return (repository, main)
    }

    /// Creates a child branch based on the parent's latest promotion; like Grace, it starts
    /// with a Rebase reference to that promotion.
    public func createBranch(name: String, parent parentID: BranchID) async throws -> Branch {
        let parent = try await requireBranch(parentID)
        guard let basedOn = parent.latestPromotion else {
            throw WriterFailure.noPromotion(branch: parent.branchName)
        }
        let repository = try await requireRepository(parent.repositoryID)
        var branch = Branch(branchID: ids.make(), branchName: name, parentBranchID: parent.branchID, repository: repository, createdAt: now())
        let root = try await requireDirectory(basedOn.directoryID)
        let rebase = Reference(referenceID: ids.make(), branch: branch, root: root, referenceType: .rebase,
                               referenceText: "Based on \(basedOn.referenceID)", links: [.basedOn(basedOn.referenceID)],
                               createdBy: principal, createdAt: now())
        branch.basedOn = basedOn
        branch.recordLatest(rebase)
        try await commit([.branch(branch), .reference(rebase)],
                         events: [(.branchCreated, branch, branch.repositoryID), (.referenceCreated, rebase, branch.repositoryID),
                                  (.branchRebased, rebase, branch.repositoryID)])
        return branch
    }

    // MARK: - Save, checkpoint, commit, tag

    /// What a save, checkpoint or commit recorded, with the file versions of the whole tree so
    /// the caller can pass them back as `.stored` next time.
    public struct Recorded: Sendable {
        public let reference: Reference
        public let root: DirectoryVersion
        public let files: [String: FileVersion]
        public let newDirectoryVersions: Int
        public let uploadedBytes: Int64
    }

    /// Saves, checkpoints or commits `tree` on a branch: uploads new file versions, creates the
    /// directory versions that do not exist yet (deepest first), then the reference.
    public func record(_ type: ReferenceType, of tree: WorkingTree, on branchID: BranchID, message: String) async throws -> Recorded {
        guard [.save, .checkpoint, .commit].contains(type) else { throw WriterFailure.notATreeReference(type) }
        var branch = try await requireBranch(branchID)
        let repository = try await requireRepository(branch.repositoryID)
        let (files, uploadedBytes) = try await storeFiles(of: tree, in: repository)
        let (root, created) = try await buildDirectories(files: files, emptyDirectories: tree.emptyDirectories, in: repository)
        let reference = Reference(referenceID: ids.make(), branch: branch, root: root, referenceType: type, referenceText: message,
                                  createdBy: principal, createdAt: now())
        branch.recordLatest(reference)
        let branchEvent: GraceEventType = switch type {
        case .save: .branchSaved
        case .checkpoint: .branchCheckpointed
        default: .branchCommitted
        }
        try await commit(created.map { .directoryVersion($0) } + [.reference(reference), .branch(branch)],
                         events: created.map { (.directoryVersionCreated, $0, repository.repositoryID) as EventSpec }
                            + [(.referenceCreated, reference, repository.repositoryID), (branchEvent, reference, repository.repositoryID)])
        rememberDirectories(created, in: repository.repositoryID)
        return Recorded(reference: reference, root: root, files: files, newDirectoryVersions: created.count, uploadedBytes: uploadedBytes)
    }

    /// A Tag reference on a branch, at its latest promotion.
    public func tag(_ branchID: BranchID, text: String) async throws -> Reference {
        var branch = try await requireBranch(branchID)
        guard let promotion = branch.latestPromotion else { throw WriterFailure.noPromotion(branch: branch.branchName) }
        let root = try await requireDirectory(promotion.directoryID)
        let tag = Reference(referenceID: ids.make(), branch: branch, root: root, referenceType: .tag, referenceText: text,
                            links: [.basedOn(promotion.referenceID)], createdBy: principal, createdAt: now())
        branch.recordLatest(tag)
        try await commit([.reference(tag), .branch(branch)],
                         events: [(.referenceCreated, tag, branch.repositoryID), (.branchTagged, tag, branch.repositoryID)])
        return tag
    }

    // MARK: - Promote

    /// Grace's promotion: a Promotion reference on the parent pointing at the child's latest
    /// commit (same root, no new directory versions), then a Rebase reference on the child based
    /// on it. The child must be based on the parent's latest promotion.
    public func promote(_ childID: BranchID, message: String) async throws -> (promotion: Reference, rebase: Reference) {
        var child = try await requireBranch(childID)
        guard let parentID = child.parentBranchID else { throw WriterFailure.noParent(branch: child.branchName) }
        var parent = try await requireBranch(parentID)
        guard child.basedOn?.referenceID == parent.latestPromotion?.referenceID else {
            throw WriterFailure.notBasedOnLatestPromotion(branch: child.branchName, parent: parent.branchName)
        }
        guard let source = child.latestCommit ?? child.latestPromotion else { throw WriterFailure.nothingToPromote(branch: child.branchName) }
        let root = try await requireDirectory(source.directoryID)
        let promotion = Reference(referenceID: ids.make(), branch: parent, root: root, referenceType: .promotion, referenceText: message,
                                  createdBy: principal, createdAt: now())
        parent.recordLatest(promotion)
        let rebase = Reference(referenceID: Self.rebaseReferenceID(promotion: promotion.referenceID), branch: child, root: root,
                               referenceType: .rebase, referenceText: "Rebased on promotion \(promotion.referenceID)",
                               links: [.basedOn(promotion.referenceID)], createdBy: principal, createdAt: now())
        child.basedOn = promotion
        child.recordLatest(rebase)
        let repositoryID = parent.repositoryID
        try await commit([.reference(promotion), .branch(parent), .reference(rebase), .branch(child)],
                         events: [(.referenceCreated, promotion, repositoryID), (.branchPromoted, promotion, repositoryID),
                                  (.referenceCreated, rebase, repositoryID), (.branchRebased, rebase, repositoryID)])
        return (promotion, rebase)
    }

    /// Grace's deterministic id of the rebase after a promotion: the first 16 bytes of
    /// SHA-256(`grace.branch.promote-rebase-reference.v1|{promotionId:N}`) with the version-5 and
    /// variant bits set, read as a .NET Guid (whose first three fields are little-endian).
    public static func rebaseReferenceID(promotion: ReferenceID) -> ReferenceID {
        let text = "grace.branch.promote-rebase-reference.v1|" + promotion.description.replacingOccurrences(of: "-", with: "")
        var bytes = Array(SHA256.hash(data: Array(text.utf8)).prefix(16))
        bytes[7] = (bytes[7] & 0x0f) | 0x50  // .NET's byte 7 is the high byte of Data3: the version nibble
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let dotNetOrder = [bytes[3], bytes[2], bytes[1], bytes[0], bytes[5], bytes[4], bytes[7], bytes[6]] + bytes[8...]
        let uuid = dotNetOrder.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
        return ReferenceID(uuid)
    }

    // MARK: - Retention

    /// Grace's automatic physical deletion: Save references older than the repository's
    /// `SaveDays`, Checkpoint references older than `CheckpointDays`, as of `instant`.
    /// Returns how many references were deleted.
    @discardableResult
    public func applyRetention(asOf instant: Instant) async throws -> Int {
        let view = try await database.openReadView(.latest)
        var deleted = 0
        for repository in try await view.repositories() {
            var changes: [EntityChange] = []
            var events: [EventSpec] = []
            for reference in try await view.references(in: repository.repositoryID) {
                let days: Double
                switch reference.referenceType {
                case .save: days = repository.saveDays
                case .checkpoint: days = repository.checkpointDays
                default: continue
                }
                guard reference.createdAt.adding(seconds: days * 86_400) <= instant else { continue }
                var gone = reference
                gone.deletedAt = now()
                gone.deleteReason = "\(reference.referenceType.rawValue): automatic deletion after \(Self.format(days)) days"
                changes.append(.deletion(.reference, id: reference.referenceID.description, repositoryID: repository.repositoryID))
                events.append((.referencePhysicalDeleted, gone, repository.repositoryID))
            }
            guard !changes.isEmpty else { continue }
            try await commit(changes, events: events)
            deleted += changes.count
        }
        return deleted
    }

    private static func format(_ days: Double) -> String {
        days == days.rounded() ? String(Int(days)) : String(days)
    }

    // MARK: - Building blocks

    typealias EventSpec = (type: GraceEventType, payload: any Encodable, repositoryID: RepositoryID?)

    func commit(_ changes: [EntityChange], events: [EventSpec]) async throws {
        let metadata = EventMetadata(timestamp: now(), correlationID: correlationID(), principal: principal)
        let graceEvents = try events.map { spec in
            (event: GraceEvent(type: spec.type, payloadJSON: try spec.payload.graceJSON(), metadata: metadata), repositoryID: spec.repositoryID)
        }
        _ = try await database.apply(GraceTransaction(changes: changes, events: graceEvents))
    }

    /// A 12-character NanoId, Grace's default correlation id shape.
    private func correlationID() -> String {
        let alphabet = Array("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let id: ReferenceID = ids.make()
        return withUnsafeBytes(of: id.uuid.uuid) { raw in String(raw.prefix(12).map { alphabet[Int($0) & 63] }) }
    }

    /// Uploads the files that are new content (objects first: Grace's order) and returns the file
    /// version of every file in the tree.
    func storeFiles(of tree: WorkingTree, in repository: Repository) async throws -> ([String: FileVersion], Int64) {
        var files: [String: FileVersion] = [:]
        var uploaded: Int64 = 0
        for (path, file) in tree.files {
            try SafePath.validate(path, for: .storage)
            switch file {
            case let .stored(version):
                files[path] = version
            case let .content(bytes):
                let (version, stored) = try await store(bytes, at: path, in: repository.repositoryID)
                files[path] = version
                uploaded += stored
            }
        }
        return (files, uploaded)
    }

    /// Stores one file's content as Grace names and encodes it, unless the object is there already;
    /// returns its file version (for a `TreeFile.stored`) and the bytes uploaded. A caller with many
    /// contents stores them one at a time this way, rather than holding them all in a `WorkingTree`.
    public func store(_ bytes: [UInt8], at path: String, in repositoryID: RepositoryID) async throws -> (FileVersion, uploadedBytes: Int64) {
        var hasher = FileHasher()
        hasher.update(bytes)
        let (version, key) = try fileVersion(at: path, hashed: hasher, in: repositoryID)
        guard try await deployment.objects.head(key) == nil else { return (version, 0) }
        let stored = try GraceBlob.encode(bytes, isBinary: version.isBinary)
        try await deployment.objects.put(key, bytes: stored)
        return (version, Int64(stored.count))
    }

    /// The same for a content too large to hold in memory, which `read` passes in pieces, each valid
    /// during its call; read twice: once to hash and name it, then, unless the object is there
    /// already, to encode it into a scratch file the object store takes (a folder store renames it
    /// into place). Memory stays a few pieces and zlib's state, whatever the content's size.
    public nonisolated func store(at path: String, in repositoryID: RepositoryID,
                                  reading read: (_ piece: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) async throws -> (FileVersion, uploadedBytes: Int64) {
        var hasher = FileHasher()
        try read { hasher.update($0) }
        let (version, key) = try fileVersion(at: path, hashed: hasher, in: repositoryID)
        guard try await deployment.objects.head(key) == nil else { return (version, 0) }
        // A folder of their own, so looking for what killed runs left reads only theirs, not the whole temporary folder.
        let scratchFolder = FileManager.default.temporaryDirectory.appendingPathComponent("grace-backup-contents")
        try FileManager.default.createDirectory(at: scratchFolder, withIntermediateDirectories: true)
        let scratch = try ScratchFiles.create(beside: scratchFolder.appendingPathComponent("encoded"))
        do {
            let handle = try FileHandle(forWritingTo: scratch)
            var stored: Int64 = 0
            do {
                // The second reading is hashed too: the object's name must hold for the bytes it holds.
                var again = FileHasher()
                var pending: [UInt8] = []
                func write(_ bytes: UnsafeRawBufferPointer) throws {
                    stored += Int64(bytes.count)
                    pending.append(contentsOf: bytes)
                    if pending.count >= 1 << 20 { try handle.write(contentsOf: pending); pending.removeAll(keepingCapacity: true) }
                }
                if version.isBinary {
                    try read {
                        again.update($0)
                        try write($0)
                    }
                } else {
                    let deflater = try Deflater(.gzip, level: GraceBlob.textCompressionLevel)
                    try read {
                        again.update($0)
                        try deflater.feed($0, output: write)
                    }
                    try deflater.finish(output: write)
                }
                guard again.finalize() == version.hashes, again.byteCount == version.size else {
                    throw StorageFailure(.integrity, .read, key: key.rawValue, location: deployment.objects.location,
                                         message: "\(path) read differently the second time (its hashes or size changed); nothing was stored")
                }
                try handle.write(contentsOf: pending)
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            _ = try await deployment.objects.put(key, movingFile: scratch)
            return (version, stored)
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
    }

    /// The file version of a content at `path`, as Grace names it from its hashes, and its object's key.
    private nonisolated func fileVersion(at path: String, hashed hasher: FileHasher, in repositoryID: RepositoryID) throws -> (FileVersion, ObjectKey) {
        try SafePath.validate(path, for: .storage)
        let hashes = hasher.finalize()
        let key = try ObjectKey("\(ObjectName.container(for: repositoryID))/\(ObjectName.wholeFileContent(relativePath: path, hashes: hashes))")
        return (FileVersion(relativePath: path, hashes: hashes, isBinary: hasher.sawNulInFirst8KiB, size: hasher.byteCount,
                            createdAt: now(), blobUri: key.rawValue), key)
    }

    /// Directory versions for the tree, deepest first; reuses any the repository already has
    /// with the same hashes. Returns the root and the versions that are new.
    func buildDirectories(files: [String: FileVersion], emptyDirectories: Set<String>, in repository: Repository) async throws -> (DirectoryVersion, [DirectoryVersion]) {
        var filesByDirectory: [String: [FileVersion]] = [:]
        var allDirectories: Set<String> = [DirectoryVersion.rootPath]
        func addAncestors(of path: String) {
            var current = SafePath.parent(of: path)
            while allDirectories.insert(current).inserted, current != DirectoryVersion.rootPath {
                current = SafePath.parent(of: current)
            }
        }
        for (path, version) in files {
            filesByDirectory[SafePath.parent(of: path), default: []].append(version)
            addAncestors(of: path)
        }
        for directory in emptyDirectories {
            try SafePath.validate(directory, for: .storage)
            allDirectories.insert(directory)
            addAncestors(of: directory)
        }
        var childDirectories: [String: [String]] = [:]
        for directory in allDirectories where directory != DirectoryVersion.rootPath {
            childDirectories[SafePath.parent(of: directory), default: []].append(directory)
        }
        let deepestFirst = allDirectories.sorted { depth($0) > depth($1) || (depth($0) == depth($1) && $0 < $1) }
        var built: [String: DirectoryVersion] = [:]
        var created: [DirectoryVersion] = []
        let view = try await database.openReadView(.latest)
        for path in deepestFirst {
            let directFiles = (filesByDirectory[path] ?? []).sorted { $0.relativePath.utf16.lexicographicallyPrecedes($1.relativePath.utf16) }
            let children = (childDirectories[path] ?? []).sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }.map { built[$0]! }
            let candidate = makeDirectory(in: repository, path: path, files: directFiles, children: children)
            if let known = knownDirectories[repository.repositoryID]?[candidate.hashes] {
                built[path] = known
            } else if let existingID = try await view.directoryVersionID(in: repository.repositoryID, hashes: candidate.hashes),
                      let existing = try await view.directoryVersion(existingID) {
                knownDirectories[repository.repositoryID, default: [:]][existing.hashes] = existing
                built[path] = existing
            } else {
                built[path] = candidate
                created.append(candidate)
            }
        }
        return (built[DirectoryVersion.rootPath]!, created)
    }

    private func depth(_ path: String) -> Int { path == DirectoryVersion.rootPath ? 0 : path.utf8.count(where: { $0 == 47 }) + 1 }

    private func makeDirectory(in repository: Repository, path: String, files: [FileVersion], children: [DirectoryVersion]) -> DirectoryVersion {
        let hashes = DirectoryHasher.hashes(relativePath: path, children: files.map(DirectoryChild.init(file:)) + children.map(DirectoryChild.init(directory:)))
        return DirectoryVersion(directoryVersionID: ids.make(), repository: repository, relativePath: path, hashes: hashes,
                                directories: children.map(\.directoryVersionID), files: files,
                                size: files.reduce(0) { $0 + $1.size }, createdAt: now())
    }

    func rememberDirectories(_ directories: [DirectoryVersion], in repositoryID: RepositoryID) {
        for directory in directories { knownDirectories[repositoryID, default: [:]][directory.hashes] = directory }
    }

    func requireBranch(_ id: BranchID) async throws -> Branch {
        guard let branch = try await database.openReadView(.latest).branch(id) else { throw WriterFailure.missing("branch \(id)") }
        return branch
    }

    func requireRepository(_ id: RepositoryID) async throws -> Repository {
        guard let repository = try await database.openReadView(.latest).repository(id) else { throw WriterFailure.missing("repository \(id)") }
        return repository
    }

    private func requireDirectory(_ id: DirectoryVersionID) async throws -> DirectoryVersion {
        guard let directory = try await database.openReadView(.latest).directoryVersion(id) else { throw WriterFailure.missing("directory version \(id)") }
        return directory
    }
}

public enum WriterFailure: BackupFailure {
    case missing(String)
    case noPromotion(branch: String)
    case noParent(branch: String)
    case nothingToPromote(branch: String)
    case notBasedOnLatestPromotion(branch: String, parent: String)
    case notATreeReference(ReferenceType)

    public var kind: FailureKind {
        switch self {
        case .missing: .notFound
        default: .invalidInput
        }
    }

    public var description: String {
        switch self {
        case let .missing(what): "\(what) does not exist in the deployment"
        case let .noPromotion(branch): "branch \(branch) has no promotion to base on"
        case let .noParent(branch): "branch \(branch) has no parent to promote into"
        case let .nothingToPromote(branch): "branch \(branch) has no commit to promote"
        case let .notBasedOnLatestPromotion(branch, parent): "branch \(branch) is not based on \(parent)'s latest promotion; rebase it first"
        case let .notATreeReference(type): "\(type.rawValue) references do not record a tree; use save, checkpoint or commit"
        }
    }
}

extension GraceWriter {
    /// Rebases a child branch on its parent's latest promotion: a Rebase reference on the child
    /// whose root is that promotion's (the simulator re-applies its own pending changes after).
    public func rebase(_ childID: BranchID) async throws -> Reference {
        let view = try await database.openReadView(.latest)
        guard var child = try await view.branch(childID) else { throw WriterFailure.missing("branch \(childID)") }
        guard let parentID = child.parentBranchID, let parent = try await view.branch(parentID) else {
            throw WriterFailure.noParent(branch: child.branchName)
        }
        guard let promotion = parent.latestPromotion else { throw WriterFailure.noPromotion(branch: parent.branchName) }
        guard let root = try await view.directoryVersion(promotion.directoryID) else { throw WriterFailure.missing("directory version \(promotion.directoryID)") }
        let rebase = Reference(referenceID: ids.make(), branch: child, root: root, referenceType: .rebase,
                               referenceText: "Rebased on promotion \(promotion.referenceID)", links: [.basedOn(promotion.referenceID)],
                               createdBy: principal, createdAt: now())
        child.basedOn = promotion
        child.recordLatest(rebase)
        try await commit([.reference(rebase), .branch(child)],
                         events: [(.referenceCreated, rebase, child.repositoryID), (.branchRebased, rebase, child.repositoryID)])
        return rebase
    }
}

extension GraceWriter {
    /// Grace's Assign: records `tree` as a Promotion directly on a branch, with no child branch.
    /// Used to replay an outside history (a Git repository) as promotions on `main`.
    public func assign(_ tree: WorkingTree, to branchID: BranchID, message: String) async throws -> Recorded {
        var branch = try await requireBranch(branchID)
        let repository = try await requireRepository(branch.repositoryID)
        let (files, uploadedBytes) = try await storeFiles(of: tree, in: repository)
        let (root, created) = try await buildDirectories(files: files, emptyDirectories: tree.emptyDirectories, in: repository)
        let promotion = Reference(referenceID: ids.make(), branch: branch, root: root, referenceType: .promotion, referenceText: message,
                                  createdBy: principal, createdAt: now())
        branch.recordLatest(promotion)
        try await commit(created.map { .directoryVersion($0) } + [.reference(promotion), .branch(branch)],
                         events: created.map { (.directoryVersionCreated, $0, repository.repositoryID) as EventSpec }
                            + [(.referenceCreated, promotion, repository.repositoryID), (.branchAssigned, promotion, repository.repositoryID)])
        rememberDirectories(created, in: repository.repositoryID)
        return Recorded(reference: promotion, root: root, files: files, newDirectoryVersions: created.count, uploadedBytes: uploadedBytes)
    }
}
