import Foundation
import GRDB
import GraceModel

/// The embedded Grace database: one SQLite file in WAL mode, so snapshots read while the
/// writer writes.
public struct SQLiteGraceDatabase: GraceDatabase {
    let pool: DatabasePool
    let now: @Sendable () -> Instant
    public let location: String
    public var schemaVersion: Int { SQLiteSchema.version }

    /// Opens (and with `.create`, creates) the database file at `path`; with `.readOnly`, for reading
    /// only (opened read-write all the same when its schema needs migrating first).
    /// - Throws: `.notFound` when the file is missing and `mode` is not `.create`.
    public init(path: String, mode: OpenMode, now: @escaping @Sendable () -> Instant) throws {
        location = "sqlite://\(path)"
        if mode != .create, !FileManager.default.fileExists(atPath: path) {
            throw StorageFailure(.notFound, .open, location: location, message: "the database file does not exist")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.readonly = mode == .readOnly
        do {
            var opened = try DatabasePool(path: path, configuration: configuration)
            if configuration.readonly, try !opened.read(SQLiteSchema.isCurrent) {
                configuration.readonly = false  // migrated first, as by any open
                opened = try DatabasePool(path: path, configuration: configuration)
            }
            pool = opened
            if !configuration.readonly {
                // FULL makes every commit durable: an acknowledged operation survives a power cut. Set on
                // the writer after the pool opened: GRDB sets NORMAL when it turns WAL on, after
                // `prepareDatabase` has run, and NORMAL lets the last commits go with the power.
                try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
                let location = self.location
                let createIfMissing = mode == .create
                if try !pool.read(SQLiteSchema.isCurrent) {
                    try pool.write { db in try SQLiteSchema.migrate(db, location: location, createIfMissing: createIfMissing) }
                }
            }
        } catch let failure as StorageFailure {
            throw failure
        } catch {
            throw StorageFailure(.unavailable, .open, location: location, message: "cannot open the database", underlying: error)
        }
        self.now = now
    }

    public enum OpenMode: Sendable { case create, openExisting, readOnly }

    public func apply(_ transaction: GraceTransaction) async throws -> CommitReceipt {
        let clock = now
        let rows = try transaction.changes.map { change in (change, try change.document()) }
        let events = try transaction.events.map { entry in (entry, try entry.event.envelopeJSON()) }
        return try await write { db in
            let last = try Int64.fetchOne(db, sql: "SELECT committed_at_ns FROM change_feed ORDER BY sequence DESC LIMIT 1") ?? Int64.min
            // Commit times never decrease along the feed, even if the wall clock steps back.
            let committedAt = Instant(nanosecondsSinceEpoch: max(clock().nanosecondsSinceEpoch, last))
            var firstSequence: Int64 = 0
            var lastSequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'") ?? 0
            for (change, document) in rows {
                try store(change, document: document, in: db)
                try db.execute(
                    sql: """
                        INSERT INTO change_feed (committed_at, committed_at_ns, entity_kind, entity_id, repository_id, operation, document)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [committedAt.description, committedAt.nanosecondsSinceEpoch, change.kind.rawValue, change.entityID,
                                change.repositoryID?.description, document == nil ? "delete" : "upsert", document])
                lastSequence = db.lastInsertedRowID
                if firstSequence == 0 { firstSequence = lastSequence }
            }
            for (entry, envelope) in events {
                try db.execute(
                    sql: """
                        INSERT INTO event_outbox (event_type, repository_id, correlation_id, recorded_at, change_sequence, envelope)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [entry.event.type.description, entry.repositoryID?.description, entry.event.metadata.correlationID,
                                committedAt.description, lastSequence, String(decoding: envelope, as: UTF8.self)])
            }
            return CommitReceipt(position: ChangePosition(sequence: lastSequence, committedAt: committedAt), firstSequence: firstSequence)
        }
    }

    private func store(_ change: EntityChange, document: String?, in db: Database) throws {
        let (table, idColumn) = change.kind.table
        guard let document else {
            try db.execute(sql: "DELETE FROM \(table) WHERE \(idColumn) = ?", arguments: [change.entityID])
            return
        }
        let columns = change.indexedColumns
        let names = [idColumn] + columns.map(\.name) + ["document"]
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let values: [(any DatabaseValueConvertible)?] = [change.entityID] + columns.map(\.value) + [document]
        try db.execute(sql: "INSERT OR REPLACE INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(placeholders))",
                       arguments: StatementArguments(values))
    }

    public func openReadView(_ consistency: ReadConsistency) async throws -> any GraceReadView {
        switch consistency {
        case .snapshot:
            let snapshot = try wrap(.query) { try pool.makeSnapshot() }
            let position = try await SQLiteReadView.readPosition(snapshot, location: location)
            return SQLiteReadView(reader: snapshot, position: position, location: location)
        case .latest:
            let position = try await SQLiteReadView.readPosition(pool, location: location)
            return SQLiteReadView(reader: pool, position: position, location: location)
        }
    }

    public func changes(after sequence: Int64, limit: Int) async throws -> [ChangeRecord] {
        let rows = try await read { db in
            try Row.mapped(db, sql: """
                SELECT sequence, committed_at_ns, entity_kind, entity_id, repository_id, document
                FROM change_feed WHERE sequence > ? ORDER BY sequence LIMIT ?
                """, arguments: [sequence, limit]) { row -> (Int64, Int64, String, String, String?, String?) in
                (row[0], row[1], row[2], row[3], row[4], row[5])
            }
        }
        return try rows.map { sequence, committedAt, kindName, entityID, repositoryText, document in
            guard let kind = EntityKind(rawValue: kindName) else {
                throw StorageFailure(.integrity, .query, key: "change_feed/\(sequence)", location: location, message: "unknown entity kind \(kindName)")
            }
            var repositoryID: RepositoryID?
            if let repositoryText {
                guard let parsed = RepositoryID(repositoryText) else {
                    throw StorageFailure(.integrity, .query, key: "change_feed/\(sequence)", location: location, message: "repository_id \(repositoryText) is not a Guid")
                }
                repositoryID = parsed
            }
            return ChangeRecord(sequence: sequence, committedAt: Instant(nanosecondsSinceEpoch: committedAt), kind: kind, entityID: entityID,
                                repositoryID: repositoryID, document: document)
        }
    }

    public func events(after offset: Int64, limit: Int) async throws -> [OutboxEvent] {
        let rows = try await read { db in
            try Row.mapped(db, sql: """
                SELECT event_offset, event_type, repository_id, change_sequence, envelope
                FROM event_outbox WHERE event_offset > ? ORDER BY event_offset LIMIT ?
                """, arguments: [offset, limit]) { row -> (Int64, String, String?, Int64, String) in
                (row[0], row[1], row[2], row[3], row[4])
            }
        }
        return try rows.map { offset, typeName, repositoryID, changeSequence, envelope in
            guard let type = GraceEventType(parsing: typeName) else {
                throw StorageFailure(.integrity, .query, key: "event_outbox/\(offset)", location: location, message: "unknown event type \(typeName)")
            }
            return OutboxEvent(offset: offset, event: try GraceEvent(outboxRow: offset, type: type, envelope: envelope, location: location),
                               repositoryID: repositoryID.flatMap { RepositoryID($0) }, changeSequence: changeSequence)
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let failure as any BackupFailure {
            throw failure
        } catch {
            throw StorageFailure(.unavailable, .write, location: location, message: "the transaction failed", underlying: error)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StorageFailure(.unavailable, .query, location: location, message: "the query failed", underlying: error)
        }
    }

    private func wrap<T>(_ operation: StorageFailure.Operation, _ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            throw StorageFailure(.unavailable, operation, location: location, message: "SQLite failed", underlying: error)
        }
    }
}

/// Reads through a GRDB reader: a `DatabaseSnapshot` (one read transaction) or the pool.
struct SQLiteReadView: GraceReadView {
    let reader: any DatabaseReader
    let position: ChangePosition
    let location: String

