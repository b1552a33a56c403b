import Foundation
import GraceBackup
import GraceBackupTesting
import GraceModel
import GracePostgres
import GraceStorage
import Synchronization
import Testing

/// The job table and consumer groups on a real PostgreSQL server: leases, skipped locks, fencing.
struct JobQueueTests {
    static func database() async throws -> PostgresGraceDatabase? {
        guard let location = try await PostgresTestServer.newDatabase() else { return nil }
        return try await PostgresGraceDatabase(location, mode: .create, now: { Instant(Date()) })
    }

    /// Moves a lease's end, or a retry's, into the past on the server: time passing, without a test
    /// that sleeps past a short lease and fails when a busy machine sleeps longer than it.
    static func expire(_ sql: String, in database: PostgresGraceDatabase) async throws {
        try await PostgresTestServer.query(sql, in: database.location)
    }

    static func exportJob() -> JobSpec { JobSpec(kind: .exportBundle, scope: RepositoryID(UUID()).description) }

    @Test func anOpenJobIsAddedOnceAndConcurrentClaimsNeverShareOne() async throws {
        guard let database = try await Self.database() else { return }
        let queue = database.jobQueue
        let specs = (0..<12).map { _ in Self.exportJob() }
        for spec in specs { #expect(try await queue.enqueue(spec, maxAttempts: 3).added) }
        let again = try await queue.enqueue(specs[0], maxAttempts: 3)
        #expect(!again.added, "the same kind and scope while one is queued is the same job")

        // Eight claimers at once: SKIP LOCKED hands each job to exactly one of them.
        let claims = try await withThrowingTaskGroup(of: [JobLease].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var mine: [JobLease] = []
                    while let lease = try await queue.claim(worker: "w\(worker)", lease: .seconds(30)) { mine.append(lease) }
                    return mine
                }
            }
            return try await group.reduce(into: [JobLease]()) { $0 += $1 }
        }
        #expect(claims.count == 12 && Set(claims.map(\.jobID)).count == 12, "each job claimed once: \(claims.map(\.jobID).sorted())")

        // Added while its twin runs: queued (the running one may have read too early), claimed only after.
        let behind = try await queue.enqueue(specs[0], maxAttempts: 3)
        #expect(behind.added && !claims.map(\.jobID).contains(behind.id))
        #expect(try await !queue.enqueue(specs[0], maxAttempts: 3).added, "one queued is enough")
        #expect(try await queue.claim(worker: "w", lease: .seconds(30)) == nil, "not while its twin runs")
        for lease in claims { #expect(try await queue.complete(lease, result: "{}")) }
        let next = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
        #expect(next.jobID == behind.id)
        #expect(try await queue.complete(next, result: "{}"))
        #expect(try await queue.jobs(openOnly: true).isEmpty)
        #expect(try await queue.enqueue(specs[0], maxAttempts: 3).added, "once done, the same kind and scope can be queued again")
    }

    @Test func anExpiredLeaseGoesToAnotherWorkerAndFencesTheFirst() async throws {
        guard let database = try await Self.database() else { return }
        let queue = database.jobQueue
        _ = try await queue.enqueue(Self.exportJob(), maxAttempts: 3)
        let first = try #require(try await queue.claim(worker: "dies", lease: .seconds(60)))
        #expect(try await queue.claim(worker: "other", lease: .seconds(30)) == nil, "a live lease is not taken")
        try await Self.expire("UPDATE jobs SET lease_expires_at = clock_timestamp() - interval '1 second'", in: database)
        let second = try #require(try await queue.claim(worker: "other", lease: .seconds(30)))
        #expect(second.jobID == first.jobID && second.attempt == first.attempt + 1)
        #expect(try await !queue.renew(first, for: .seconds(30)), "the first worker's heartbeat learns it lost the job")
        #expect(try await !queue.complete(first, result: "late"), "and its late result does not count")
        #expect(try await queue.complete(second, result: "{\"ok\":true}"))
        let record = try #require(try await queue.jobs(openOnly: false).first)
        #expect(record.state == .done && record.result == "{\"ok\":true}" && record.attempts == 2)
    }

    @Test func aFailingJobIsRetriedUntilItsAttemptsRunOut() async throws {
        guard let database = try await Self.database() else { return }
        let queue = database.jobQueue
        _ = try await queue.enqueue(Self.exportJob(), maxAttempts: 2)
        let first = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
        #expect(try await queue.fail(first, error: "disk full", retryAfter: .seconds(60)))
        #expect(try await queue.claim(worker: "w", lease: .seconds(30)) == nil, "not before its retry time")
        try await Self.expire("UPDATE jobs SET available_at = clock_timestamp() - interval '1 second'", in: database)
        let second = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
        #expect(try await queue.fail(second, error: "disk still full", retryAfter: .zero))
        #expect(try await queue.claim(worker: "w", lease: .seconds(30)) == nil)
        let record = try #require(try await queue.jobs(openOnly: false).first)
        #expect(record.state == .failed && record.attempts == 2 && record.lastError == "disk still full")

        // A job whose worker dies on its last attempt fails when its lease expires.
        _ = try await queue.enqueue(Self.exportJob(), maxAttempts: 1)
        _ = try #require(try await queue.claim(worker: "dies", lease: .seconds(60)))
        try await Self.expire("UPDATE jobs SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE lease_owner = 'dies'", in: database)
        #expect(try await queue.claim(worker: "w", lease: .seconds(30)) == nil)
        let lost = try #require(try await queue.jobs(openOnly: false).last)
        #expect(lost.state == .failed && lost.lastError?.contains("lost its worker") == true, "\(lost)")
    }

