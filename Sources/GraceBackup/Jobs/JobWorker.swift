import Foundation
import GraceModel
import GraceStorage

/// One worker of several sharing a deployment's job table: claims a job, runs it while a
/// heartbeat renews its lease, and records the outcome. A job whose lease is lost (the heartbeat
/// could not renew it before it expired, or found it taken over) is cancelled at once; the worker
/// that took it over redoes it, which the job's idempotence makes harmless (docs/workers.md).
public struct JobWorker: Sendable {
    public let queue: any JobQueue
    public let name: String
    public var lease: Duration = .seconds(30)
    /// How often the lease is renewed: a third of it, so two renewals can fail before it expires.
    public var heartbeat: Duration = .seconds(10)
    public var poll: Duration = .seconds(1)
    /// How long a failed job waits before another attempt.
    public var retryAfter: Duration = .seconds(5)
    let perform: @Sendable (JobLease) async throws -> String

    public init(queue: any JobQueue, name: String, perform: @escaping @Sendable (JobLease) async throws -> String) {
        self.queue = queue
        self.name = name
        self.perform = perform
    }

    /// A job this worker finished, one way or another.
    public struct Finished: Sendable, Codable, Hashable {
        public enum Outcome: String, Sendable, Codable {
            case done
            /// It failed; the queue retries it after `retryAfter` or, out of attempts, marks it failed.
            case failed
            /// Another worker holds it now; this one stopped (or finished too late to count).
            case leaseLost
        }

        public var jobID: Int64
        public var kind: JobKind
        public var scope: String
        public var attempt: Int
        public var worker: String
        public var outcome: Outcome
        public var result: String?
        public var error: String?
        public var seconds: Double
    }

    /// Runs jobs until cancelled or, with `exitWhenIdle`, until none is left to claim.
    /// `finished` hears each job's outcome as it happens. While the database is unavailable (a
    /// restart, a failover), the worker waits and tries again, twice as long each time up to a
    /// minute, and tells `unavailable`; a job whose outcome could not be recorded then is redone
    /// by whoever claims it when its lease expires.
    public func run(exitWhenIdle: Bool, unavailable: @Sendable (any BackupFailure, Duration) -> Void = { _, _ in },
                    finished: @Sendable (Finished) -> Void = { _ in }) async throws -> [Finished] {
        var outcomes: [Finished] = []
        var backoff = Backoff(first: poll, limit: .seconds(60))
        while !Task.isCancelled {
            do {
                guard let claimed = try await queue.claim(worker: name, lease: lease) else {
                    if exitWhenIdle { break }
                    try await Task.sleep(for: poll)
                    continue
                }
                let outcome = try await runOne(claimed)
                finished(outcome)
                outcomes.append(outcome)
                backoff.reset()
            } catch let failure as any BackupFailure where failure.kind == .unavailable {
                let pause = backoff.next()
                unavailable(failure, pause)
                try await Task.sleep(for: pause)
            }
        }
        return outcomes
    }

    private enum Race: Sendable {
        case finished(Result<String, any Error>)
        case leaseLost
    }

    /// Runs one claimed job under its heartbeat.
    public func runOne(_ claimed: JobLease) async throws -> Finished {
        let started = ContinuousClock.now
        let race = await withTaskGroup(of: Race.self) { group in
            group.addTask { [perform] in
                do { return .finished(.success(try await perform(claimed))) } catch { return .finished(.failure(error)) }
            }
            group.addTask { [queue, lease, heartbeat] in
                var renewed = ContinuousClock.now
                while true {
                    do { try await Task.sleep(for: heartbeat) } catch { return .leaseLost }
                    do {
                        guard try await queue.renew(claimed, for: lease) else { return .leaseLost }
                        renewed = ContinuousClock.now
                    } catch {
                        // A passing outage: keep going while the lease may still hold.
                        if ContinuousClock.now - renewed >= lease { return .leaseLost }
                    }
                }
            }
            let first = await group.next() ?? .leaseLost
            group.cancelAll()
            return first
        }
        var finished = Finished(jobID: claimed.jobID, kind: claimed.spec.kind, scope: claimed.spec.scope, attempt: claimed.attempt,
                                worker: name, outcome: .leaseLost, seconds: 0)
        switch race {
        case .leaseLost:
            break
        case let .finished(.success(result)):
            finished.result = result
            if try await queue.complete(claimed, result: result) { finished.outcome = .done }
        case let .finished(.failure(error)):
            finished.error = "\(error)"
            if try await queue.fail(claimed, error: "\(error)", retryAfter: retryAfter) { finished.outcome = .failed }
        }
        finished.seconds = (ContinuousClock.now - started).seconds
        return finished
    }
}
