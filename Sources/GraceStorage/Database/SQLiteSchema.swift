import GRDB

/// The SQLite schema of the storage contract, version 1. docs/storage-contract.md describes
/// every table and column; change both in one commit.
enum SQLiteSchema {
    static let version = 1
    /// Raised whenever `statements` change, and kept in SQLite's `user_version`: an open of a
    /// database they have all been applied to reads two values and writes nothing.
    static let statementsRevision = 2

    /// Entity tables: the Grace JSON document plus the columns that queries need. `refs` is
    /// the reference table because REFERENCES is an SQL keyword.
    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS deployment_info (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS owners (
            owner_id TEXT PRIMARY KEY NOT NULL,
            owner_name TEXT NOT NULL,
            document TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS organizations (
            organization_id TEXT PRIMARY KEY NOT NULL,
            owner_id TEXT NOT NULL,
            organization_name TEXT NOT NULL,
            document TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS repositories (
            repository_id TEXT PRIMARY KEY NOT NULL,
            owner_id TEXT NOT NULL,
            organization_id TEXT NOT NULL,
            repository_name TEXT NOT NULL,
            document TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS branches (
            branch_id TEXT PRIMARY KEY NOT NULL,
            repository_id TEXT NOT NULL,
            branch_name TEXT NOT NULL,
            parent_branch_id TEXT,
            document TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS branches_by_repository ON branches (repository_id)",
        """
        CREATE TABLE IF NOT EXISTS refs (
            reference_id TEXT PRIMARY KEY NOT NULL,
            repository_id TEXT NOT NULL,
            branch_id TEXT NOT NULL,
            reference_type TEXT NOT NULL,
            directory_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            document TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS refs_by_repository ON refs (repository_id)",
        // Run on every open, so a database made before it gains it: an export reads promotions by type.
        "CREATE INDEX IF NOT EXISTS refs_by_repository_and_type ON refs (repository_id, reference_type)",
        """
        CREATE TABLE IF NOT EXISTS directory_versions (
            directory_version_id TEXT PRIMARY KEY NOT NULL,
            repository_id TEXT NOT NULL,
            relative_path TEXT NOT NULL,
            sha256_hash TEXT NOT NULL,
            blake3_hash TEXT NOT NULL,
            document TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS directory_versions_by_hash ON directory_versions (repository_id, sha256_hash)",
        """
        CREATE TABLE IF NOT EXISTS change_feed (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            committed_at TEXT NOT NULL,
            committed_at_ns INTEGER NOT NULL,
            entity_kind TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            repository_id TEXT,
            operation TEXT NOT NULL CHECK (operation IN ('upsert', 'delete')),
            document TEXT
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS event_outbox (
            event_offset INTEGER PRIMARY KEY AUTOINCREMENT,
            event_type TEXT NOT NULL,
            repository_id TEXT,
            correlation_id TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            change_sequence INTEGER NOT NULL,
            envelope TEXT NOT NULL
        )
        """,
    ]

    /// Creates the schema on a new database and refuses one written by a newer version. With
    /// `createIfMissing` false, a file without our schema is refused rather than written into.
    static func migrate(_ db: Database, location: String, createIfMissing: Bool) throws {
        if !createIfMissing, try !db.tableExists("deployment_info") {
            throw StorageFailure(.invalidInput, .open, location: location,
                                 message: "is an SQLite file but not a Grace deployment database (no deployment_info table); nothing was changed")
        }
        for statement in statements { try db.execute(sql: statement) }
        let stored = try String.fetchOne(db, sql: "SELECT value FROM deployment_info WHERE key = 'schema_version'")
        if let stored {
            guard let number = Int(stored), number <= version else {
                throw StorageFailure(.unsupported, .migrate, location: location,
                                     message: "the database has schema version \(stored); this grace-backup knows up to \(version): upgrade grace-backup")
            }
        } else {
            try db.execute(sql: "INSERT INTO deployment_info (key, value) VALUES ('schema_version', ?)", arguments: [String(version)])
        }
        try db.execute(sql: "PRAGMA user_version = \(statementsRevision)")
    }

    /// Whether `migrate` would change nothing: every statement applied, and a schema version this
    /// grace-backup reads. Then opening needs no write transaction (nor to wait for a writer's lock).
    static func isCurrent(_ db: Database) throws -> Bool {
        // sqlite_master asked directly: GRDB's `tableExists` reads the whole schema into its cache first.
        guard try Int.fetchOne(db, sql: "PRAGMA user_version") == statementsRevision,
              try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'deployment_info'") == 1 else { return false }
        let stored = try String.fetchOne(db, sql: "SELECT value FROM deployment_info WHERE key = 'schema_version'")
        return stored.flatMap { Int($0) }.map { $0 <= version } ?? false
    }
}
