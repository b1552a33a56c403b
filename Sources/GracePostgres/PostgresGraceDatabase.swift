import Foundation
import GraceModel
import GraceStorage
import Logging
import NIOCore
import PostgresNIO

/// The Grace database on a PostgreSQL server: the storage contract's tables, change feed and
/// outbox (docs/storage-contract.md), through a pool of connections.
///
/// Change-feed order: every writer takes one transaction-scoped advisory lock before it numbers
/// its rows, and holds it until it commits. So sequence N+1 is numbered only after N's
/// transaction has committed (or rolled back, freeing N), and a reader can never see sequence 11
/// while 10 is still in flight. Writes are serialized, as in SQLite; reads are not.
public final class PostgresGraceDatabase: GraceDatabase {
    public let location: String
    public var schemaVersion: Int { PostgresSchema.version }
    let pool: PostgresConnectionPool
    let now: @Sendable () -> Instant
    let logger = Logger(label: "grace-backup.postgres")

    public enum OpenMode: Sendable { case create, openExisting }

    /// Connects, and migrates the schema (`.create`) or checks it is there (`.openExisting`).
    public init(_ place: PostgresLocation, mode: OpenMode, now: @escaping @Sendable () -> Instant) async throws {
        location = place.description
        var configuration = PostgresConnection.Configuration(host: place.host, port: place.port, username: place.username,
                                                             password: place.password, database: place.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        pool = PostgresConnectionPool(configuration: configuration, maximum: 16, logger: logger)
        self.now = now
        // The pool's first connection migrates, and stays for the queries that follow.
        let (logger, location, createIfMissing) = (self.logger, place.description, mode == .create)
        do {
            try await pool.withConnection { connection in
                try await PostgresSchema.migrate(connection, location: location, createIfMissing: createIfMissing, logger: logger)
            }
        } catch {
            throw Self.failure(error, .open, location: self.location, what: "cannot open the database")
        }
    }

    public func apply(_ transaction: GraceTransaction) async throws -> CommitReceipt {
        let rows = try transaction.changes.map { change in (change, try change.document()) }
        let events = try transaction.events.map { entry in (entry, try entry.event.envelopeJSON()) }
        let clock = now
        let logger = self.logger
        do {
            return try await pool.withConnection { connection in try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLock))", logger: logger)
                var last: (sequence: Int64, nanoseconds: Int64) = (0, .min)
                for try await (sequence, nanoseconds) in try await connection.query(
                    "SELECT sequence, committed_at_ns FROM change_feed ORDER BY sequence DESC LIMIT 1", logger: logger).decode((Int64, Int64).self) {
                    last = (sequence, nanoseconds)
                }
                // Commit times never decrease along the feed, even if the wall clock steps back.
                let committedAt = Instant(nanosecondsSinceEpoch: max(clock().nanosecondsSinceEpoch, last.nanoseconds))
                let firstSequence = last.sequence + 1
                let sequence = last.sequence + Int64(rows.count)
                // A few statements per transaction, not a few per row: on a server every statement is a round trip.
                for statement in try Self.entityStatements(rows) { try await connection.query(statement, logger: logger) }
                var feed = MultiRowInsert(
                    "INSERT INTO change_feed (sequence, committed_at, committed_at_ns, entity_kind, entity_id, repository_id, operation, document)", width: 8)
                for (index, (change, document)) in rows.enumerated() {
                    feed.add { binds in
                        binds.append(firstSequence + Int64(index))
                        binds.append(committedAt.description)
                        binds.append(committedAt.nanosecondsSinceEpoch)
                        binds.append(change.kind.rawValue)
                        binds.append(change.entityID)
                        binds.append(change.repositoryID?.description)
                        binds.append(document == nil ? "delete" : "upsert")
                        binds.append(document)
                    }
                }
                for statement in feed.statements() { try await connection.query(statement, logger: logger) }
                if !events.isEmpty {
                    let lastOffset = try await connection.query("SELECT COALESCE(MAX(event_offset), 0) FROM event_outbox", logger: logger)
                        .decode(Int64.self).first { _ in true } ?? 0
                    var outbox = MultiRowInsert(
                        "INSERT INTO event_outbox (event_offset, event_type, repository_id, correlation_id, recorded_at, change_sequence, envelope)", width: 7)
                    for (index, (entry, envelope)) in events.enumerated() {
                        outbox.add { binds in
                            binds.append(lastOffset + 1 + Int64(index))
                            binds.append(entry.event.type.description)
                            binds.append(entry.repositoryID?.description)
                            binds.append(entry.event.metadata.correlationID)
                            binds.append(committedAt.description)
                            binds.append(sequence)
                            binds.append(String(decoding: envelope, as: UTF8.self))
                        }
                    }
                    for statement in outbox.statements() { try await connection.query(statement, logger: logger) }
                }
                return CommitReceipt(position: ChangePosition(sequence: sequence, committedAt: committedAt), firstSequence: rows.isEmpty ? 0 : firstSequence)
            } }
        } catch {
            throw Self.failure(error, .write, location: location, what: "the transaction failed")
        }
    }

    /// The statements that leave the entity tables as the transaction's changes do: per table, one
    /// DELETE of the ids deleted and multi-row upserts of the rest. Each entity's last change wins,
    /// as it would applied one by one (and one statement may not touch a row twice).
    static func entityStatements(_ rows: [(EntityChange, String?)]) throws -> [PostgresQuery] {
        var lastChange: [String: Int] = [:]
        var net: [(EntityChange, String?)] = []
        for row in rows {
            let key = "\(row.0.kind.rawValue)/\(row.0.entityID)"
            if let index = lastChange[key] { net[index] = row } else {
                lastChange[key] = net.count
                net.append(row)
            }
        }
        var statements: [PostgresQuery] = []
        for kind in EntityKind.allCases {
            let (table, idColumn) = kind.table
            let changes = net.filter { $0.0.kind == kind }
            let deleted = changes.filter { $0.1 == nil }.map(\.0.entityID)
            if !deleted.isEmpty {
                var binds = PostgresBindings()
                binds.append(deleted)
                statements.append(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE \(idColumn) = ANY($1)", binds: binds))
            }
            let upserted = changes.compactMap { change, document in document.map { (change, $0) } }
            guard let first = upserted.first?.0 else { continue }
            let names = [idColumn] + first.indexedColumns.map(\.name) + ["document"]
            let updates = names.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            var insert = MultiRowInsert("INSERT INTO \(table) (\(names.joined(separator: ", ")))", width: names.count,
                                        tail: " ON CONFLICT (\(idColumn)) DO UPDATE SET \(updates)")
            for (change, document) in upserted {
                insert.add { binds in
                    binds.append(change.entityID)
                    for column in change.indexedColumns { binds.append(column.value) }
                    binds.append(document)
                }
            }
            statements += insert.statements()
        }
        return statements
    }

    public func openReadView(_ consistency: ReadConsistency) async throws -> any GraceReadView {
        do {
            switch consistency {
            case .latest:
                let position = try await PostgresReadView.readPosition { query in try await pool.query(query) }
                return PostgresReadView(session: nil, pool: pool, position: position, location: location)
            case .snapshot:
                // One REPEATABLE READ transaction on a connection of its own, for as long as the view lives.
                let session = try await SnapshotSession.open(configuration: pool.configuration, location: location, logger: logger)
                let position = try await PostgresReadView.readPosition { query in try await session.rows(query) }
                return PostgresReadView(session: session, pool: pool, position: position, location: location)
            }
        } catch {
            throw Self.failure(error, .query, location: location, what: "cannot open a read")
        }
    }

    public func changes(after sequence: Int64, limit: Int) async throws -> [ChangeRecord] {
        do {
            var records: [ChangeRecord] = []
            let rows = try await pool.query("""
                SELECT sequence, committed_at_ns, entity_kind, entity_id, repository_id, document
                FROM change_feed WHERE sequence > \(sequence) ORDER BY sequence LIMIT \(limit)
                """)
            for row in rows {
                let (sequence, committedAt, kindName, entityID, repositoryText, document) = try row.decode((Int64, Int64, String, String, String?, String?).self)
                guard let kind = EntityKind(rawValue: kindName) else {
                    throw StorageFailure(.integrity, .query, key: "change_feed/\(sequence)", location: location, message: "unknown entity kind \(kindName)")
                }
                records.append(ChangeRecord(sequence: sequence, committedAt: Instant(nanosecondsSinceEpoch: committedAt), kind: kind, entityID: entityID,
                                            repositoryID: repositoryText.flatMap { RepositoryID($0) }, document: document))
            }
            return records
        } catch {
            throw Self.failure(error, .query, location: location, what: "cannot read the change feed")
        }
    }

    public func events(after offset: Int64, limit: Int) async throws -> [OutboxEvent] {
        do {
            var events: [OutboxEvent] = []
            let rows = try await pool.query("""
                SELECT event_offset, event_type, repository_id, change_sequence, envelope
                FROM event_outbox WHERE event_offset > \(offset) ORDER BY event_offset LIMIT \(limit)
                """)
            for row in rows {
                let (offset, typeName, repositoryID, changeSequence, envelope) = try row.decode((Int64, String, String?, Int64, String).self)
                guard let type = GraceEventType(parsing: typeName) else {
                    throw StorageFailure(.integrity, .query, key: "event_outbox/\(offset)", location: location, message: "unknown event type \(typeName)")
                }
                events.append(OutboxEvent(offset: offset, event: try GraceEvent(outboxRow: offset, type: type, envelope: envelope, location: location),
                                          repositoryID: repositoryID.flatMap { RepositoryID($0) }, changeSequence: changeSequence))
            }
            return events
        } catch {
            throw Self.failure(error, .query, location: location, what: "cannot read the event outbox")
        }
    }

    /// Connects, retrying for a few seconds while the server refuses connections or says it is
    /// starting or shutting down: what a restart looks like from here. A wrong password or a
    /// missing database fails at once.
    static func connect(_ configuration: PostgresConnection.Configuration, logger: Logger,
                        delays: [Duration] = [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)]) async throws -> PostgresConnection {
        var remaining = delays[...]
        while true {
            do {
                return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            } catch let error as PSQLError where isPassing(error) && !remaining.isEmpty {
                try await Task.sleep(for: remaining.removeFirst())
            }
        }
    }

    /// A refused or dropped connection, or the server saying it cannot take connections yet
    /// (57P03) or is shutting down (57P01, 57P02): worth another try.
    static func isPassing(_ error: PSQLError) -> Bool {
        if let state = error.serverInfo?[.sqlState] { return ["57P01", "57P02", "57P03"].contains(state) }
        return error.code == .connectionError || error.code == .serverClosedConnection
    }

    /// A library failure as it is; a server's error as `unavailable`, naming what failed, with the
    /// server's message (PSQLError hides it from `description`).
    static func failure(_ error: any Error, _ operation: StorageFailure.Operation, location: String, what: String) -> any Error {
        if let failure = error as? any BackupFailure { return failure }
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError { return failure(inner, operation, location: location, what: what) }
            if let inner = transaction.beginError ?? transaction.commitError { return failure(inner, operation, location: location, what: what) }
        }
        if error is CancellationError { return error }
        var detail = String(reflecting: error)
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] {
                detail = message
            } else if let underlying = psql.underlying {
                // A refused or broken connection: the socket's own words ("Connection refused (errno: 111)").
                detail = "\(psql.code): \(underlying)"
            } else {
                detail = "\(psql.code)"
            }
            if let code = psql.serverInfo?[.sqlState] { detail += " (SQLSTATE \(code))" }
        }
        return StorageFailure(.unavailable, operation, location: location, message: "\(what): \(detail)")
    }
}

