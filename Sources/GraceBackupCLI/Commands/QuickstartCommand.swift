import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Create a sample Grace deployment, simulate a workload on it, check it, and say what happened.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Folder to create the sample in; a new temporary folder by default.") var folder: String?

    func run() async throws {
        let root = try folder.map { URL(fileURLWithPath: $0) } ?? Self.makeTemporaryFolder()
        let location = DeploymentLocation(folder: root.appendingPathComponent("deployment"))
        if FileManager.default.fileExists(atPath: location.databasePath) {
            throw InvalidLocation(text: location.description, reason: "already holds a deployment; pass another --folder")
        }
        let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
        let deployment = try location.open(.create, now: { clock.now() })
        var options = SimulationOptions()
        options.repositories = 2
        options.files = 300
        options.operations = 120
        // Two simulated hours apart, the run spans ten days: Grace's 7-day save retention deletes the first saves.
        options.secondsBetweenOperations = 2 * 3600
        let writer = GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(options.seed), principal: "quickstart")
        let simulation = try await withProgress(rendering: global.renderer) { sink in
            try await Simulator(writer: writer, clock: clock, options: options).run(progress: sink)
        }
        let check = try await withProgress(rendering: global.renderer) { sink in
            try await DeploymentChecker(deployment: deployment).check(progress: sink)
        }
        struct Summary: Encodable {
            let deployment: String
            let simulation: SimulationReport
            let check: CheckReport
        }
        try global.emit(Summary(deployment: location.description, simulation: simulation, check: check)) {
            """
            1. created a Grace deployment in \(location.folder.path)
               (database \(DeploymentLocation.databaseFileName), objects in \(DeploymentLocation.objectsFolderName)/)
            \(SimulateCommand.summary(simulation, location: location).split(separator: "\n").map { "2. " + $0 }.joined(separator: "\n"))
            3. \(CheckCommand.summary(check).split(separator: "\n").joined(separator: "\n   "))
            next: grace-backup check --deployment \(location.folder.path)
                  grace-backup hash <folder>   (Grace's hashes of any checkout)
            """
        }
        if !check.isClean { throw CheckFoundProblems(count: check.problems.count) }
    }

    static func makeTemporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("grace-backup-quickstart-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
