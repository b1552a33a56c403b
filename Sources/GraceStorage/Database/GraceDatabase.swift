import GraceModel

/// Grace's events, read from an offset in order: the event stream of the storage contract.
public protocol EventSource: Sendable {
    /// Up to `limit` events with an offset greater than `offset`, in offset order; empty when
    /// there are none yet. Never skips an event that a later call could return before it.
    func events(after offset: Int64, limit: Int) async throws -> [OutboxEvent]
}

/// The database half of a Grace deployment (docs/storage-contract.md): entity documents, the
/// change feed and the event outbox.
///
/// Every conformer keeps these promises:
/// - `apply` commits the entity changes, one change-feed row per change and the events in one
///   transaction; on any error none of it is visible.
/// - Change-feed sequences strictly increase in commit order, and commit times never decrease
///   along them, so a reader that has seen sequence N will never later see a new change below N.
/// - A `.snapshot` read view sees exactly the state as of its `position`, however long it lives
///   and whatever is written meanwhile.
public protocol GraceDatabase: EventSource {
    /// Where the database is, for messages, without credentials.
    var location: String { get }
    /// The schema version this database is at, once opened (opening migrates or refuses).
    var schemaVersion: Int { get }
    func apply(_ transaction: GraceTransaction) async throws -> CommitReceipt
    func openReadView(_ consistency: ReadConsistency) async throws -> any GraceReadView
    /// Up to `limit` change-feed rows after `sequence`, in order.
    func changes(after sequence: Int64, limit: Int) async throws -> [ChangeRecord]
}

public enum ReadConsistency: Sendable {
    /// One read transaction: every read is as of the view's position. Costs a connection while it lives.
    case snapshot
    /// Each read sees the latest committed state: for a single writer's own lookups.
    case latest
}

/// An entity as stored: its id and Grace JSON document.
public struct StoredDocument: Hashable, Sendable {
    public var kind: EntityKind
    public var id: String
    public var json: String

    public init(kind: EntityKind, id: String, json: String) {
        self.kind = kind
        self.id = id
        self.json = json
    }
}

/// Reads of a Grace database; see `ReadConsistency` for what a view promises.
public protocol GraceReadView: Sendable {
    /// The change-feed position the view reads at (for `.latest`, the position when it opened).
    var position: ChangePosition { get }
    /// Every stored document of a kind, in id order; `repositoryID` narrows to one repository
    /// (owners and organizations ignore it).
    func documents(of kind: EntityKind, in repositoryID: RepositoryID?) async throws -> [StoredDocument]
    /// The documents of a kind with these ids, in no particular order; ids with none are left out.
    /// One query for many: an export reads thousands of directory versions.
    func documents(of kind: EntityKind, ids: [String]) async throws -> [StoredDocument]
    /// The references of a repository of these types, in id order: an export needs its promotions
    /// and tags, not the saves and checkpoints that outnumber them.
    func referenceDocuments(in repositoryID: RepositoryID, ofTypes types: [ReferenceType]) async throws -> [StoredDocument]
    /// The directory version of a repository with exactly these hashes, if one is stored.
    func directoryVersionID(in repositoryID: RepositoryID, hashes: FileHashes) async throws -> DirectoryVersionID?
    /// How many rows each entity table holds.
    func counts() async throws -> [EntityKind: Int]
}

/// A stored document that is not the Grace JSON its table promises.
public struct MalformedDocument: BackupFailure {
    public let entityKind: EntityKind
    public let id: String
    public let detail: String

    public init(entityKind: EntityKind, id: String, detail: String) {
        self.entityKind = entityKind
        self.id = id
        self.detail = detail
    }

    public var kind: FailureKind { .integrity }
    public var description: String { "\(entityKind.rawValue) \(id): the stored document does not decode: \(detail)" }
}

/// Read once: `ProcessInfo.activeProcessorCount` reads the system's settings on every call.
let processorCount = ProcessInfo.processInfo.activeProcessorCount