/// A dedicated connection in one read-only REPEATABLE READ transaction: every query sees the
/// database as of the transaction's first query. Closed when the view goes.
final class SnapshotSession: Sendable {
    let connection: PostgresConnection
    let watch: ConnectionWatch
    let logger: Logger

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        watch = ConnectionWatch(connection)
        self.logger = logger
    }

    static func open(configuration: PostgresConnection.Configuration, location: String, logger: Logger) async throws -> SnapshotSession {
        do {
            let connection = try await PostgresGraceDatabase.connect(configuration, logger: logger)
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            return SnapshotSession(connection: connection, logger: logger)
        } catch {
            throw PostgresGraceDatabase.failure(error, .open, location: location, what: "cannot open a snapshot read")
        }
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let (connection, logger) = (self.connection, self.logger)
        return try await watch.run {
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }

    deinit {
        // The connection must outlive its close (postgres-nio asserts it is closed when it goes).
        let connection = self.connection
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}

extension PostgresGraceDatabase: ServerGraceDatabase {
    public func objectsLocation(recording proposed: String?) async throws -> String? {
        do {
            if let proposed {
                _ = try await pool.query("INSERT INTO deployment_info (key, value) VALUES ('objects', \(proposed)) ON CONFLICT (key) DO NOTHING")
            }
            return try await pool.query("SELECT value FROM deployment_info WHERE key = 'objects'").first?.decode(String.self)
        } catch {
            throw Self.failure(error, .query, location: location, what: "cannot read where the deployment keeps its objects")
        }
    }
}

extension DatabaseOpener {
    /// Opens `postgres://` deployments with this backend.
    public static let standard = DatabaseOpener { url, create, now in
        try await PostgresGraceDatabase(try PostgresLocation(parsing: url), mode: create ? .create : .openExisting, now: now)
    }
}

/// One INSERT of many rows, cut into statements of at most 1,000 rows (PostgreSQL takes at most
/// 65,535 parameters per statement).
struct MultiRowInsert {
    let head: String
    let tail: String
    let width: Int
    private var finished: [PostgresQuery] = []
    private var binds = PostgresBindings()
    private var rowCount = 0
    static let rowsPerStatement = 1000

    init(_ head: String, width: Int, tail: String = "") {
        self.head = head
        self.width = width
        self.tail = tail
    }

    /// Adds a row: `append` binds exactly `width` values.
    mutating func add(_ append: (inout PostgresBindings) -> Void) {
        append(&binds)
        rowCount += 1
        if rowCount == Self.rowsPerStatement { flush() }
    }

    mutating func statements() -> [PostgresQuery] {
        if rowCount > 0 { flush() }
        return finished
    }

    private mutating func flush() {
        let values = (0..<rowCount).map { row in
            "(" + (1...width).map { "$\(row * width + $0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
        finished.append(PostgresQuery(unsafeSQL: "\(head) VALUES \(values)\(tail)", binds: binds))
        binds = PostgresBindings()
        rowCount = 0
    }
}
