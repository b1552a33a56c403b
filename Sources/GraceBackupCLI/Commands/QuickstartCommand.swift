import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Create a sample Grace deployment, back it up twice, restore it, check it and drill it, and say what happened.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Folder to create the sample in; a new temporary folder by default.") var folder: String?
    @Option(help: "Keep the sample deployment's database on a server instead: postgres://user@host:port/database, an empty database (password from PGPASSWORD). Its objects go in the folder.",
            transform: { try DeploymentLocation(parsing: $0) })
    var deployment: DeploymentLocation?

    struct Summary: Encodable {
        let deployment: String
        let vault: String
        let simulation: SimulationReport
        let check: CheckReport
        let firstSnapshot: String
        let secondSnapshot: String
        let restore: RestoreReport
        let drill: DrillReport
        let bundle: String
        let bundleReport: BundleExportReport
    }

    func run() async throws {
        let root = try folder.map { URL(fileURLWithPath: $0) } ?? Self.makeTemporaryFolder()
        let location = self.deployment ?? DeploymentLocation(folder: root.appendingPathComponent("deployment"))
        let vaultFolder = root.appendingPathComponent("vault")
        let restoredFolder = root.appendingPathComponent("restored")
        let restoredLocation = DeploymentLocation(folder: restoredFolder)
        let objects: StorageLocation? = location.folder == nil ? .folder(root.appendingPathComponent("objects")) : nil
        for taken in [location.folder.map(DeploymentLocation.databasePath(in:)), vaultFolder.path, restoredFolder.path].compactMap({ $0 })
        where FileManager.default.fileExists(atPath: taken) {
            throw InvalidLocation(text: taken, reason: "already exists; pass another --folder")
        }
        let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
        if case let .postgres(url) = location, try await databases.open(url, create: true, now: wallClock).openReadView(.latest).position.sequence > 0 {
            throw InvalidLocation(text: location.description, reason: "already holds a Grace deployment; the quickstart needs an empty database")
        }
        let deployment = try await location.open(.create, objects: objects, now: { clock.now() }, stores: stores, databases: databases)
        let writer = GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(1), principal: "quickstart")
        var options = SimulationOptions()
        options.repositories = 2
        options.files = 300
        options.operations = 120
        // Two simulated hours apart, the run spans ten days: Grace's 7-day save retention deletes the first saves.
        options.secondsBetweenOperations = 2 * 3600
        let renderer = global.renderer

        let simulation = try await withProgress(rendering: renderer) { try await Simulator(writer: writer, clock: clock, options: options).run(progress: $0) }
        let check = try await withProgress(rendering: renderer) { try await DeploymentChecker(deployment: deployment).check(progress: $0) }
        let vault = try await Vault.initialize(in: try FileSystemObjectStore(root: vaultFolder, create: true), now: wallClock())
        let snapshotter = Snapshotter(deployment: deployment, vault: vault, now: wallClock)
        let first = try await withProgress(rendering: renderer) { try await snapshotter.snapshot(progress: $0) }
        var more = options
        more.seed = 2
        more.files = 20
        more.operations = 30
        _ = try await Simulator(writer: GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(2), principal: "quickstart"),
                                clock: clock, options: more).run()
        let second = try await withProgress(rendering: renderer) { try await snapshotter.snapshot(progress: $0) }
        let restore = try await withProgress(rendering: renderer) { sink in
            try await Restorer(vault: vault).restore(second, into: try await restoredLocation.open(.create, now: wallClock, stores: stores, databases: databases), options: RestoreOptions(), progress: sink)
        }
        let drill = try await withProgress(rendering: renderer) { try await Drill(vault: vault, scratchParent: root, now: wallClock).run(snapshot: nil, progress: $0) }
        let bundle = root.appendingPathComponent("repository-1.bundle")
        _ = FileManager.default.createFile(atPath: bundle.path, contents: nil)
        let handle = try FileHandle(forUpdating: bundle)
        guard let repositoryID = simulation.repositoryIDs.first.flatMap(RepositoryID.init) else {
            preconditionFailure("the simulation created repositories")
        }
        let (bundleReport, _) = try await withProgress(rendering: renderer) { sink in
            try await BundleExporter(deployment: deployment).export(BundleExportRequest(repositoryID: repositoryID, branches: ["main"]), base: nil,
                                                                  destination: handle, progress: sink)
        }
        try handle.close()

        let summary = Summary(deployment: location.description, vault: vault.location, simulation: simulation, check: check,
                              firstSnapshot: first.id, secondSnapshot: second.id, restore: restore, drill: drill, bundle: bundle.path, bundleReport: bundleReport)
        try global.emit(summary) {
            let operations = simulation.operations.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            return """
                1. created a Grace deployment in \(location) and simulated ten days of work on it:
                   \(simulation.repositories) repositories, \(simulation.branches) branches; \(operations);
                   \(simulation.referencesDeletedByRetention) saves deleted by Grace's 7-day retention
                2. checked it: \(check.references) references, \(check.directoryVersions) directory versions, \(check.objects) objects, \(check.problems.count) problems
                3. took snapshot \(first.shortID) into the vault \(vaultFolder.path): \(first.manifest.newObjects) objects, \(formatBytes(first.manifest.newObjectBytes))
                4. changed the deployment and took snapshot \(second.shortID): only the change, \(second.manifest.newObjects) new objects (\(formatBytes(second.manifest.newObjectBytes)))
                5. restored it into \(restoredFolder.path): \(restore.documents) documents, \(restore.objectsCopied) objects; check found \(restore.check?.problems.count ?? 0) problems
                6. drilled the newest snapshot: \(drill.succeeded ? "passed" : "FAILED"), restore took \(decimal(drill.restoreSeconds, places: 2)) s
                7. exported the first repository's promotions as a Git bundle: \(bundleReport.newCommits) commits, \(formatBytes(bundleReport.bundleBytes)), in \(bundle.path)
                next: git clone \(bundle.path)
                      grace-backup repositories --deployment \(location)
                      grace-backup snapshots --vault \(vaultFolder.path)
                      grace-backup verify --vault \(vaultFolder.path) --read-data
                      grace-backup restore --vault \(vaultFolder.path) --snapshot \(first.shortID) --to \(location) --in-place --dry-run
                """
        }
        if !check.isClean || !(restore.check?.isClean ?? false) || !drill.succeeded {
            throw CheckFoundProblems(count: check.problems.count + (restore.check?.problems.count ?? 0) + drill.problems.count)
        }
    }

    static func makeTemporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("grace-backup-quickstart-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
