import Foundation
import GraceBackupTesting
import GraceModel
import GracePostgres
import GraceStorage
import PostgresNIO
import Testing

/// What is particular to the PostgreSQL backend: its location, migration and failures.
struct PostgresGraceDatabaseTests {
    @Test func aLocationNeverShowsItsPassword() throws {
        let location = try PostgresLocation(parsing: "postgres://grace:s3cret@db.example:6543/deployments", environment: [:])
        #expect(location.host == "db.example" && location.port == 6543 && location.username == "grace" && location.database == "deployments")
        #expect(location.password == "s3cret")
        #expect(location.description == "postgres://grace@db.example:6543/deployments")
        #expect(try PostgresLocation(parsing: "postgres://grace@db/x", environment: ["PGPASSWORD": "from-env"]).password == "from-env")
        for bad in ["postgres://db/x", "postgres://grace@/x", "postgres://grace@db", "postgres://grace@db/x?sslmode=require", "mysql://grace@db/x"] {
            let failure = #expect(throws: InvalidLocation.self) { try PostgresLocation(parsing: bad, environment: [:]) }
            #expect(failure?.description.contains("postgres://") == true, "\(bad)")
        }
        let hidden = #expect(throws: InvalidLocation.self) { try PostgresLocation(parsing: "postgres://grace:s3cret@db", environment: [:]) }
        #expect(hidden?.description.contains("s3cret") == false)
    }

    @Test func migrationIsIdempotentUpgradesAnOlderSchemaAndRefusesANewerOneOrAForeignDatabase() async throws {
        guard let location = try await PostgresTestServer.newDatabase() else { return }
        let clock: @Sendable () -> Instant = { Instant(secondsSinceEpoch: 1) }
        let empty = await #expect(throws: StorageFailure.self, "an empty database is not a deployment") {
            _ = try await PostgresGraceDatabase(location, mode: .openExisting, now: clock)
        }
        // Refused as no deployment, not for a connection or a query that failed.
        #expect(empty?.reason == .invalidInput && empty?.description.contains("no deployment_info table") == true, "\(String(describing: empty))")
        let first = try await PostgresGraceDatabase(location, mode: .create, now: clock)
        _ = try await first.apply(GraceTransaction(changes: [.owner(Owner(ownerID: OwnerID(UUID()), ownerName: "o", createdAt: Instant(secondsSinceEpoch: 0)))]))
        let again = try await PostgresGraceDatabase(location, mode: .create, now: clock)
        #expect(try await again.openReadView(.latest).counts()[.owner] == 1, "migrating again keeps the data")
        _ = try await PostgresGraceDatabase(location, mode: .openExisting, now: clock)

        // A database at version 1 (before the job table and the references' type index) is brought up
        // to date when opened, its data kept.
        let url = "postgres://\(location.username)@\(location.host):\(location.port)/\(location.database)"
        try await PostgresTestServer.query("DROP TABLE jobs, consumer_partitions", in: url)
        try await PostgresTestServer.query("DROP INDEX refs_by_repository_and_type", in: url)
        try await PostgresTestServer.query("UPDATE deployment_info SET value = '1' WHERE key = 'schema_version'", in: url)
        let upgraded = try await PostgresGraceDatabase(location, mode: .openExisting, now: clock)
        #expect(try await PostgresTestServer.query("SELECT value FROM deployment_info WHERE key = 'schema_version'", in: url) == ["3"])
        #expect(try await upgraded.jobQueue.jobs(openOnly: false).isEmpty, "the job table is there")
        #expect(try await PostgresTestServer.query("SELECT count(*)::text FROM pg_indexes WHERE indexname = 'refs_by_repository_and_type'", in: url) == ["1"])
        #expect(try await upgraded.openReadView(.latest).counts()[.owner] == 1)

        try await PostgresTestServer.query("UPDATE deployment_info SET value = '99' WHERE key = 'schema_version'", in: url)
        let newer = await #expect(throws: StorageFailure.self) { _ = try await PostgresGraceDatabase(location, mode: .openExisting, now: clock) }
        #expect(newer?.reason == .unsupported && newer?.description.contains("schema version 99") == true, "\(newer.map { "\($0)" } ?? "")")
    }

    @Test func wrongCredentialsAndADownServerAreNamed() async throws {
        guard var location = try await PostgresTestServer.newDatabase() else { return }
        let clock: @Sendable () -> Instant = { Instant(secondsSinceEpoch: 1) }
        location.password = "wrong"
        let refused = await #expect(throws: StorageFailure.self) { _ = try await PostgresGraceDatabase(location, mode: .create, now: clock) }
        #expect(refused?.description.contains("password authentication failed for user \"grace\"") == true, "\(refused.map { "\($0)" } ?? "")")
        #expect(refused?.description.contains("wrong") == false)
        location.port = 9
        let down = await #expect(throws: StorageFailure.self) { _ = try await PostgresGraceDatabase(location, mode: .create, now: clock) }
        #expect(down?.reason == .unavailable && down?.description.contains("postgres://grace@127.0.0.1:9/") == true, "\(down.map { "\($0)" } ?? "")")
    }
}
