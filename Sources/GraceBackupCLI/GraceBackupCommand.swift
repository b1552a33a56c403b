import ArgumentParser
import Foundation
import GraceStorage

/// A failure thrown after the command printed its result: standard output already holds the
/// JSON document that describes it.
protocol ResultAlreadyPrinted: BackupFailure {}

/// Ends a command that succeeded, leaving what it still holds to the process's exit: releasing an
/// export's maps and closing a read-only database pool value by value only delays it (git does not
/// free before it exits either). `exit` flushes standard output.
func exitLeavingToTheSystem(_ held: Any...) -> Never {
    withExtendedLifetime(held) { Foundation.exit(EXIT_SUCCESS) }
}

@main
struct GraceBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grace-backup",
        abstract: "Back up, restore, verify and export Grace deployments.",
        subcommands: [
            QuickstartCommand.self, HashCommand.self, SimulateCommand.self, CheckCommand.self, RepositoriesCommand.self, MigrateCommand.self, JobsCommand.self, WorkerCommand.self,
            InitCommand.self, SnapshotCommand.self, SnapshotsCommand.self, ShowCommand.self, DiffCommand.self,
            RestoreCommand.self, RestoreQuarantineCommand.self, VerifyCommand.self, DrillCommand.self, DrillsCommand.self,
            UnlockCommand.self, StreamCommand.self, StatusCommand.self, ForgetCommand.self, PruneCommand.self, MeasureRecoveryPointCommand.self, ExportBundleCommand.self, ImportBundleCommand.self, FetchBundlesCommand.self, CopyCommand.self, RewindObjectsCommand.self, DoctorCommand.self,
        ])

    /// The one place that turns a library failure, or a file operation the system refused, into a
    /// message and an exit code (docs/exit-codes.md). Anything else is a bug and exits 1.
    static func main() async {
        let wantsJSON = CommandLine.arguments.contains("--json")
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard let failure = (error as? any BackupFailure) ?? SystemRefusal(error) else { exit(withError: error) }
            report(failure, json: wantsJSON)
            Foundation.exit(ExitCode(failure.kind).rawValue)
        }
    }

    static func report(_ failure: any BackupFailure, json: Bool) {
        // A command that already printed its JSON result (check's report) must not print a second document.
        if json, !(failure is any ResultAlreadyPrinted) {
            let object: [String: Any] = ["error": ["kind": failure.kind.rawValue, "message": failure.description,
                                                   "exit_code": Int(ExitCode(failure.kind).rawValue)]]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
        }
        writeLine("grace-backup: error: \(failure)")
    }
}
