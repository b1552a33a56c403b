import GraceStorage
import Logging
import PostgresNIO

/// The PostgreSQL schema of the storage contract, version 1: the SQLite schema's tables and
/// columns (docs/storage-contract.md), with BIGINT sequences. Change both in one commit.
enum PostgresSchema {
    static let version = 1

    static let statements: [String] = [
        "CREATE TABLE IF NOT EXISTS deployment_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS owners (owner_id TEXT PRIMARY KEY, owner_name TEXT NOT NULL, document TEXT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS organizations (organization_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL,
            organization_name TEXT NOT NULL, document TEXT NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS repositories (repository_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, organization_id TEXT NOT NULL,
            repository_name TEXT NOT NULL, document TEXT NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS branches (branch_id TEXT PRIMARY KEY, repository_id TEXT NOT NULL, branch_name TEXT NOT NULL,
            parent_branch_id TEXT, document TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS branches_by_repository ON branches (repository_id)",
        """
        CREATE TABLE IF NOT EXISTS refs (reference_id TEXT PRIMARY KEY, repository_id TEXT NOT NULL, branch_id TEXT NOT NULL,
            reference_type TEXT NOT NULL, directory_id TEXT NOT NULL, created_at TEXT NOT NULL, document TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS refs_by_repository ON refs (repository_id)",
        """
        CREATE TABLE IF NOT EXISTS directory_versions (directory_version_id TEXT PRIMARY KEY, repository_id TEXT NOT NULL,
            relative_path TEXT NOT NULL, sha256_hash TEXT NOT NULL, blake3_hash TEXT NOT NULL, document TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS directory_versions_by_hash ON directory_versions (repository_id, sha256_hash)",
        """
        CREATE TABLE IF NOT EXISTS change_feed (sequence BIGINT PRIMARY KEY, committed_at TEXT NOT NULL, committed_at_ns BIGINT NOT NULL,
            entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL, repository_id TEXT,
            operation TEXT NOT NULL CHECK (operation IN ('upsert', 'delete')), document TEXT)
        """,
        """
        CREATE TABLE IF NOT EXISTS event_outbox (event_offset BIGINT PRIMARY KEY, event_type TEXT NOT NULL, repository_id TEXT,
            correlation_id TEXT NOT NULL, recorded_at TEXT NOT NULL, change_sequence BIGINT NOT NULL, envelope TEXT NOT NULL)
        """,
    ]

    /// Writers take this transaction-scoped advisory lock first; migrations too.
    static let writerLock: Int64 = 0x4752_4143_4500  // "GRACE"

    /// Creates the schema (idempotent) and refuses a database written by a newer version. With
    /// `createIfMissing` false, a database without our schema is refused, not written into.
    static func migrate(_ connection: PostgresConnection, location: String, createIfMissing: Bool, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(writerLock))", logger: logger)
            let exists = try await connection.query("SELECT to_regclass('deployment_info') IS NOT NULL", logger: logger)
                .decode(Bool.self).first { _ in true } ?? false
            if !exists && !createIfMissing {
                throw StorageFailure(.invalidInput, .open, location: location,
                                     message: "the database holds no Grace deployment (no deployment_info table); `grace-backup migrate` creates one")
            }
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            let stored = try await connection.query("SELECT value FROM deployment_info WHERE key = 'schema_version'", logger: logger)
                .decode(String.self).first { _ in true }
            if let stored {
                guard let number = Int(stored), number <= version else {
                    throw StorageFailure(.unsupported, .migrate, location: location,
                                         message: "the database has schema version \(stored); this grace-backup knows up to \(version): upgrade grace-backup")
                }
            } else {
                try await connection.query("INSERT INTO deployment_info (key, value) VALUES ('schema_version', \(String(version)))", logger: logger)
            }
        }
    }
}
