import Foundation
import GraceStorage
import Logging
import PostgresNIO

/// The job table on PostgreSQL (schema version 2): claims with `FOR UPDATE SKIP LOCKED`, so
/// workers never wait on one another's rows, and leases timed by the server's clock.
public struct PostgresJobQueue: JobQueue {
    let pool: PostgresConnectionPool
    let location: String

    public func enqueue(_ job: JobSpec, maxAttempts: Int) async throws -> (id: Int64, added: Bool) {
        try await run("cannot add a job") {
            // ON CONFLICT on the partial unique index: an open job of this kind and scope is the one.
            let inserted = try await pool.query("""
                INSERT INTO jobs (kind, scope, parameters, state, max_attempts) VALUES (\(job.kind.rawValue), \(job.scope), \(job.parameters), 'queued', \(maxAttempts))
                ON CONFLICT (kind, scope) WHERE state = 'queued' DO NOTHING RETURNING job_id
                """).first?.decode(Int64.self)
            if let inserted { return (inserted, true) }
            let open = try await pool.query("""
                SELECT job_id FROM jobs WHERE kind = \(job.kind.rawValue) AND scope = \(job.scope) AND state = 'queued'
                """).first?.decode(Int64.self)
            guard let open else {
                // It finished between the two statements: add it again.
                return try await enqueue(job, maxAttempts: maxAttempts)
            }
            return (open, false)
        }
    }

    public func claim(worker: String, lease: Duration) async throws -> JobLease? {
        try await run("cannot claim a job") {
            // A job whose lease expired after its last attempt fails here, with the reason.
            _ = try await pool.query("""
                UPDATE jobs SET state = 'failed', finished_at = clock_timestamp(), lease_owner = NULL,
                    last_error = COALESCE(last_error || '; ', '') || 'attempt ' || attempts || ' lost its worker (lease expired)'
                WHERE state = 'running' AND lease_expires_at < clock_timestamp() AND attempts >= max_attempts
                """)
            let rows = try await pool.query("""
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = \(worker),
                    lease_expires_at = clock_timestamp() + make_interval(secs => \(lease.seconds)), heartbeat_at = clock_timestamp()
                WHERE job_id = (
                    SELECT job_id FROM jobs
                    WHERE ((state = 'queued' AND available_at <= clock_timestamp()) OR (state = 'running' AND lease_expires_at < clock_timestamp()))
                      AND attempts < max_attempts
                      -- one job of a kind and scope runs at a time: a queued one waits for the running one
                      AND NOT EXISTS (SELECT 1 FROM jobs AS other WHERE other.kind = jobs.kind AND other.scope = jobs.scope
                                      AND other.state = 'running' AND other.job_id <> jobs.job_id)
                    ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING job_id, kind, scope, parameters, attempts
                """)
            for row in rows {
                let (id, kindName, scope, parameters, attempts) = try row.decode((Int64, String, String, String, Int32).self)
                guard let kind = JobKind(rawValue: kindName) else {
                    throw StorageFailure(.unsupported, .query, key: "jobs/\(id)", location: location, message: "job kind \(kindName) is not one this grace-backup runs")
                }
                return JobLease(jobID: id, spec: JobSpec(kind: kind, scope: scope, parameters: parameters), attempt: Int(attempts), worker: worker)
            }
            return nil
        }
    }

    public func renew(_ lease: JobLease, for duration: Duration) async throws -> Bool {
        try await run("cannot renew a job's lease") {
            try await pool.query("""
                UPDATE jobs SET lease_expires_at = clock_timestamp() + make_interval(secs => \(duration.seconds)), heartbeat_at = clock_timestamp()
                WHERE job_id = \(lease.jobID) AND attempts = \(Int32(lease.attempt)) AND state = 'running' RETURNING job_id
                """).first != nil
        }
    }

    public func complete(_ lease: JobLease, result: String) async throws -> Bool {
        try await run("cannot mark a job done") {
            try await pool.query("""
                UPDATE jobs SET state = 'done', result = \(result), finished_at = clock_timestamp(), lease_owner = NULL, lease_expires_at = NULL
                WHERE job_id = \(lease.jobID) AND attempts = \(Int32(lease.attempt)) AND state = 'running' RETURNING job_id
                """).first != nil
        }
    }

    public func fail(_ lease: JobLease, error: String, retryAfter: Duration) async throws -> Bool {
        try await run("cannot give a job back") {
            try await pool.query("""
                UPDATE jobs SET state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
                    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE clock_timestamp() END,
                    available_at = clock_timestamp() + make_interval(secs => \(retryAfter.seconds)),
                    last_error = \(error), lease_owner = NULL, lease_expires_at = NULL
                WHERE job_id = \(lease.jobID) AND attempts = \(Int32(lease.attempt)) AND state = 'running' RETURNING job_id
                """).first != nil
        }
    }

    public func jobs(openOnly: Bool) async throws -> [JobRecord] {
        try await run("cannot list jobs") {
            var records: [JobRecord] = []
            let rows = try await pool.query("""
                SELECT job_id, kind, scope, parameters, state, attempts, max_attempts, lease_owner, result, last_error FROM jobs
                WHERE NOT \(openOnly) OR state IN ('queued', 'running') ORDER BY job_id
                """)
            for row in rows {
                let (id, kind, scope, parameters, state, attempts, maxAttempts, owner, result, lastError)
                    = try row.decode((Int64, String, String, String, String, Int32, Int32, String?, String?, String?).self)
                guard let kind = JobKind(rawValue: kind), let state = JobState(rawValue: state) else {
                    throw StorageFailure(.unsupported, .query, key: "jobs/\(id)", location: location, message: "job kind \(kind) or state \(state) is unknown to this grace-backup")
                }
                records.append(JobRecord(id: id, kind: kind, scope: scope, parameters: parameters, state: state, attempts: Int(attempts),
                                         maxAttempts: Int(maxAttempts), leaseOwner: owner, result: result, lastError: lastError))
            }
            return records
        }
    }

    private func run<Value>(_ what: String, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch {
            throw PostgresGraceDatabase.failure(error, .query, location: location, what: what)
        }
    }
}

extension PostgresGraceDatabase {
    /// The deployment's job table, on this database's connections.
    public var jobQueue: PostgresJobQueue { PostgresJobQueue(pool: pool, location: location) }
}
