import ArgumentParser
import GraceBackup
import GraceModel
import GraceStorage

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a live deployment's closure: references, directory versions, sizes, both hashes, and every object's bytes.",
        discussion: "Changes nothing. Exits 0 when clean, 4 when any problem is found (docs/exit-codes.md).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions

    func run() async throws {
        let opened = try await deployment.open(.openExisting)
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await DeploymentChecker(deployment: opened).check(progress: sink)
        }
        try global.emit(report) { Self.summary(report) }
        if !report.isClean { throw CheckFoundProblems(count: report.problems.count) }
    }

    static func summary(_ report: CheckReport) -> String {
        var lines = [
            "checked \(report.deployment) as of change \(report.position)",
            "  \(report.repositories) repositories, \(report.branches) branches, \(report.references) references, "
                + "\(report.directoryVersions) directory versions, \(report.objects) objects (\(formatBytes(report.bytesHashed)) hashed) "
                + "in \(decimal(report.elapsedSeconds, places: 1)) s",
        ]
        if report.isClean {
            lines.append("  no problems found")
        } else {
            lines.append("  \(report.problems.count) problem(s):")
            lines += report.problems.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}

struct CheckFoundProblems: ResultAlreadyPrinted {
    let count: Int
    var kind: FailureKind { .integrity }
    var description: String { "check found \(count) problem(s)" }
}
