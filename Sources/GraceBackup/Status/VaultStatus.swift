import Foundation
import GraceModel
import GraceStorage

/// What a vault can restore and how fresh it is: for monitoring.
public struct VaultStatus: Sendable, Codable, Hashable {
    public var vault: String
    /// The earliest and latest points a restore can reach.
    public var earliestRestorable: ChangePosition?
    public var latestRestorable: ChangePosition?
    /// With a deployment: how far its change feed is ahead of the vault, in changes and seconds.
    public var captureLagChanges: Int64?
    public var captureLagSeconds: Double?
    public var lastSnapshotAt: Instant?
    public var lastSnapshotAgeSeconds: Double?
    public var lastDrillAt: Instant?
    public var lastDrillAgeSeconds: Double?
    public var lastDrillSucceeded: Bool?
    public var warnings: [String] = []
}

/// The bounds `status` warns about; nil means no bound.
public struct StatusBounds: Sendable {
    public var snapshotAgeSeconds: Double?
    public var drillAgeSeconds: Double?
    public var captureLagSeconds: Double?
    public init(snapshotAgeSeconds: Double? = nil, drillAgeSeconds: Double? = nil, captureLagSeconds: Double? = nil) {
        self.snapshotAgeSeconds = snapshotAgeSeconds
        self.drillAgeSeconds = drillAgeSeconds
        self.captureLagSeconds = captureLagSeconds
    }
}

extension Vault {
    /// The recoverable range, the capture lag (when `deployment` is given), the newest snapshot and
    /// drill with their ages, and a warning for each bound exceeded.
    public func status(now: Instant, deployment: Deployment?, bounds: StatusBounds) async throws -> VaultStatus {
        var status = VaultStatus(vault: location)
        let snapshots = try await self.snapshots().filter { deployment == nil || $0.manifest.deployment == deployment!.location.description }
        let captures = try await self.captures().filter { deployment == nil || $0.deployment == deployment!.location.description }
        func seconds(since instant: Instant) -> Double { Double(now.nanosecondsSinceEpoch - instant.nanosecondsSinceEpoch) / 1e9 }

        status.earliestRestorable = snapshots.first?.manifest.cutoff
        status.latestRestorable = ([snapshots.last?.manifest.cutoff] + captures.map { Optional($0.to) })
            .compactMap { $0 }.max { $0.sequence < $1.sequence }
        if let newest = snapshots.max(by: { $0.manifest.createdAt < $1.manifest.createdAt }) {
            status.lastSnapshotAt = newest.manifest.createdAt
            status.lastSnapshotAgeSeconds = seconds(since: newest.manifest.createdAt)
        } else {
            status.warnings.append("no snapshot yet: nothing can be restored")
        }
        if let drill = try await drills().last {
            status.lastDrillAt = drill.startedAt
            status.lastDrillAgeSeconds = seconds(since: drill.startedAt)
            status.lastDrillSucceeded = drill.succeeded
            if !drill.succeeded { status.warnings.append("the last drill failed (\(drill.problems.count) problems)") }
        }
        if let deployment {
            let live = try await deployment.database.openReadView(.latest).position
            let covered = status.latestRestorable?.sequence ?? 0
            status.captureLagChanges = max(0, live.sequence - covered)
            if status.captureLagChanges == 0 {
                status.captureLagSeconds = 0
            } else if let liveTime = live.committedAt {
                let coveredTime = status.latestRestorable?.committedAt ?? Instant(nanosecondsSinceEpoch: 0)
                status.captureLagSeconds = Double(liveTime.nanosecondsSinceEpoch - coveredTime.nanosecondsSinceEpoch) / 1e9
            }
        }
        if let bound = bounds.snapshotAgeSeconds, let age = status.lastSnapshotAgeSeconds, age > bound {
            status.warnings.append("the newest snapshot is \(Int(age)) s old, over the bound of \(Int(bound)) s")
        }
        if let bound = bounds.drillAgeSeconds {
            if let age = status.lastDrillAgeSeconds {
                if age > bound { status.warnings.append("the last drill is \(Int(age)) s old, over the bound of \(Int(bound)) s") }
            } else {
                status.warnings.append("no drill has been run")
            }
        }
        if let bound = bounds.captureLagSeconds, let lag = status.captureLagSeconds, lag > bound {
            status.warnings.append("capture lags the deployment by \(String(format: "%.1f", lag)) s (\(status.captureLagChanges ?? 0) changes), over the bound of \(Int(bound)) s")
        }
        return status
    }
}
