import Foundation
import GraceModel
import GraceStorage

/// When `stream` captures.
public struct StreamSchedule: Sendable {
    /// The longest a change waits before a capture starts, while changes arrive. The recovery point
    /// is about this plus one capture's duration: 0.5 s keeps it under a second.
    public var intervalSeconds = 0.5
    /// How often the database is asked for new changes: a local read, never a storage request.
    public var pollSeconds = 0.05
    /// Capture a promotion as soon as it is seen, so a writer waiting to acknowledge it waits little.
    public var promotionsAtOnce = true
    /// Take a new base snapshot this often.
    public var snapshotEverySeconds: Double?
    /// At most this many changes in one capture.
    public var batchLimit = 50_000

    public init() {}
}

/// What the stream did, as it happens.
public enum StreamEvent: Sendable {
    case captured(CaptureRecord)
    case snapshotTaken(SnapshotRecord)
    /// The database or the vault is away; the stream tries again after `retryIn`.
    case unavailable(any BackupFailure, retryIn: Duration)
}

/// Follows a deployment's change feed into a vault until told to stop: polls the database, and
/// captures when the oldest uncaptured change has waited `intervalSeconds` or a promotion is
/// pending. Writes nothing while nothing changes. On stop, captures what is left first. While the
/// database or the vault is unavailable (a restart, a failover, a network cut) it waits and tries
/// again, twice as long each time up to 30 s: a capture is written record last, so one cut short
/// is simply taken again.
public struct ChangeStream: Sendable {
    public let capture: ChangeCapture
    public let schedule: StreamSchedule

    public init(capture: ChangeCapture, schedule: StreamSchedule) {
        self.capture = capture
        self.schedule = schedule
    }

    /// Runs from `position` until `shouldStop` returns true; returns the position reached.
    public func run(from start: Int64, shouldStop: @Sendable () -> Bool, onEvent: @Sendable (StreamEvent) -> Void) async throws -> Int64 {
        var position = start
        var lastCapture = ContinuousClock.now
        var lastSnapshot = ContinuousClock.now
        var waitingSince: ContinuousClock.Instant?
        let database = capture.deployment.database
        var backoff = Backoff(first: .seconds(max(schedule.pollSeconds, 0.25)), limit: .seconds(30))
        while true {
            let stopping = shouldStop()
            do {
                switch try await step() {
                case let .done(reached): return reached
                case .again: break
                case .idle: try await Task.sleep(for: .seconds(schedule.pollSeconds))
                }
                backoff.reset()
            } catch let failure as any BackupFailure where failure.kind == .unavailable && !stopping {
                let pause = backoff.next()
                onEvent(.unavailable(failure, retryIn: pause))
                try await sleep(for: pause, unless: shouldStop)
            }
        }

        /// One look at the database: captures when due.
        func step() async throws -> Step {
            let stopping = shouldStop()
            let latest = try await database.openReadView(.latest).position.sequence
            if latest > position {
                let now = ContinuousClock.now
                if waitingSince == nil { waitingSince = now }
                var due = stopping || now - waitingSince! >= .seconds(schedule.intervalSeconds) || now - lastCapture >= .seconds(schedule.intervalSeconds)
                var changes: [ChangeRecord] = []
                if due || schedule.promotionsAtOnce {
                    changes = try await database.changes(after: position, limit: schedule.batchLimit)
                    due = due || (schedule.promotionsAtOnce && changes.contains { $0.isNewPromotion })
                }
                if due, !changes.isEmpty {
                    lastCapture = ContinuousClock.now
                    let record = try await capture.capture(changes, after: position)
                    position = record.to.sequence
                    waitingSince = nil
                    onEvent(.captured(record))
                    // Stopping: what was there is captured (a writer still running would keep us here forever).
                    if stopping && changes.count < schedule.batchLimit { return .done(position) }
                    return .again  // more may have arrived meanwhile
                }
            }
            if stopping { return .done(position) }
            if let every = schedule.snapshotEverySeconds, ContinuousClock.now - lastSnapshot >= .seconds(every) {
                // A new base keeps restores short; captures go on from where they are, which stays continuous.
                let snapshot = try await Snapshotter(deployment: capture.deployment, vault: capture.vault, now: capture.now).snapshot()
                lastSnapshot = ContinuousClock.now
                onEvent(.snapshotTaken(snapshot))
            }
            return .idle
        }
    }

    private enum Step {
        /// The stream stopped, having captured up to this position.
        case done(Int64)
        /// A capture was written: look again at once.
        case again
        /// Nothing due: look again after a poll interval.
        case idle
    }
}

extension ChangeRecord {
    /// A promotion reference written: Grace's most valuable write, which a stream captures at once
    /// and a bundle export follows.
    public var isNewPromotion: Bool {
        guard kind == .reference, let json = document, json.contains("\"Promotion\"") else { return false }
        return (try? GraceJSON.decode(Reference.self, from: json))?.referenceType == .promotion
    }
}
