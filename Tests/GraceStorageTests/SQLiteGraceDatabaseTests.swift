import Foundation
import GraceModel
import GraceStorage
import Testing

struct SQLiteGraceDatabaseTests {
    // The contract's promises (entities, feed, outbox, snapshot views, concurrent writers) are in
    // GracePostgresTests/GraceDatabaseContractTests, run against SQLite and PostgreSQL alike.

    @Test func openingAMissingDatabaseIsNotFound() {
        #expect(throws: StorageFailure.self) { try SQLiteGraceDatabase(path: "/nonexistent/g.sqlite", mode: .openExisting, now: { Instant(secondsSinceEpoch: 0) }) }
    }
}
