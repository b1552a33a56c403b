import Foundation
import GRDB
import GraceModel
@testable import GraceStorage
import Testing

struct SQLiteGraceDatabaseTests {
    // The contract's promises (entities, feed, outbox, snapshot views, concurrent writers) are in
    // GracePostgresTests/GraceDatabaseContractTests, run against SQLite and PostgreSQL alike.

    @Test func openingAMissingDatabaseIsNotFound() {
        do {
            _ = try SQLiteGraceDatabase(path: "/nonexistent/g.sqlite", mode: .openExisting, now: { Instant(secondsSinceEpoch: 0) })
            Issue.record("a missing database must not open")
        } catch {
            #expect((error as? StorageFailure)?.reason == .notFound, "\(error)")
        }
    }

    /// An outbox row whose envelope's tag disagrees with its `event_type` is an integrity failure naming
    /// the row (docs/storage-contract.md), not a decoding error that would exit as a bug.
    @Test func anEnvelopeThatDisagreesWithItsTypeIsAnIntegrityFailure() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SQLiteGraceDatabase(path: folder.appendingPathComponent("grace.sqlite").path, mode: .create, now: { Instant(secondsSinceEpoch: 0) })
        let owner = Owner(ownerID: OwnerID(UUID()), ownerName: "o", createdAt: Instant(secondsSinceEpoch: 0))
        let event = try GraceEvent(type: .ownerCreated, payload: owner, metadata: EventMetadata(timestamp: owner.createdAt, correlationID: "c", principal: "p"))
        _ = try await database.apply(GraceTransaction(changes: [.owner(owner)], events: [(event, nil)]))
        #expect(try await database.events(after: 0, limit: 10).map(\.event.type) == [.ownerCreated])
        try await database.pool.write { try $0.execute(sql: "UPDATE event_outbox SET event_type = ?", arguments: [GraceEventType.branchPromoted.description]) }
        let failure = await #expect(throws: StorageFailure.self) { _ = try await database.events(after: 0, limit: 10) }
        #expect(failure?.reason == .integrity && failure?.key == "event_outbox/1", "\(String(describing: failure))")
    }

    /// Every commit is durable: the writer syncs the WAL on each (GRDB's WAL set-up would leave NORMAL).
    @Test func theWriterSyncsEveryCommit() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try SQLiteGraceDatabase(path: folder.appendingPathComponent("grace.sqlite").path, mode: .create, now: { Instant(secondsSinceEpoch: 0) })
        #expect(try database.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2, "2 is FULL")
    }

    /// A reader's open (an export's) writes nothing: the database refuses a write through it. An older
    /// schema is upgraded first all the same, as by any open.
    @Test func aReadOnlyOpenRefusesWritesAndStillUpgradesAnOlderSchema() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-readonly-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("grace.sqlite").path
        let clock: @Sendable () -> Instant = { Instant(secondsSinceEpoch: 0) }
        let indexes = "SELECT count(*) FROM sqlite_master WHERE name = 'refs_by_repository_and_type'"
        _ = try SQLiteGraceDatabase(path: path, mode: .create, now: clock)
        let reader = try SQLiteGraceDatabase(path: path, mode: .readOnly, now: clock)
        #expect(try reader.pool.read { try Int.fetchOne($0, sql: indexes) } == 1)
        do {
            try reader.pool.write { try $0.execute(sql: "INSERT INTO deployment_info (key, value) VALUES ('probe', 'x')") }
            Issue.record("a read-only open must refuse a write")
        } catch {
            #expect((error as? DatabaseError)?.resultCode == .SQLITE_READONLY, "\(error)")
        }

        let current = try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "PRAGMA user_version") }
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DROP INDEX refs_by_repository_and_type")
            try db.execute(sql: "PRAGMA user_version = \(current! - 1)")
        }
        _ = try SQLiteGraceDatabase(path: path, mode: .readOnly, now: clock)
        let upgraded = try DatabaseQueue(path: path).read { (try Int.fetchOne($0, sql: indexes), try Int.fetchOne($0, sql: "PRAGMA user_version")) }
        #expect(upgraded.0 == 1 && upgraded.1 == current)
    }

    /// An open upgrades a database made before the last schema statement, writes nothing to a
    /// current one (so it does not wait for a writer holding the lock), and refuses a newer or a
    /// foreign database whatever its `user_version` says.
    @Test func openingUpgradesAnOlderDatabaseLeavesACurrentOneAloneAndRefusesNewerAndForeignOnes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("grace.sqlite").path
        let clock: @Sendable () -> Instant = { Instant(secondsSinceEpoch: 0) }
        func open() throws { _ = try SQLiteGraceDatabase(path: path, mode: .openExisting, now: clock) }
        func inspect<T>(_ body: (Database) throws -> T) throws -> T { try DatabaseQueue(path: path).read(body) }
        let typeIndex = "SELECT count(*) FROM sqlite_master WHERE name = 'refs_by_repository_and_type'"
        _ = try SQLiteGraceDatabase(path: path, mode: .create, now: clock)
        let current = try inspect { try Int.fetchOne($0, sql: "PRAGMA user_version") }
        let indexes = try inspect { try Int.fetchOne($0, sql: typeIndex) }
        #expect(current != nil && current! > 0 && indexes == 1)

        // As an earlier grace-backup left it: without the newest index, at an earlier revision.
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DROP INDEX refs_by_repository_and_type")
            try db.execute(sql: "PRAGMA user_version = \(current! - 1)")
        }
        try open()
        let upgraded = try inspect { (try Int.fetchOne($0, sql: typeIndex), try Int.fetchOne($0, sql: "PRAGMA user_version")) }
        #expect(upgraded.0 == 1 && upgraded.1 == current)

        // Current: opening needs no write lock, so another writer's open transaction does not hold it up.
        // (The writer's earlier commit keeps the WAL non-empty, as a running Grace's does: GRDB writes
        // to an empty one when it opens.)
        let writer = try DatabaseQueue(path: path)
        try writer.write { try $0.execute(sql: "INSERT INTO deployment_info (key, value) VALUES ('test-probe', 'x')") }
        // The lock is held until the open returns: an open that needed it would fail at its busy timeout.
        try writer.inTransaction(.immediate) { _ in
            try open()
            return .rollback
        }

        // Newer, even when its user_version says nothing changed.
        try writer.write { try $0.execute(sql: "UPDATE deployment_info SET value = '99' WHERE key = 'schema_version'") }
        let newer = #expect(throws: StorageFailure.self) { try open() }
        #expect(newer?.reason == .unsupported && newer?.description.contains("schema version 99") == true, "\(String(describing: newer))")

        // Foreign: an SQLite file of something else, whatever its user_version.
        let foreign = folder.appendingPathComponent("other.sqlite").path
        try DatabaseQueue(path: foreign).write { db in
            try db.execute(sql: "CREATE TABLE notes (text TEXT)")
            try db.execute(sql: "PRAGMA user_version = \(current!)")
        }
        let refused = #expect(throws: StorageFailure.self) { _ = try SQLiteGraceDatabase(path: foreign, mode: .openExisting, now: clock) }
        #expect(refused?.reason == .invalidInput && refused?.description.contains("not a Grace deployment database") == true, "\(String(describing: refused))")
    }
}
