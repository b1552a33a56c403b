import Foundation
import GraceModel
import GraceStorage

/// A state the vault can restore: a snapshot, or a snapshot plus captured changes up to a
/// sequence or a time.
public struct RestorePoint: Sendable {
    /// The snapshot id, with `+captures` when changes after it are applied.
    public let label: String
    /// Ends the label of a point past its snapshot's cutoff, reached by applying captured changes.
    public static let withCapturesSuffix = "+captures"
    public let cutoff: ChangePosition
    let state: DatabaseState
}

/// Where point-in-time restore wants to stop.
public enum RestoreTarget: Sendable, Hashable {
    case sequence(Int64)
    case time(Instant)
    /// The last captured change: what a disaster recovery wants.
    case latest
}

public enum PointInTimeFailure: BackupFailure, Equatable {
    case beforeFirstSnapshot(earliest: ChangePosition?)
    case notCovered(latest: ChangePosition)
    case gap(afterSequence: Int64)
    case damagedSegment(key: String, holding: ClosedRange<Int64>, lastGood: ChangePosition, detail: String)

    public var kind: FailureKind {
        if case .damagedSegment = self { return .integrity }
        return .notFound
    }
    public var description: String {
        switch self {
        case let .beforeFirstSnapshot(earliest):
            "no snapshot is that old; the earliest restorable point is " + (earliest.map { "change \($0)" } ?? "none: take a snapshot first")
        case let .notCovered(latest): "the vault does not cover that point; the latest covered is change \(latest)"
        case let .gap(after): "the captured changes have a gap after sequence \(after); restore to that sequence or earlier"
        case let .damagedSegment(key, holding, lastGood, detail):
            "segment \(key), holding changes \(holding.lowerBound)...\(holding.upperBound), cannot be read (\(detail)); "
                + "the last good point before it is \(lastGood): restore with --to-sequence \(lastGood.sequence)"
                + (lastGood.committedAt.map { " or --to-time \($0)" } ?? "")
        }
    }
}

extension Vault {
    public func restorePoint(of snapshot: SnapshotRecord) async throws -> RestorePoint {
        RestorePoint(label: snapshot.id, cutoff: snapshot.manifest.cutoff, state: try await databaseState(of: snapshot))
    }

    /// The newest snapshot at or before the target, with the captured changes after it applied
    /// up to the target. Never silently stops elsewhere: a target past the captured changes, or
    /// behind a gap, is an error naming the latest point that is covered.
    public func restorePoint(at target: RestoreTarget, deployment: String? = nil) async throws -> RestorePoint {
        let snapshots = try await self.snapshots().filter { deployment == nil || $0.manifest.deployment == deployment }
        func precedes(_ position: ChangePosition) -> Bool {
            switch target {
            case let .sequence(sequence): position.sequence <= sequence
            case let .time(instant): (position.committedAt ?? Instant(nanosecondsSinceEpoch: 0)) <= instant
            case .latest: true
            }
        }
        guard let base = snapshots.last(where: { precedes($0.manifest.cutoff) }) else {
            throw PointInTimeFailure.beforeFirstSnapshot(earliest: snapshots.first?.manifest.cutoff)
        }
        var state = try await databaseState(of: base)
        var position = base.manifest.cutoff
        let captures = try await self.captures().filter { $0.deployment == base.manifest.deployment && $0.to.sequence > position.sequence }
        var reachedTarget = false
        for capture in captures {
            if case let .sequence(sequence) = target, position.sequence >= sequence {
                reachedTarget = true  // a later segment is not needed, so its damage does not matter
                break
            }
            guard capture.fromSequence <= position.sequence else { throw PointInTimeFailure.gap(afterSequence: position.sequence) }
            let lines: [SegmentLine]
            do {
                lines = try JSONLines.decode(SegmentLine.self, from: try await getSealed(try ObjectKey(capture.segment.key), expectedSHA256: capture.segment.sha256),
                                             key: capture.segment.key)
            } catch let failure as VaultFailure {
                // Nothing past a damaged segment can be restored: stop at the last good point and say where.
                throw PointInTimeFailure.damagedSegment(key: capture.segment.key, holding: capture.fromSequence + 1...capture.to.sequence,
                                                        lastGood: position, detail: failure.description)
            }
            var applied: [SegmentLine] = []
            for line in lines where line.sequence > position.sequence {
                guard precedes(ChangePosition(sequence: line.sequence, committedAt: line.committedAt)) else {
                    reachedTarget = true
                    break
                }
                applied.append(line)
            }
            state.apply(applied)
            if let last = applied.last { position = ChangePosition(sequence: last.sequence, committedAt: last.committedAt) }
            if reachedTarget { break }
        }
        if !reachedTarget {
            // The target lies at or past the last captured change: exact only if it names that change.
            switch target {
            case let .sequence(sequence) where sequence == position.sequence: break
            case let .time(instant) where instant == position.committedAt: break
            case .latest: break
            default: throw PointInTimeFailure.notCovered(latest: position)
            }
        }
        return RestorePoint(label: position == base.manifest.cutoff ? base.id : "\(base.id.prefix(12))\(RestorePoint.withCapturesSuffix)", cutoff: position, state: state)
    }
}
