import Foundation
import GraceBackupTesting
import GraceModel
import GracePostgres
@testable import GraceStorage
import PostgresNIO
import Testing

/// The storage contract's database promises, the same tests against each backend: the embedded
/// SQLite file and a real PostgreSQL 15 server (GRACE_POSTGRES_TEST_URL, started by scripts/test;
/// each test gets a database of its own).
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }

    /// A new, empty Grace database on this backend; nil when PostgreSQL is not there (which fails
    /// the test when scripts/test asked for every tool).
    func makeDatabase(now: @escaping @Sendable () -> Instant) async throws -> (any GraceDatabase)? {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contract-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return try SQLiteGraceDatabase(path: folder.appendingPathComponent("g.sqlite").path, mode: .create, now: now)
        case .postgres:
            guard let server = try await PostgresTestServer.newDatabase() else { return nil }
            return try await PostgresGraceDatabase(server, mode: .create, now: now)
        }
    }
}

extension PostgresTestServer {
    static func newDatabase() async throws -> PostgresLocation? {
        try await newDatabaseURL().map { try PostgresLocation(parsing: $0) }
    }
}

struct GraceDatabaseContractTests {
    static func owner(_ name: String) -> Owner { Owner(ownerID: OwnerID(UUID()), ownerName: name, createdAt: Instant(secondsSinceEpoch: 0)) }

