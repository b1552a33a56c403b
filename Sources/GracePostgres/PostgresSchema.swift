import GraceStorage
import Logging
import PostgresNIO

/// The PostgreSQL schema: version 1 is the storage contract's tables, the SQLite schema's tables
/// and columns (docs/storage-contract.md) with BIGINT sequences (change both in one commit);
/// version 2 adds what only a server offers, the job table and consumer groups (docs/workers.md);
/// version 3 indexes references by type (an export reads promotions, not the saves around them).
/// Each version's statements run once, in order, in the migration's one transaction.
enum PostgresSchema {
    static var version: Int { migrations.count }

    static let migrations: [[String]] = [contract, workers, referencesByType]

    static let contract: [String] = [
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

    /// Leases are timed by the server's clock alone, so workers' clocks may disagree.
    static let workers: [String] = [
        """
        CREATE TABLE IF NOT EXISTS jobs (job_id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, scope TEXT NOT NULL, parameters TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
            available_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), lease_owner TEXT, lease_expires_at TIMESTAMPTZ, heartbeat_at TIMESTAMPTZ,
            enqueued_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), finished_at TIMESTAMPTZ, result TEXT, last_error TEXT)
        """,
        // One queued job per kind and scope: adding what is already waiting adds nothing. A job added
        // while one runs is queued, since the running one may have read too early to include its cause.
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_queued_per_scope ON jobs (kind, scope) WHERE state = 'queued'",
        "CREATE INDEX IF NOT EXISTS jobs_open ON jobs (job_id) WHERE state IN ('queued', 'running')",
        """
        CREATE TABLE IF NOT EXISTS consumer_partitions (group_name TEXT NOT NULL, partition INTEGER NOT NULL, partitions INTEGER NOT NULL,
            position BIGINT NOT NULL DEFAULT 0, generation BIGINT NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires_at TIMESTAMPTZ,
            checked_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity', PRIMARY KEY (group_name, partition))
        """,
    ]

    static let referencesByType: [String] = [
        "CREATE INDEX IF NOT EXISTS refs_by_repository_and_type ON refs (repository_id, reference_type)",
    ]

    /// Writers take this transaction-scoped advisory lock first; migrations too.
    static let writerLock: Int64 = 0x4752_4143_4500  // "GRACE"

    /// Applies the versions the database lacks (idempotent) and refuses a database written by a
    /// newer version. With `createIfMissing` false, a database without our schema is refused, not
    /// written into; one at an older version is upgraded either way.
    static func migrate(_ connection: PostgresConnection, location: String, createIfMissing: Bool, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(writerLock))", logger: logger)
            let exists = try await connection.query("SELECT to_regclass('deployment_info') IS NOT NULL", logger: logger)
                .decode(Bool.self).first { _ in true } ?? false
            if !exists && !createIfMissing {
                throw StorageFailure(.invalidInput, .open, location: location,
                                     message: "the database holds no Grace deployment (no deployment_info table); `grace-backup migrate` creates one")
            }
            var stored = 0
            if exists {
                let text = try await connection.query("SELECT value FROM deployment_info WHERE key = 'schema_version'", logger: logger)
                    .decode(String.self).first { _ in true }
                guard let text, let number = Int(text) else {
                    throw StorageFailure(.integrity, .migrate, location: location, message: "deployment_info holds no valid schema_version")
                }
                guard number <= version else {
                    throw StorageFailure(.unsupported, .migrate, location: location,
                                         message: "the database has schema version \(number); this grace-backup knows up to \(version): upgrade grace-backup")
                }
                stored = number
            }
            guard stored < version else { return }
            for statements in migrations[stored...] {
                for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            }
            try await connection.query("""
                INSERT INTO deployment_info (key, value) VALUES ('schema_version', \(String(version)))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
        }
    }
}
