import GraceModel
import GraceStorage
import PostgresNIO

/// Reads of the PostgreSQL database: through the pool (`.latest`), or through one snapshot
/// session (`.snapshot`), whose every query sees the database as of the view's position.
struct PostgresReadView: GraceReadView {
    let session: SnapshotSession?
    let pool: PostgresConnectionPool
    let position: ChangePosition
    let location: String

    static func readPosition(_ run: (PostgresQuery) async throws -> [PostgresRow]) async throws -> ChangePosition {
        guard let row = try await run("SELECT sequence, committed_at_ns FROM change_feed ORDER BY sequence DESC LIMIT 1").first else {
            return ChangePosition(sequence: 0, committedAt: nil)
        }
        let (sequence, committedAt) = try row.decode((Int64, Int64).self)
        return ChangePosition(sequence: sequence, committedAt: Instant(nanosecondsSinceEpoch: committedAt))
    }

    /// Runs a query and decodes every row, as the contract's failure when it fails.
    func rows<Value>(_ query: PostgresQuery, decode: (PostgresRow) throws -> Value) async throws -> [Value] {
        do {
            let rows = if let session { try await session.rows(query) } else { try await pool.query(query) }
            return try rows.map(decode)
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
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds)) { row in
            let (id, json) = try row.decode((String, String).self)
            return StoredDocument(kind: kind, id: id, json: json)
        }
    }

    func documents(of kind: EntityKind, ids: [String]) async throws -> [StoredDocument] {
        let (table, idColumn) = kind.table
        var binds = PostgresBindings()
        binds.append(ids)
        return try await rows(PostgresQuery(unsafeSQL: "SELECT \(idColumn), document FROM \(table) WHERE \(idColumn) = ANY($1)", binds: binds)) { row in
            let (id, json) = try row.decode((String, String).self)
            return StoredDocument(kind: kind, id: id, json: json)
        }
    }

    func referenceDocuments(in repositoryID: RepositoryID, ofTypes types: [ReferenceType]) async throws -> [StoredDocument] {
        let query: PostgresQuery = """
            SELECT reference_id, document FROM refs WHERE repository_id = \(repositoryID.description) AND reference_type = ANY(\(types.map(\.rawValue)))
            ORDER BY reference_id COLLATE "C"
            """
        return try await rows(query) { row in
            let (id, json) = try row.decode((String, String).self)
            return StoredDocument(kind: .reference, id: id, json: json)
        }
    }

    func directoryVersionID(in repositoryID: RepositoryID, hashes: FileHashes) async throws -> DirectoryVersionID? {
        try await rows("""
            SELECT directory_version_id FROM directory_versions
            WHERE repository_id = \(repositoryID.description) AND sha256_hash = \(hashes.sha256) AND blake3_hash = \(hashes.blake3) LIMIT 1
            """) { try $0.decode(String.self) }.first.flatMap { DirectoryVersionID($0) }
    }

    func counts() async throws -> [EntityKind: Int] {
        var counts: [EntityKind: Int] = [:]
        for kind in EntityKind.allCases {
            counts[kind] = try await rows(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(kind.table.name)")) {
                Int(try $0.decode(Int64.self))
            }.first ?? 0
        }
        return counts
    }
}