    static func readPosition(_ reader: any DatabaseReader, location: String) async throws -> ChangePosition {
        do {
            return try await reader.read { db in
                let row = try Row.fetchOne(db, sql: "SELECT sequence, committed_at_ns FROM change_feed ORDER BY sequence DESC LIMIT 1")
                guard let row else { return ChangePosition(sequence: 0, committedAt: nil) }
                return ChangePosition(sequence: row[0], committedAt: Instant(nanosecondsSinceEpoch: row[1]))
            }
        } catch {
            throw StorageFailure(.unavailable, .query, location: location, message: "cannot read the change feed", underlying: error)
        }
    }

    func documents(of kind: EntityKind, in repositoryID: RepositoryID?) async throws -> [StoredDocument] {
        let (table, idColumn) = kind.table
        let filtered = repositoryID != nil && kind != .owner && kind != .organization
        let sql = "SELECT \(idColumn), document FROM \(table)" + (filtered ? " WHERE repository_id = ?" : "") + " ORDER BY \(idColumn)"
        let arguments: StatementArguments = filtered ? [repositoryID!.description] : []
        return try await query { db in
            try Row.mapped(db, sql: sql, arguments: arguments) { StoredDocument(kind: kind, id: $0[0], json: $0[1]) }
        }
    }

    func documents(of kind: EntityKind, ids: [String]) async throws -> [StoredDocument] {
        let (table, idColumn) = kind.table
        return try await query { db in
            // Batches well under SQLite's limit on bound parameters.
            try stride(from: 0, to: ids.count, by: 500).flatMap { start in
                let batch = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: batch.count).joined(separator: ",")
                return try Row.mapped(db, sql: "SELECT \(idColumn), document FROM \(table) WHERE \(idColumn) IN (\(marks))",
                                      arguments: StatementArguments(batch)) { StoredDocument(kind: kind, id: $0[0], json: $0[1]) }
            }
        }
    }