    @Test(arguments: Backend.allCases)
    func appliesEntityChangeFeedAndOutboxTogether(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: 100) }) else { return }
        let first = Self.owner("a")
        let event = try GraceEvent(type: .ownerCreated, payload: first, metadata: EventMetadata(timestamp: first.createdAt, correlationID: "c", principal: "p"))
        let receipt = try await database.apply(GraceTransaction(changes: [.owner(first)], events: [(event, nil)]))
        #expect(receipt.position.sequence == 1)
        let changes = try await database.changes(after: 0, limit: 10)
        #expect(changes.count == 1)
        #expect(changes[0].kind == .owner && changes[0].entityID == first.ownerID.description)
        #expect(try GraceJSON.decode(Owner.self, from: Data(changes[0].document!.utf8)) == first)
        let events = try await database.events(after: 0, limit: 10)
        #expect(events.map(\.event.type) == [.ownerCreated])
        #expect(events[0].changeSequence == 1)
        var renamed = first
        renamed.ownerName = "renamed"
        _ = try await database.apply(GraceTransaction(changes: [.owner(renamed)]))
        #expect(try await database.openReadView(.latest).owners().map(\.ownerName) == ["renamed"], "an upsert replaces the row")
        _ = try await database.apply(GraceTransaction(changes: [.deletion(.owner, id: first.ownerID.description, repositoryID: nil)]))
        let after = try await database.changes(after: 2, limit: 10)
        #expect(after.map(\.document) == [nil])
        #expect(try await database.openReadView(.latest).owners().isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func oneTransactionChangingAnEntityTwiceLeavesItsLastChangeAndFeedsBoth(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: 1) }) else { return }
        let kept = Self.owner("first"), dropped = Self.owner("dropped")
        var renamed = kept
        renamed.ownerName = "renamed"
        let receipt = try await database.apply(GraceTransaction(changes: [
            .owner(kept), .owner(dropped), .owner(renamed), .deletion(.owner, id: dropped.ownerID.description, repositoryID: nil),
        ]))
        #expect(receipt.firstSequence == 1 && receipt.position.sequence == 4)
        #expect(try await database.openReadView(.latest).owners().map(\.ownerName) == ["renamed"])
        let feed = try await database.changes(after: 0, limit: 10)
        #expect(feed.map(\.sequence) == [1, 2, 3, 4] && feed.map(\.entityID) == [kept, dropped, kept, dropped].map(\.ownerID.description))
        #expect(feed[3].document == nil && feed[2].document?.contains("renamed") == true)
        // Many rows in one transaction: more than one statement's worth.
        let many = (0..<2500).map { EntityChange.owner(Self.owner("bulk-\($0)")) }
        _ = try await database.apply(GraceTransaction(changes: many))
        #expect(try await database.openReadView(.latest).counts()[.owner] == 2501)
        #expect(try await database.changes(after: 4, limit: 5000).map(\.sequence) == Array(5...2504))
    }

    @Test(arguments: Backend.allCases)
    func readsManyDocumentsByIDInOneCall(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: 1) }) else { return }
        let owners = (0..<1200).map { Self.owner("owner-\($0)") }
        _ = try await database.apply(GraceTransaction(changes: owners.map { .owner($0) }))
        let view = try await database.openReadView(.snapshot)
        // More ids than one SQLite statement binds, an id twice, and ids that are not there.
        let wanted = owners.enumerated().filter { $0.offset % 3 != 0 }.map(\.element)
        let ids = wanted.map(\.ownerID.description) + [wanted[0].ownerID.description, UUID().uuidString.lowercased(), "not-an-id"]
        let documents = try await view.documents(of: .owner, ids: ids)
        #expect(Set(documents.map(\.id)) == Set(wanted.map(\.ownerID.description)))
        #expect(Set(try documents.map { try view.decode(Owner.self, $0) }) == Set(wanted))
        #expect(try await view.documents(of: .owner, ids: []).isEmpty)
        #expect(try await view.document(of: .owner, id: owners[0].ownerID.description)?.id == owners[0].ownerID.description)
        #expect(try await view.document(of: .owner, id: "missing") == nil)
    }

    @Test(arguments: Backend.allCases)
    func readsTheReferencesOfARepositoryByType(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: 1) }) else { return }
        let owner = Self.owner("o")
        let repositories = ["one", "two"].map {
            Repository(repositoryID: RepositoryID(UUID()), ownerID: owner.ownerID, organizationID: OrganizationID(UUID()), repositoryName: $0, createdAt: owner.createdAt)
        }
        var changes: [EntityChange] = [.owner(owner)]
        var expected: [ReferenceType: [String]] = [:]
        for (index, repository) in repositories.enumerated() {
            let branch = Branch(branchID: BranchID(UUID()), branchName: "main", parentBranchID: nil, repository: repository, createdAt: owner.createdAt)
            let root = DirectoryVersion(directoryVersionID: DirectoryVersionID(UUID()), repository: repository, relativePath: ".",
                                        hashes: FileHashes(sha256: "s", blake3: "b"), directories: [], files: [], size: 0, createdAt: owner.createdAt)
            changes += [.repository(repository), .branch(branch), .directoryVersion(root)]
            for (number, type) in [ReferenceType.save, .promotion, .save, .checkpoint, .tag, .commit, .promotion, .save].enumerated() {
                let reference = Reference(referenceID: ReferenceID(UUID()), branch: branch, root: root, referenceType: type, referenceText: "\(number)",
                                          createdBy: "p", createdAt: Instant(secondsSinceEpoch: Int64(number)))
                changes.append(.reference(reference))
                if index == 0 { expected[type, default: []].append(reference.referenceID.description) }
            }
        }
        _ = try await database.apply(GraceTransaction(changes: changes))
        let view = try await database.openReadView(.snapshot)
        let first = repositories[0].repositoryID
        let promotionsAndTags = try await view.referenceDocuments(in: first, ofTypes: [.promotion, .tag]).map(\.id)
        #expect(promotionsAndTags == (expected[.promotion]! + expected[.tag]!).sorted(), "only this repository's, of these types, in id order")
        #expect(try await view.referenceSummaries(in: first, ofTypes: [.save]).map(\.referenceID.description).sorted() == expected[.save]!.sorted())
        #expect(try await view.referenceSummaries(in: first, ofTypes: [.rebase]).isEmpty)
    }

    /// Directory versions whose documents are larger than one decoding batch (a root that lists a thousand
    /// files) are decoded across cores and read back whole, small ones with them, none lost or repeated.
    @Test(arguments: Backend.allCases)
    func readsLargeAndSmallDirectoryVersionsByID(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: 1) }) else { return }
        let owner = Self.owner("o")
        let repository = Repository(repositoryID: RepositoryID(UUID()), ownerID: owner.ownerID, organizationID: OrganizationID(UUID()),
                                    repositoryName: "large", createdAt: owner.createdAt)
        let written = (0..<9).map { number in
            let files = (0..<(number % 3 == 0 ? 1_000 : 2)).map { index in
                FileVersion(relativePath: "d\(number)/file\(index).txt", hashes: FileHashes(sha256: String(repeating: "5", count: 64), blake3: String(repeating: "b", count: 64)), isBinary: false,
                            size: Int64(index), createdAt: owner.createdAt, blobUri: "blob\(number)-\(index)")
            }
            return DirectoryVersion(directoryVersionID: DirectoryVersionID(UUID()), repository: repository, relativePath: "d\(number)",
                                    hashes: FileHashes(sha256: "s\(number)", blake3: "b\(number)"), directories: [], files: files, size: 0, createdAt: owner.createdAt)
        }
        _ = try await database.apply(GraceTransaction(changes: [.owner(owner), .repository(repository)] + written.map { .directoryVersion($0) }))
        let view = try await database.openReadView(.snapshot)
        let documents = try await view.documents(of: .directoryVersion, ids: written.map(\.directoryVersionID.description))
        #expect(decodingBatches(documents).count > 2, "the large documents make several batches")
        let read = try await view.directoryVersions(written.map(\.directoryVersionID) + [DirectoryVersionID(UUID())])
        #expect(read.count == written.count)
        #expect(Set(read) == Set(written))
    }

    @Test(arguments: Backend.allCases)
    func commitTimesNeverGoBackward(_ backend: Backend) async throws {
        let times = LockedCounter(values: [500, 400, 600])
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: times.next()) }) else { return }
        for name in ["a", "b", "c"] { _ = try await database.apply(GraceTransaction(changes: [.owner(Self.owner(name))])) }
        let committed = try await database.changes(after: 0, limit: 10).map(\.committedAt)
        #expect(committed == [Instant(secondsSinceEpoch: 500), Instant(secondsSinceEpoch: 500), Instant(secondsSinceEpoch: 600)])
    }

    @Test(arguments: Backend.allCases)
    func aSnapshotViewIgnoresLaterWrites(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(secondsSinceEpoch: 1) }) else { return }
        _ = try await database.apply(GraceTransaction(changes: [.owner(Self.owner("before"))]))
        let view = try await database.openReadView(.snapshot)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 { group.addTask { _ = try await database.apply(GraceTransaction(changes: [.owner(Self.owner("after-\(index)"))])) } }
            try await group.waitForAll()
        }
        #expect(view.position.sequence == 1)
        #expect(try await view.owners().map(\.ownerName) == ["before"])
        #expect(try await view.counts()[.owner] == 1)
        #expect(try await database.openReadView(.latest).counts()[.owner] == 21)
        let sequences = try await database.changes(after: 0, limit: 100).map(\.sequence)
        #expect(sequences == Array(1...21))
    }

    /// Writers commit concurrently while a reader follows the feed: it must never see a sequence
    /// before an earlier one that a slower transaction has not committed yet (it would skip it for
    /// good), so every batch it reads starts right after the last sequence it saw.
    @Test(arguments: Backend.allCases)
    func aReaderFollowingTheFeedUnderConcurrentWritersNeverSkipsAChange(_ backend: Backend) async throws {
        guard let database = try await backend.makeDatabase(now: { Instant(Date()) }) else { return }
        let writers = 8, transactionsEach = 15, rowsEach = 4
        let finished = LockedFlag()
        let writing = Task {
            defer { finished.set() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for transaction in 0..<transactionsEach {
                            let owners = (0..<rowsEach).map { Self.owner("w\(writer)-t\(transaction)-\($0)") }
                            _ = try await database.apply(GraceTransaction(changes: owners.map { .owner($0) }))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var seen: Int64 = 0
        var gaps: [String] = []
        let total = Int64(writers * transactionsEach * rowsEach)
        // Follow until the writers have stopped (finished or failed) and a read after that finds nothing new.
        while true {
            let writersStopped = finished.isSet
            let batch = try await database.changes(after: seen, limit: 1_000)
            for change in batch {
                if change.sequence != seen + 1 { gaps.append("after \(seen) came \(change.sequence)") }
                seen = change.sequence
            }
            if batch.isEmpty && writersStopped { break }
        }
        try await writing.value
        #expect(gaps.isEmpty, "\(gaps)")
        #expect(seen == total)
    }
}

final class LockedFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private var value = false
    private let lock = NSLock()
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

final class LockedCounter: @unchecked Sendable {
    // Guarded by `lock`.
    private var values: [Int64]
    private let lock = NSLock()
    init(values: [Int64]) { self.values = values }
    func next() -> Int64 { lock.withLock { values.count > 1 ? values.removeFirst() : values[0] } }
}
