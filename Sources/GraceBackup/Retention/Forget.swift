import Foundation
import GraceModel
import GraceStorage

public struct ForgetReport: Sendable, Codable, Hashable {
    public struct Kept: Sendable, Codable, Hashable {
        public var snapshot: String
        public var cutoff: ChangePosition
        public var reasons: [String]
    }

    public struct Forgotten: Sendable, Codable, Hashable {
        public var snapshot: String
        public var cutoff: ChangePosition
    }

    public var vault: String
    public var dryRun: Bool
    public var policy: RetentionPolicy
    public var kept: [Kept] = []
    public var forgotten: [Forgotten] = []
    /// Capture records that end at or before the oldest kept snapshot of their deployment: nothing
    /// kept can be rolled forward through them.
    public var capturesForgotten = 0
    /// Per deployment, the earliest point still restorable afterwards.
    public var earliestRestorable: [String: ChangePosition] = [:]
}

extension Vault {
    /// Applies `policy` to each deployment's snapshots: removes the manifests of those it does not
    /// keep, and the captures older than the oldest kept snapshot. Captures after it stay, so the
    /// recoverable range only loses its start, as the policy says. Records and packs stay until `prune`.
    public func forget(policy: RetentionPolicy, dryRun: Bool, now: @Sendable () -> Instant, progress: ProgressSink? = nil) async throws -> ForgetReport {
        precondition(!policy.keepsNothing, "the caller refuses a policy that keeps nothing")
        var report = ForgetReport(vault: location, dryRun: dryRun, policy: policy)
        // A snapshot being written would choose its parent among these: forget waits for it.
        let lock = try await VaultLock.acquire(in: self, purpose: "forget", now: now, progress: progress)
        do {
            let snapshots = try await self.snapshots()
            let captures = try await self.captureRecords()
            for deployment in Set(snapshots.map(\.manifest.deployment)).sorted() {
                let own = snapshots.filter { $0.manifest.deployment == deployment }
                let (kept, forgotten) = policy.apply(to: own) { $0.manifest.cutoff.committedAt ?? $0.manifest.createdAt }
                report.kept += kept.map { .init(snapshot: $0.0.id, cutoff: $0.0.manifest.cutoff, reasons: $0.reasons) }
                report.forgotten += forgotten.map { .init(snapshot: $0.id, cutoff: $0.manifest.cutoff) }
                let oldest = kept.map(\.0.manifest.cutoff).min { $0.sequence < $1.sequence }
                if let oldest { report.earliestRestorable[deployment] = oldest }
                let stale = captures.filter { $0.record.deployment == deployment && $0.record.to.sequence <= (oldest?.sequence ?? .max) }
                report.capturesForgotten += stale.count
                guard !dryRun else { continue }
                // Captures first: a crash in between leaves a forgotten snapshot's captures, never a kept range with a hole.
                try await store.deleteIfPresent(stale.map(\.key))
                try await store.deleteIfPresent(try forgotten.map { try ObjectKey("snapshots/\($0.id).json") })
            }
            if !dryRun { try await store.synchronize() }
            try await lock.release()
        } catch {
            try? await lock.release()
            throw error
        }
        report.kept.sort { $0.cutoff.sequence < $1.cutoff.sequence }
        report.forgotten.sort { $0.cutoff.sequence < $1.cutoff.sequence }
        return report
    }
}
