import ArgumentParser
import Foundation
import GraceModel
import GraceStorage

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON on standard output, and progress as JSON lines on standard error.")
    var json = false

    var renderer: any ProgressRenderer { json ? JSONLinesProgressRenderer() : TerminalProgressRenderer() }

    /// Prints a result: JSON when asked, else the human text.
    func emit(_ value: some Encodable, human: () -> String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        } else {
            print(human())
        }
    }
}

/// A `--repository-id` option's value: one parser for every command that takes it.
func parseRepositoryID(_ text: String) throws -> RepositoryID {
    guard let id = RepositoryID(text) else { throw ValidationError("\"\(text)\" is not a repository id (a Guid)") }
    return id
}

/// `--deployment LOCATION`, parsed once at the edge.
struct DeploymentOptions: ParsableArguments {
    @Option(name: .customLong("deployment"),
            help: "The Grace deployment: a folder path or file:///path (holding grace.sqlite, and objects/ or deployment.json naming where its objects are), or postgres://user@host:port/database (password from PGPASSWORD).",
            transform: { try DeploymentLocation(parsing: $0) })
    var location: DeploymentLocation

    func open(_ mode: DeploymentLocation.OpenMode, objects: StorageLocation? = nil, now: @escaping @Sendable () -> Instant = { Instant(Date()) }) async throws -> Deployment {
        try await location.open(mode, objects: objects, now: now, stores: stores, databases: databases)
    }
}

/// One compact JSON object on one line of standard output: what a long-running command (`stream`,
/// `export-bundle --follow`) prints per event, so a reader can take the lines one by one.
func printJSONLine(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { return }
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}
