import GraceModel

/// Work that several `grace-backup worker`s share: each job runs on one worker at a time under a
/// lease the worker renews; a worker that dies stops renewing, and the job goes to another when its
/// lease expires. A job may therefore start more than once, never on two workers at once while
/// both leases are honoured, and every job's work is written to be idempotent: run twice, it has
/// the effect of running once (docs/workers.md).
public protocol JobQueue: Sendable {
    /// Adds a job unless one of the same kind and scope is already queued; returns that job's id
    /// and whether this call added it. One added while another of its kind and scope runs is
    /// queued, and runs after it: the running one may have started too early to include its cause.
    func enqueue(_ job: JobSpec, maxAttempts: Int) async throws -> (id: Int64, added: Bool)
    /// The oldest job that is queued and due, or running under an expired lease, now leased to
    /// `worker` for `lease`; nil when there is none. Jobs other workers hold are skipped, not
    /// waited on, and so is a queued job while another of its kind and scope runs.
    func claim(worker: String, lease: Duration) async throws -> JobLease?
    /// Extends the lease; false when the job is no longer this lease's (it expired and another
    /// worker claimed it): the holder must stop.
    func renew(_ lease: JobLease, for duration: Duration) async throws -> Bool
    /// Marks the job done with its result; false when the lease was lost first.
    func complete(_ lease: JobLease, result: String) async throws -> Bool
    /// Gives the job back after a failure: queued again after `retryAfter`, or failed for good
    /// once it has had its attempts. False when the lease was lost first.
    func fail(_ lease: JobLease, error: String, retryAfter: Duration) async throws -> Bool
    /// Every job, oldest first (`open` narrows to queued and running ones).
    func jobs(openOnly: Bool) async throws -> [JobRecord]
}

public enum JobKind: String, Sendable, Codable, CaseIterable {
    /// A snapshot of the whole deployment into the worker's vault. Scope `deployment`.
    case snapshot
    /// The next incremental Git bundle of one repository into the worker's bundle location. Scope: the repository id.
    case exportBundle = "export-bundle"
}

/// What a job is: its kind, what it is about (a repository id, or `deployment`) and parameters (JSON).
public struct JobSpec: Sendable, Hashable, Codable {
    public var kind: JobKind
    public var scope: String
    public var parameters: String

    public static let wholeDeployment = "deployment"

    public init(kind: JobKind, scope: String, parameters: String = "{}") {
        self.kind = kind
        self.scope = scope
        self.parameters = parameters
    }
}

/// A claimed job. `attempt` is the fencing token: a later claim has a higher one, and every
/// update a lease makes names it, so a worker whose lease was taken over changes nothing.
public struct JobLease: Sendable, Hashable {
    public var jobID: Int64
    public var spec: JobSpec
    public var attempt: Int
    public var worker: String

    public init(jobID: Int64, spec: JobSpec, attempt: Int, worker: String) {
        self.jobID = jobID
        self.spec = spec
        self.attempt = attempt
        self.worker = worker
    }
}

public enum JobState: String, Sendable, Codable { case queued, running, done, failed }

/// A job as the table holds it.
public struct JobRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var kind: JobKind
    public var scope: String
    public var parameters: String
    public var state: JobState
    public var attempts: Int
    public var maxAttempts: Int
    public var leaseOwner: String?
    public var result: String?
    public var lastError: String?

    public init(id: Int64, kind: JobKind, scope: String, parameters: String, state: JobState, attempts: Int, maxAttempts: Int,
                leaseOwner: String?, result: String?, lastError: String?) {
        self.id = id
        self.kind = kind
        self.scope = scope
        self.parameters = parameters
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.leaseOwner = leaseOwner
        self.result = result
        self.lastError = lastError
    }
}
