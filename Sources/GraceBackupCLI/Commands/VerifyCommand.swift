import ArgumentParser
import GraceBackup
import GraceStorage

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a vault: every snapshot's records intact and every object present; with --read-data, every object re-hashed.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Flag(help: "Read every object back and check both of Grace's hashes.") var readData = false
    @Option(help: "Read back a random share of the objects, e.g. 5%: a different sample each run.", transform: { text in
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let percent = Double(number), percent > 0, percent <= 100 else { throw ValidationError("\"\(text)\" is not a percentage such as 5%") }
        return percent / 100
    })
    var readDataSubset: Double?

    func run() async throws {
        let opened = try await vault.open()
        let data: DataCheck = readData ? .all : readDataSubset.map { .subset($0) } ?? .none
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await VaultVerifier(vault: opened).verify(data: data, sampleSeed: UInt64.random(in: 0...UInt64.max), progress: sink)
        }
        try global.emit(report) {
            var lines = ["verified \(report.vault): \(report.snapshots) snapshots, \(report.records) records, \(report.objectsReferenced) objects referenced, "
                + "\(report.objectsRead) read back (\(formatBytes(report.bytesRead)))"]
            lines += report.isClean ? ["  no problems found"] : ["  \(report.problems.count) problem(s):"] + report.problems.map { "  - \($0)" }
            return lines.joined(separator: "\n")
        }
        if !report.isClean { throw VerifyFoundProblems(count: report.problems.count) }
    }
}

struct VerifyFoundProblems: ResultAlreadyPrinted {
    let count: Int
    var kind: FailureKind { .integrity }
    var description: String { "verify found \(count) problem(s)" }
}
