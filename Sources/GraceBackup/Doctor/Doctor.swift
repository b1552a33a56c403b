import Foundation
import GraceModel
import GraceStorage

/// One thing `doctor` found: how serious, about what, and what to do.
public struct DoctorFinding: Sendable, Codable, Hashable {
    public enum Severity: String, Sendable, Codable, Comparable {
        case ok, info, warning, critical
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
        var rank: Int { [.ok: 0, .info: 1, .warning: 2, .critical: 3][self]! }
    }

    public var severity: Severity
    public var subject: String
    public var finding: String
    public var fix: String?
}

public struct DoctorReport: Sendable, Codable, Hashable {
    public var findings: [DoctorFinding] = []
    public var worst: DoctorFinding.Severity { findings.map(\.severity).max() ?? .ok }
}

/// The backup posture of a deployment's vaults: how many copies, where, immutable or not,
/// versioned, encrypted, how fresh the newest snapshot and the last drill are. Each finding has a
/// severity and a plain fix; the command line turns the worst into an exit code for monitoring.
public struct Doctor: Sendable {
    public let vaults: [Vault]
    public let deployment: Deployment?
    public let now: Instant
    public var maxSnapshotAgeSeconds = 26 * 3600.0
    public var maxDrillAgeSeconds = 8 * 86_400.0

    public init(vaults: [Vault], deployment: Deployment?, now: Instant) {
        self.vaults = vaults
        self.deployment = deployment
        self.now = now
    }

    public func examine() async throws -> DoctorReport {
        var report = DoctorReport()
        func add(_ severity: DoctorFinding.Severity, _ subject: String, _ finding: String, fix: String? = nil) {
            report.findings.append(DoctorFinding(severity: severity, subject: subject, finding: finding, fix: fix))
        }
        var places: Set<String> = []
        var vaultsWithSnapshots = 0
        for vault in vaults {
            let subject = "vault \(vault.location)"
            if let posture = try await (vault.store as? any PostureReporting)?.posture() {
                places.insert(posture.place)
                examine(posture, of: vault, subject: subject, add: add)
            }
            let status = try await vault.status(now: now, deployment: deployment, bounds: StatusBounds())
            if let age = status.lastSnapshotAgeSeconds {
                vaultsWithSnapshots += 1
                if age > maxSnapshotAgeSeconds {
                    add(.warning, subject, "the newest snapshot is \(spokenDuration(seconds: age)) old", fix: "check the snapshot schedule (cron or `stream --snapshot-every`)")
                } else {
                    add(.ok, subject, "the newest snapshot is \(spokenDuration(seconds: age)) old")
                }
            } else {
                add(.critical, subject, "no snapshot: nothing can be restored from it", fix: "grace-backup snapshot --deployment … --vault \(vault.location)")
            }
            switch (status.lastDrillAgeSeconds, status.lastDrillSucceeded) {
            case (nil, _):
                add(.warning, subject, "never drilled: how long a restore takes, and whether it works, is unknown",
                    fix: "grace-backup drill --vault \(vault.location), on a schedule (docs/drills.md)")
            case (_, false?):
                add(.critical, subject, "the last drill failed", fix: "grace-backup drills --vault \(vault.location) shows its problems")
            case let (age?, _) where age > maxDrillAgeSeconds:
                add(.warning, subject, "the last drill is \(spokenDuration(seconds: age)) old", fix: "run drills at least weekly (docs/drills.md)")
            case let (age?, _):
                add(.ok, subject, "the last drill passed \(spokenDuration(seconds: age)) ago")
            }
        }
        if vaults.count < 2 || vaultsWithSnapshots < 2 {
            add(.warning, "copies", "\(vaultsWithSnapshots) vault(s) hold snapshots: one failure or one mistake can lose the history",
                fix: "keep a second copy in another region or provider: `grace-backup copy VAULT LOCATION` after each snapshot, or a second vault that snapshots too")
        } else if places.count < 2 {
            add(.warning, "copies", "\(vaults.count) vaults, all in one place (\(places.first ?? "")): one outage or disaster reaches them all",
                fix: "move a copy to another region or provider")
        } else {
            add(.ok, "copies", "\(vaults.count) vaults in \(places.count) places: \(places.sorted().joined(separator: "; "))")
        }
        if let deployment, let posture = try await (deployment.objects as? any PostureReporting)?.posture(), posture.kind == .s3 {
            let subject = "deployment objects \(deployment.objects.location)"
            if posture.versioning == true {
                add(.ok, subject, "versioning is on: `rewind-objects` can bring the bucket back to a time")
            } else {
                add(.info, subject, "versioning is off: the vault is the only way back for objects deleted or overwritten",
                    fix: "turn versioning on for the bucket (with a lifecycle rule expiring noncurrent versions)")
            }
        }
        return report
    }

    private func examine(_ posture: StorePosture, of vault: Vault, subject: String, add: (DoctorFinding.Severity, String, String, String?) -> Void) {
        switch (vault.config.objectLock, posture.objectLock) {
        case let (setting?, true?):
            add(.ok, subject, "immutable: every record locked (\(setting.mode.rawValue)) for \(spokenDuration(seconds: Double(setting.retentionSeconds)))", nil)
        case (_?, _):
            add(.critical, subject, "the vault is set for Object Lock but its store cannot lock: its records are not protected",
                "open it only through an s3:// location whose bucket has Object Lock")
        case (nil, _):
            add(.warning, subject, "not immutable: credentials that leak (or ransomware) can delete every snapshot",
                "snapshot also into a vault made with `init --object-lock compliance --retention 30d` in an S3 bucket")
        }
        switch (posture.kind, posture.versioning) {
        case (.s3, true?): add(.ok, subject, "the bucket keeps versions", nil)
        case (.s3, _): add(.warning, subject, "the bucket keeps no versions: an overwritten or deleted record cannot come back",
                           "turn versioning on for the bucket")
        case (.folder, _): add(.info, subject, "a folder keeps no versions and cannot lock", "keep a second copy in an S3 bucket with Object Lock")
        }
        switch (posture.kind, posture.defaultEncryption) {
        case let (.s3, algorithm?): add(.ok, subject, "encrypted at rest (\(algorithm))", nil)
        case (.s3, nil): add(.warning, subject, "no default encryption on the bucket", "turn on default encryption (SSE-S3 or SSE-KMS)")
        case (.folder, _): add(.info, subject, "encryption at rest is the disk's, which grace-backup cannot see", "put the folder on an encrypted volume")
        }
        if let unfinished = posture.unfinishedUploads, unfinished > 0 {
            add(.warning, subject, "\(unfinished) unfinished multipart upload(s): invisible, and billed",
                "add a lifecycle rule that aborts incomplete multipart uploads after a day")
        }
    }
}
