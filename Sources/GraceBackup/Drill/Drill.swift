import Foundation
import GraceModel
import GraceStorage

/// A drill's report, stored in the vault as evidence: `drills/<sha256>.json`, sealed like every record.
public struct DrillReport: Sendable, Codable, Hashable {
    public var snapshot: String
    public var cutoff: ChangePosition
    public var startedAt: Instant
    /// How old the cutoff was when the drill started: the data a failure at that moment would lose
    /// if this were the newest restore point.
    public var cutoffAgeSeconds: Double?
    /// How long the restore took, check included: the recovery time (RTO) measured.
    public var restoreSeconds: Double
    public var documents: Int
    public var objects: Int
    public var bytesRestored: Int64
    public var problems: [CheckProblem]
    public var succeeded: Bool
}

/// Restores a snapshot into a scratch deployment, checks it, removes the scratch and stores the
/// report in the vault. Meant for cron or a systemd timer (docs/drills.md).
public struct Drill: Sendable {
    public let vault: Vault
    public let scratchParent: URL
    public let now: @Sendable () -> Instant

    public init(vault: Vault, scratchParent: URL, now: @escaping @Sendable () -> Instant) {
        self.vault = vault
        self.scratchParent = scratchParent
        self.now = now
    }

    public func run(snapshot id: String?, progress: ProgressSink? = nil) async throws -> DrillReport {
        try await run(try await vault.restorePoint(of: try await vault.snapshot(id)), progress: progress)
    }

    /// A drill of a point in time chosen at random between the oldest snapshot and the last captured
    /// change, so repeated drills exercise snapshots and captures alike. `seed` picks the point.
    public func runAtRandomPoint(seed: UInt64, progress: ProgressSink? = nil) async throws -> DrillReport {
        let status = try await vault.status(now: now(), deployment: nil, bounds: StatusBounds())
        guard let earliest = status.earliestRestorable, let latest = status.latestRestorable else {
            throw VaultFailure.noSnapshots(location: vault.location)
        }
        var generator = SeededGenerator(seed: seed)
        let sequence = Int64.random(in: earliest.sequence...max(earliest.sequence, latest.sequence), using: &generator)
        return try await run(try await vault.restorePoint(at: .sequence(sequence)), progress: progress)
    }

    /// A drill of a given restore point (a snapshot, or a point in time).
    public func run(_ point: RestorePoint, progress: ProgressSink? = nil) async throws -> DrillReport {
        let startedAt = now()
        let scratch = scratchParent.appendingPathComponent("grace-backup-drill-\(UUID().uuidString.prefix(8).lowercased())")
        defer { try? FileManager.default.removeItem(at: scratch) }  // scratch only; the report says what mattered
        let target = try await DeploymentLocation(folder: scratch).open(.create, now: now)
        let started = ContinuousClock.now
        let restored = try await Restorer(vault: vault).restore(point, into: target, options: RestoreOptions(), progress: progress)
        let problems = restored.check?.problems ?? []
        let report = DrillReport(
            snapshot: point.label, cutoff: point.cutoff, startedAt: startedAt,
            cutoffAgeSeconds: point.cutoff.committedAt.map { Double(startedAt.nanosecondsSinceEpoch - $0.nanosecondsSinceEpoch) / 1e9 },
            restoreSeconds: (ContinuousClock.now - started).seconds, documents: restored.documents, objects: restored.objects,
            bytesRestored: restored.bytesCopied, problems: problems, succeeded: problems.isEmpty)
        _ = try await vault.putSealed(Array(try GraceJSON.encode(report)), in: "drills", suffix: ".json")
        try await vault.store.synchronize()
        return report
    }
}

extension Vault {
    /// Every drill report, oldest first.
    public func drills() async throws -> [DrillReport] {
        var reports: [DrillReport] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("drills")) {
            let bytes = try await getSealed(summary.key)
            guard let report = try? GraceJSON.decode(DrillReport.self, from: Data(bytes)) else {
                throw VaultFailure.recordDamaged(key: summary.key.rawValue, detail: "not a drill report")
            }
            reports.append(report)
        }
        return reports.sorted { $0.startedAt < $1.startedAt }
    }
}
