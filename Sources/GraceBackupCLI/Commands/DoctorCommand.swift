import ArgumentParser
import Foundation
import GraceBackup
import GraceStorage

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report the backup posture: copies and where, immutability, versioning, encryption, snapshot and drill ages.",
        discussion: """
            Each finding has a severity (ok, info, warning, critical) and a plain fix. Exits 0 when nothing is worse \
            than info, 8 on a warning, 9 on a critical finding (docs/exit-codes.md), for monitoring.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("vault"), help: "A vault holding copies (repeat for each): a folder or s3://bucket/prefix.",
            transform: { try StorageLocation(parsing: $0) })
    var vaults: [StorageLocation] = []
    @Option(name: .customLong("deployment"), help: "The deployment the vaults back up (its snapshots alone count; its objects' bucket is examined too).",
            transform: { try DeploymentLocation(parsing: $0) })
    var deployment: DeploymentLocation?
    @Option(help: "Warn when the newest snapshot is older than this many hours.") var maxSnapshotAgeHours = 26.0
    @Option(help: "Warn when the last drill is older than this many days.") var maxDrillAgeDays = 8.0

    func validate() throws {
        guard !vaults.isEmpty else { throw ValidationError("give at least one --vault") }
    }

    func run() async throws {
        var opened: [Vault] = []
        for location in vaults {
            do {
                opened.append(try await Vault.open(stores.open(location, create: false, durability: .onSynchronize)))
            } catch let failure as StorageFailure where failure.reason == .notFound && location.isFolder {
                throw VaultFailure.notAVault(location: location.description)
            }
        }
        let live: Deployment? = if let deployment { try await deployment.open(.openExisting, now: wallClock, stores: stores, databases: databases) } else { nil }
        var doctor = Doctor(vaults: opened, deployment: live, now: wallClock())
        doctor.maxSnapshotAgeSeconds = maxSnapshotAgeHours * 3600
        doctor.maxDrillAgeSeconds = maxDrillAgeDays * 86_400
        let report = try await doctor.examine()
        try global.emit(report) {
            report.findings.map { finding in
                var line = "\(finding.severity.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)) \(finding.subject): \(finding.finding)"
                if let fix = finding.fix, finding.severity >= .warning { line += "\n         fix: \(fix)" }
                return line
            }.joined(separator: "\n")
        }
        switch report.worst {
        case .critical: throw DoctorFoundRisks(kind: .atRisk, count: report.findings.filter { $0.severity == .critical }.count, severity: "critical")
        case .warning: throw DoctorFoundRisks(kind: .outdated, count: report.findings.filter { $0.severity == .warning }.count, severity: "warning")
        case .ok, .info: break
        }
    }
}

struct DoctorFoundRisks: ResultAlreadyPrinted {
    let kind: FailureKind
    let count: Int
    let severity: String
    var description: String { "doctor found \(count) \(severity) finding(s)" }
}