extension GraceReadView {
    /// Decodes a document; a failure names the entity.
    public func decode<Value: Decodable>(_ type: Value.Type, _ document: StoredDocument) throws -> Value {
        do {
            return try GraceJSON.decode(type, from: document.json)
        } catch {
            throw MalformedDocument(entityKind: document.kind, id: document.id, detail: "\(error)")
        }
    }

    public func all<Value: Decodable>(_ type: Value.Type, _ kind: EntityKind, in repositoryID: RepositoryID? = nil) async throws -> [Value] {
        try await documents(of: kind, in: repositoryID).map { try decode(type, $0) }
    }

    public func owners() async throws -> [Owner] { try await all(Owner.self, .owner) }
    public func organizations() async throws -> [Organization] { try await all(Organization.self, .organization) }
    public func repositories() async throws -> [Repository] { try await all(Repository.self, .repository) }
    public func branches(in repositoryID: RepositoryID) async throws -> [Branch] { try await all(Branch.self, .branch, in: repositoryID) }
    public func references(in repositoryID: RepositoryID) async throws -> [Reference] { try await all(Reference.self, .reference, in: repositoryID) }
    /// What an export reads of the references of these types (`ReferenceSummary`).
    public func referenceSummaries(in repositoryID: RepositoryID, ofTypes types: [ReferenceType]) async throws -> [ReferenceSummary] {
        try await referenceDocuments(in: repositoryID, ofTypes: types).map { try decode(ReferenceSummary.self, $0) }
    }

    /// One document, or nil when there is none with that id.
    public func document(of kind: EntityKind, id: String) async throws -> StoredDocument? {
        try await documents(of: kind, ids: [id]).first
    }

    public func one<Value: Decodable>(_ type: Value.Type, _ kind: EntityKind, id: String) async throws -> Value? {
        guard let document = try await document(of: kind, id: id) else { return nil }
        return try decode(type, document)
    }

    public func repository(_ id: RepositoryID) async throws -> Repository? { try await one(Repository.self, .repository, id: id.description) }
    public func branch(_ id: BranchID) async throws -> Branch? { try await one(Branch.self, .branch, id: id.description) }
    public func reference(_ id: ReferenceID) async throws -> Reference? { try await one(Reference.self, .reference, id: id.description) }
    public func directoryVersion(_ id: DirectoryVersionID) async throws -> DirectoryVersion? {
        try await one(DirectoryVersion.self, .directoryVersion, id: id.description)
    }

    /// Directory versions by id, read in one query and decoded on every core; those not stored are
    /// left out, so a caller compares counts.
    public func directoryVersions(_ ids: [DirectoryVersionID]) async throws -> [DirectoryVersion] {
        let documents = try await documents(of: .directoryVersion, ids: ids.map(\.description))
        let batches = decodingBatches(documents)
        guard batches.count > 1 else { return try documents.map { try decode(DirectoryVersion.self, $0) } }
        var directories: [DirectoryVersion] = []
        directories.reserveCapacity(documents.count)
        try await forEachConcurrently(batches, limit: processorCount, { batch in
            try batch.map { try decode(DirectoryVersion.self, $0) }
        }) { directories += $0 }
        return directories
    }
}

/// Documents split into batches of at least `batchBytes` of JSON, in their order: a batch is what one
/// core decodes. By size, not by count: a root directory version lists every file at the root, and a
/// window of them (hundreds of kilobytes each) decoded on one core while the other waited; a level of
/// small ones stays one batch, as handing those to another thread costs more than decoding them.
func decodingBatches(_ documents: [StoredDocument], batchBytes: Int = 256 << 10) -> [[StoredDocument]] {
    var batches: [[StoredDocument]] = [[]]
    var bytes = 0
    for document in documents {
        if bytes >= batchBytes { batches.append([]); bytes = 0 }
        batches[batches.count - 1].append(document)
        bytes += document.json.utf8.count
    }
    return batches
}

import Foundation
