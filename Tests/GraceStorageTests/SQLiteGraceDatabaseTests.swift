import Foundation
import GraceModel
import GraceStorage
import Testing

struct SQLiteGraceDatabaseTests {
    func owner(_ name: String) -> Owner { Owner(ownerID: OwnerID(UUID()), ownerName: name, createdAt: Instant(secondsSinceEpoch: 0)) }

    @Test func appliesEntityChangeFeedAndOutboxTogether() async throws {
        let folder = try TemporaryFolder()
        let database = try SQLiteGraceDatabase(path: folder.url.appendingPathComponent("g.sqlite").path, mode: .create, now: { Instant(secondsSinceEpoch: 100) })
        let first = owner("a")
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
        _ = try await database.apply(GraceTransaction(changes: [.deletion(.owner, id: first.ownerID.description, repositoryID: nil)]))
        let after = try await database.changes(after: 1, limit: 10)
        #expect(after.map(\.document) == [nil])
        #expect(try await database.openReadView(.latest).owners().isEmpty)
    }

    @Test func commitTimesNeverGoBackward() async throws {
        let folder = try TemporaryFolder()
        let times = LockedCounter(values: [500, 400, 600])
        let database = try SQLiteGraceDatabase(path: folder.url.appendingPathComponent("g.sqlite").path, mode: .create,
                                               now: { Instant(secondsSinceEpoch: times.next()) })
        for name in ["a", "b", "c"] { _ = try await database.apply(GraceTransaction(changes: [.owner(owner(name))])) }
        let committed = try await database.changes(after: 0, limit: 10).map(\.committedAt)
        #expect(committed == [Instant(secondsSinceEpoch: 500), Instant(secondsSinceEpoch: 500), Instant(secondsSinceEpoch: 600)])
    }

    @Test func aSnapshotViewIgnoresLaterWrites() async throws {
        let folder = try TemporaryFolder()
        let database = try SQLiteGraceDatabase(path: folder.url.appendingPathComponent("g.sqlite").path, mode: .create, now: { Instant(secondsSinceEpoch: 1) })
        _ = try await database.apply(GraceTransaction(changes: [.owner(owner("before"))]))
        let view = try await database.openReadView(.snapshot)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 { group.addTask { _ = try await database.apply(GraceTransaction(changes: [.owner(owner("after-\(index)"))])) } }
            try await group.waitForAll()
        }
        #expect(view.position.sequence == 1)
        #expect(try await view.owners().map(\.ownerName) == ["before"])
        #expect(try await view.counts()[.owner] == 1)
        #expect(try await database.openReadView(.latest).counts()[.owner] == 21)
        let sequences = try await database.changes(after: 0, limit: 100).map(\.sequence)
        #expect(sequences == Array(1...21))
    }

    @Test func openingAMissingDatabaseIsNotFound() {
        #expect(throws: StorageFailure.self) { try SQLiteGraceDatabase(path: "/nonexistent/g.sqlite", mode: .openExisting, now: { Instant(secondsSinceEpoch: 0) }) }
    }
}

final class LockedCounter: @unchecked Sendable {
    // Guarded by `lock`.
    private var values: [Int64]
    private let lock = NSLock()
    init(values: [Int64]) { self.values = values }
    func next() -> Int64 { lock.withLock { values.count > 1 ? values.removeFirst() : values[0] } }
}