    @Test func aWorkerStopsAJobWhoseLeaseWasTakenOver() async throws {
        guard let database = try await Self.database() else { return }
        let queue = database.jobQueue
        _ = try await queue.enqueue(Self.exportJob(), maxAttempts: 3)
        let claimed = try #require(try await queue.claim(worker: "slow", lease: .seconds(60)))
        try await Self.expire("UPDATE jobs SET lease_expires_at = clock_timestamp() - interval '1 second'", in: database)
        let takeover = try #require(try await queue.claim(worker: "other", lease: .seconds(30)))
        // Whether the job was stopped, not how soon: the tests share a few threads, and a bound on the
        // time would measure them. Left alone, the job would end by itself after its 30 s.
        actor Stopped { var yes = false; func set() { yes = true } }
        let stopped = Stopped()
        var worker = JobWorker(queue: queue, name: "slow") { _ in
            do { try await Task.sleep(for: .seconds(30)) } catch { await stopped.set(); throw error }
            return "{}"
        }
        worker.heartbeat = .milliseconds(50)
        let outcome = try await worker.runOne(claimed)
        #expect(outcome.outcome == .leaseLost)
        #expect(await stopped.yes, "the heartbeat stopped the job")
        #expect(try await queue.complete(takeover, result: "{}"))
    }

    // MARK: consumer groups

    static func publish(_ count: Int, across repositories: [RepositoryID], into database: PostgresGraceDatabase) async throws {
        for index in 0..<count {
            let repositoryID = repositories[index % repositories.count]
            let event = try GraceEvent(type: .branchPromoted, payload: ["index": index],
                                       metadata: EventMetadata(timestamp: Instant(secondsSinceEpoch: 1), correlationID: "c\(index)", principal: "test"))
            _ = try await database.apply(GraceTransaction(events: [(event, repositoryID)]))
        }
    }

    @Test func aGroupSharesTheOutboxKeepsEachRepositoryInOrderAndSurvivesAMemberDying() async throws {
        guard let database = try await Self.database() else { return }
        let repositories = (0..<10).map { _ in RepositoryID(UUID()) }
        try await Self.publish(200, across: repositories, into: database)
        let handled = Handled()

        // A member that takes a partition, handles one batch and dies without committing or letting go.
        let dying = PostgresConsumerGroup("mirror", partitions: 4, member: "dying", database: database)
        try await dying.join()
        let held = try #require(try await dying.claim(lease: .seconds(60)))
        let (lostBatch, _) = try await dying.events(for: held, limit: 5)
        #expect(!lostBatch.isEmpty)
        try await Self.expire("UPDATE consumer_partitions SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE lease_owner = 'dying' AND partition = \(held.partition)", in: database)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in ["a", "b"] {
                let member = PostgresConsumerGroup("mirror", partitions: 4, member: name, database: database)
                group.addTask {
                    try await member.consume(lease: .seconds(120), poll: .milliseconds(50), batch: 7) { events in
                        handled.add(events, by: name)
                    }
                }
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, Set(handled.all.map(\.event.offset)).count < 200 {
                try await Task.sleep(for: .milliseconds(50))
            }
            group.cancelAll()
            _ = try? await group.waitForAll()
        }
        let all = handled.all
        #expect(Set(all.map(\.event.offset)) == Set(1...200), "every event handled, the dead member's partition too")
        #expect(Set(all.map(\.member)) == ["a", "b"], "both members took a share")
        for repositoryID in repositories {
            let offsets = all.filter { $0.event.repositoryID == repositoryID }.map(\.event.offset)
            #expect(offsets == offsets.sorted(), "one repository's events in order")
            #expect(Set(offsets).count == offsets.count, "and none twice, since the dead member committed nothing")
        }
        #expect(try await !dying.commit(held, through: 5, extendingBy: .seconds(5)), "the dead member's lease was taken over: its commit is refused")
        #expect(try await dying.positions().values.allSatisfy { $0 == 200 }, "every partition read to the end")

        // Another group has positions of its own and starts from the beginning.
        let other = PostgresConsumerGroup("export", partitions: 2, member: "x", database: database)
        try await other.join()
        #expect(try await other.positions() == [0: 0, 1: 0])
        let mismatched = PostgresConsumerGroup("mirror", partitions: 8, member: "c", database: database)
        await #expect(throws: StorageFailure.self, "a group keeps its partition count") { try await mismatched.join() }
    }

    /// Partitions are stored with each group, so the hash must never change: FNV-1a 64 of the id's text
    /// (the expected values computed apart from this code, with a reference FNV-1a whose hash of "a" is
    /// the published 0xaf63dc4c8601ec8c).
    @Test func partitionsAreStable() {
        let expected = [("0b4c5a4e-93a7-4d1c-9d2e-55c0ff8e3a11", 7, 1), ("00000000-0000-0000-0000-000000000001", 6, 0),
                        ("f47ac10b-58cc-4372-a567-0e02b2c3d479", 0, 0)]
        for (text, ofEight, ofTwo) in expected {
            let id = RepositoryID(text)!
            #expect(PostgresConsumerGroup.partition(of: id, partitions: 8) == ofEight && PostgresConsumerGroup.partition(of: id, partitions: 2) == ofTwo, "\(text)")
        }
        #expect(PostgresConsumerGroup.partition(of: nil, partitions: 8) == 0)
        let spread = Set((0..<64).map { _ in PostgresConsumerGroup.partition(of: RepositoryID(UUID()), partitions: 8) })
        #expect(spread.count >= 6, "64 repositories spread over the partitions: \(spread.sorted())")
    }
}

final class Handled: Sendable {
    private let items = Mutex<[(member: String, event: OutboxEvent)]>([])
    func add(_ events: [OutboxEvent], by member: String) { items.withLock { $0 += events.map { (member, $0) } } }
    var all: [(member: String, event: OutboxEvent)] { items.withLock { $0 } }
}