    func referenceDocuments(in repositoryID: RepositoryID, ofTypes types: [ReferenceType]) async throws -> [StoredDocument] {
        let marks = Array(repeating: "?", count: types.count).joined(separator: ",")
        return try await query { db in
            try Row.mapped(db, sql: "SELECT reference_id, document FROM refs WHERE repository_id = ? AND reference_type IN (\(marks)) ORDER BY reference_id",
                           arguments: StatementArguments([repositoryID.description] + types.map(\.rawValue))) { StoredDocument(kind: .reference, id: $0[0], json: $0[1]) }
        }
    }

    func directoryVersionID(in repositoryID: RepositoryID, hashes: FileHashes) async throws -> DirectoryVersionID? {
        try await query { db in
            try String.fetchOne(db, sql: """
                SELECT directory_version_id FROM directory_versions
                WHERE repository_id = ? AND sha256_hash = ? AND blake3_hash = ? LIMIT 1
                """, arguments: [repositoryID.description, hashes.sha256, hashes.blake3])
        }.flatMap { DirectoryVersionID($0) }
    }

    func counts() async throws -> [EntityKind: Int] {
        try await query { db in
            var counts: [EntityKind: Int] = [:]
            for kind in EntityKind.allCases {
                counts[kind] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(kind.table.name)") ?? 0
            }
            return counts
        }
    }

    private func query<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await reader.read(body)
        } catch {
            throw StorageFailure(.unavailable, .query, location: location, message: "the query failed", underlying: error)
        }
    }
}

extension Row {
    /// Each row of a query, mapped as it is read: `Row.fetchAll` copies every row, with its column
    /// names, before a caller sees it, which cost more than decoding the documents of a large read.
    static func mapped<T>(_ db: Database, sql: String, arguments: StatementArguments, _ transform: @escaping (Row) throws -> T) throws -> [T] {
        try Array(Row.fetchCursor(db, sql: sql, arguments: arguments).map(transform))
    }
}
