import Foundation
import GraceModel
import GraceStorage
import Logging
import PostgresNIO

/// Consumers in a named group share the event outbox: the group splits the events into a fixed
/// number of partitions by repository, so one repository's events stay in order, and each
/// partition has one position and at most one holder at a time, under a lease on the server's
/// clock. Another group reads the same events with positions of its own. A consumer that dies
/// stops renewing; its partition goes to another member when the lease expires, which resumes
/// after the last committed position: events are delivered at least once, so a handler is
/// idempotent (docs/workers.md).
public struct PostgresConsumerGroup: Sendable {
    public let name: String
    public let partitions: Int
    public let member: String
    let database: PostgresGraceDatabase

    public init(_ name: String, partitions: Int = 8, member: String, database: PostgresGraceDatabase) {
        self.name = name
        self.partitions = partitions
        self.member = member
        self.database = database
    }

    /// A partition this member holds. `generation` fences it: a later claim has a higher one.
    public struct Lease: Sendable, Hashable {
        public var partition: Int
        public var position: Int64
        public var generation: Int64
    }

    /// Which partition a repository's events belong to: FNV-1a of its id, stable across versions
    /// and servers (PostgreSQL's own hash functions promise neither). Events without one go to 0.
    public static func partition(of repositoryID: RepositoryID?, partitions: Int) -> Int {
        guard let repositoryID else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in repositoryID.description.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int(hash % UInt64(partitions))
    }

    /// Creates the group's partitions if it is new; refuses a group made with another count.
    public func join() async throws {
        try await run("cannot join consumer group \(name)") {
            _ = try await database.pool.query("""
                INSERT INTO consumer_partitions (group_name, partition, partitions)
                SELECT \(name), p, \(Int32(partitions)) FROM generate_series(0, \(Int32(partitions - 1))) AS p
                ON CONFLICT DO NOTHING
                """)
            let counts = try await database.pool.query("SELECT DISTINCT partitions FROM consumer_partitions WHERE group_name = \(name)")
                .map { try $0.decode(Int32.self) }
            guard counts == [Int32(partitions)] else {
                throw StorageFailure(.invalidInput, .open, location: database.location,
                                     message: "consumer group \(name) has \(counts.map(String.init).joined(separator: ", ")) partitions, not \(partitions)")
            }
        }
    }

    /// The free (or expired) partition checked longest ago, now this member's for `lease`.
    public func claim(lease: Duration) async throws -> Lease? {
        try await run("cannot claim a partition of consumer group \(name)") {
            let rows = try await database.pool.query("""
                UPDATE consumer_partitions SET lease_owner = \(member), generation = generation + 1, checked_at = clock_timestamp(),
                    lease_expires_at = clock_timestamp() + make_interval(secs => \(lease.seconds))
                WHERE group_name = \(name) AND partition = (
                    SELECT partition FROM consumer_partitions
                    WHERE group_name = \(name) AND (lease_owner IS NULL OR lease_expires_at < clock_timestamp())
                    ORDER BY checked_at, partition LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING partition, position, generation
                """)
            return try rows.first.map { row in
                let (partition, position, generation) = try row.decode((Int32, Int64, Int64).self)
                return Lease(partition: Int(partition), position: position, generation: generation)
            }
        }
    }

    /// Up to `limit` of the lease's partition's events after its position, and how far the outbox
    /// was read to find them (the position to commit once they are handled).
    public func events(for lease: Lease, limit: Int) async throws -> (events: [OutboxEvent], readThrough: Int64) {
        var mine: [OutboxEvent] = []
        var readThrough = lease.position
        while mine.count < limit {
            let page = try await database.events(after: readThrough, limit: limit)
            guard let last = page.last else { break }
            for event in page where Self.partition(of: event.repositoryID, partitions: partitions) == lease.partition {
                mine.append(event)
                if mine.count == limit { return (mine, event.offset) }
            }
            readThrough = last.offset
        }
        return (mine, readThrough)
    }

    /// Records the position and extends the lease; false when the partition is no longer this
    /// lease's (it expired and another member claimed it), so the holder must let it go.
    public func commit(_ lease: Lease, through position: Int64, extendingBy duration: Duration) async throws -> Bool {
        try await run("cannot commit a position of consumer group \(name)") {
            try await database.pool.query("""
                UPDATE consumer_partitions SET position = \(position), lease_expires_at = clock_timestamp() + make_interval(secs => \(duration.seconds))
                WHERE group_name = \(name) AND partition = \(Int32(lease.partition)) AND generation = \(lease.generation) AND lease_owner = \(member)
                RETURNING partition
                """).first != nil
        }
    }

    /// Lets the partition go, for another member (or this one) to take next.
    public func release(_ lease: Lease) async throws {
        try await run("cannot release a partition of consumer group \(name)") {
            _ = try await database.pool.query("""
                UPDATE consumer_partitions SET lease_owner = NULL, lease_expires_at = NULL, checked_at = clock_timestamp()
                WHERE group_name = \(name) AND partition = \(Int32(lease.partition)) AND generation = \(lease.generation)
                """)
        }
    }

    /// Every partition's committed position.
    public func positions() async throws -> [Int: Int64] {
        try await run("cannot read consumer group \(name)") {
            var positions: [Int: Int64] = [:]
            for row in try await database.pool.query("SELECT partition, position FROM consumer_partitions WHERE group_name = \(name)") {
                let (partition, position) = try row.decode((Int32, Int64).self)
                positions[Int(partition)] = position
            }
            return positions
        }
    }

    /// Consumes until cancelled: takes partitions in turn, hands each one's events to `handle` in
    /// offset order, a batch at a time, and commits after each batch. Sleeps `poll` when a round
    /// of claims finds nothing new.
    public func consume(lease: Duration = .seconds(30), poll: Duration = .seconds(1), batch: Int = 500,
                        handle: @Sendable ([OutboxEvent]) async throws -> Void) async throws {
        try await join()
        var emptyClaims = 0
        while !Task.isCancelled {
            guard var held = try await claim(lease: lease) else {
                try await Task.sleep(for: poll)
                continue
            }
            var handledAny = false
            while !Task.isCancelled {
                let (events, readThrough) = try await self.events(for: held, limit: batch)
                guard readThrough > held.position else { break }
                if !events.isEmpty {
                    try await handle(events)
                    handledAny = true
                }
                guard try await commit(held, through: readThrough, extendingBy: lease) else { break }
                held.position = readThrough
            }
            try await release(held)
            emptyClaims = handledAny ? 0 : emptyClaims + 1
            if emptyClaims >= partitions {
                emptyClaims = 0
                try await Task.sleep(for: poll)
            }
        }
    }

    private func run<Value>(_ what: String, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch {
            throw PostgresGraceDatabase.failure(error, .query, location: database.location, what: what)
        }
    }
}
