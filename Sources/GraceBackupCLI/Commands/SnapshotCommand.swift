import ArgumentParser
import GraceBackup
import GraceStorage

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take a snapshot of a deployment into a vault, consistent across the database and the objects.",
        discussion: "The cutoff is one consistent database read; after the first snapshot, only the changes since the previous one and the objects they add are written.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "How long to keep starting over while the database is gone (a restart, a failover): 60s, 5m.", transform: parseInterval)
    var waitForDatabase: Double = 60

    func run() async throws {
        let opened = try await deployment.open(.openExisting)
        let target = try await vault.open()
        var snapshotter = Snapshotter(deployment: opened, vault: target, now: wallClock)
        snapshotter.databaseOutageAllowance = .seconds(waitForDatabase)
        let record = try await withProgress(rendering: global.renderer) { [snapshotter] sink in
            try await snapshotter.snapshot(progress: sink)
        }
        try global.emit(SnapshotSummary(record)) { ShowCommand.describe(record) }
    }
}

/// A snapshot as the CLI prints it: id plus manifest.
struct SnapshotSummary: Encodable {
    let id: String
    let manifest: Manifest
    init(_ record: SnapshotRecord) {
        id = record.id
        manifest = record.manifest
    }
}
