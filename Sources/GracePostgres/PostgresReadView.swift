import GraceModel
import GraceStorage
import PostgresNIO

/// Reads of the PostgreSQL database: through the pool (`.latest`), or through one snapshot
/// session (`.snapshot`), whose every query sees the database as of the view's position.
struct PostgresReadView: GraceReadView {
    let session: SnapshotSession?
    let client: PostgresClient
    let position: ChangePosition
    let location: String

    static func readPosition(_ run: (PostgresQuery) async throws -> PostgresRowSequence) async throws -> ChangePosition {
        for try await (sequence, committedAt) in try await run("SELECT sequence, committed_at_ns FROM change_feed ORDER BY sequence DESC LIMIT 1")
            .decode((Int64, Int64).self) {
            return ChangePosition(sequence: sequence, committedAt: Instant(nanosecondsSinceEpoch: committedAt))
        }
        return ChangePosition(sequence: 0, committedAt: nil)
    }

    func run(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        if let session { return try await session.query(query) }
        return try await client.query(query)
    }

    /// Runs a query and decodes every row, as the contract's failure when it fails.
    func rows<Rows: AsyncSequence>(_ query: PostgresQuery, decode: (PostgresRowSequence) -> Rows) async throws -> [Rows.Element] {
        do {
            var rows: [Rows.Element] = []
            for try await row in decode(try await run(query)) { rows.append(row) }
            return rows
        } catch {
            throw PostgresGraceDatabase.failure(error, .query, location: location, what: "the query failed")
        }
    }

    func documents(of kind: EntityKind, in repositoryID: RepositoryID?) async throws -> [StoredDocument] {
        let (table, idColumn) = kind.table
        var binds = PostgresBindings()
        var sql = "SELECT \(idColumn), document FROM \(table)"
        if let repositoryID, kind != .owner, kind != .organization {
            sql += " WHERE repository_id = $1"
            binds.append(repositoryID.description)
        }
        sql += " ORDER BY \(idColumn) COLLATE \"C\""
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds)) {
            $0.decode((String, String).self).map { StoredDocument(kind: kind, id: $0.0, json: $0.1) }
        }
    }

    func document(of kind: EntityKind, id: String) async throws -> StoredDocument? {
        let (table, idColumn) = kind.table
        var binds = PostgresBindings()
        binds.append(id)
        return try await rows(PostgresQuery(unsafeSQL: "SELECT document FROM \(table) WHERE \(idColumn) = $1", binds: binds)) {
            $0.decode(String.self).map { StoredDocument(kind: kind, id: id, json: $0) }
        }.first
    }

    func directoryVersionID(in repositoryID: RepositoryID, hashes: FileHashes) async throws -> DirectoryVersionID? {
        try await rows("""
            SELECT directory_version_id FROM directory_versions
            WHERE repository_id = \(repositoryID.description) AND sha256_hash = \(hashes.sha256) AND blake3_hash = \(hashes.blake3) LIMIT 1
            """) { $0.decode(String.self).map { $0 } }.first.flatMap { DirectoryVersionID($0) }
    }

    func counts() async throws -> [EntityKind: Int] {
        var counts: [EntityKind: Int] = [:]
        for kind in EntityKind.allCases {
            counts[kind] = try await rows(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(kind.table.name)")) {
                $0.decode(Int64.self).map { Int($0) }
            }.first ?? 0
        }
        return counts
    }
}
