import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the vault can restore and how fresh it is; exits 8 when a bound is exceeded, for monitoring.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Option(name: .customLong("deployment"), help: "The deployment, to measure the capture lag against its change feed.",
            transform: { try DeploymentLocation(parsing: $0) })
    var deployment: DeploymentLocation?
    @Option(help: "Warn when the newest snapshot is older than this many hours.") var maxSnapshotAgeHours: Double?
    @Option(help: "Warn when the last drill is older than this many days.") var maxDrillAgeDays: Double?
    @Option(help: "Warn when capture lags the deployment by more than this many seconds.") var maxCaptureLagSeconds: Double?

    func run() async throws {
        let opened = try await vault.open()
        let live: Deployment? = if let deployment { try await deployment.open(.openExisting, now: wallClock, stores: stores, databases: databases) } else { nil }
        let bounds = StatusBounds(snapshotAgeSeconds: maxSnapshotAgeHours.map { $0 * 3600 }, drillAgeSeconds: maxDrillAgeDays.map { $0 * 86_400 },
                                  captureLagSeconds: maxCaptureLagSeconds)
        let status = try await opened.status(now: wallClock(), deployment: live, bounds: bounds)
        try global.emit(status) {
            func age(_ seconds: Double?) -> String { seconds.map { spokenDuration(seconds: $0) + " ago" } ?? "never" }
            var lines = [
                "vault \(status.vault)",
                "  restorable from  \(status.earliestRestorable.map { "change \($0)" } ?? "nothing yet")",
                "  restorable up to \(status.latestRestorable.map { "change \($0)" } ?? "nothing yet")",
                "  last snapshot    \(status.lastSnapshotAt.map(\.description) ?? "none") (\(age(status.lastSnapshotAgeSeconds)))",
                "  last drill       \(status.lastDrillAt.map(\.description) ?? "none") (\(age(status.lastDrillAgeSeconds)))"
                    + (status.lastDrillSucceeded.map { $0 ? ", passed" : ", FAILED" } ?? ""),
            ]
            if let changes = status.captureLagChanges {
                lines.append("  capture lag      \(changes) changes, \(decimal(status.captureLagSeconds ?? 0, places: 1)) s")
            }
            lines += status.warnings.map { "  warning: \($0)" }
            return lines.joined(separator: "\n")
        }
        if !status.warnings.isEmpty { throw StatusWarnings(count: status.warnings.count) }
    }
}

struct StatusWarnings: ResultAlreadyPrinted {
    let count: Int
    var kind: FailureKind { .outdated }
    var description: String { "status found \(count) warning(s)" }
}
