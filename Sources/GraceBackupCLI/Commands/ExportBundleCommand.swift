import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

struct ExportBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-bundle",
        abstract: "Export a Grace repository as a Git bundle that `git clone` reads: promotions as commits.",
        discussion: """
            --output FILE.bundle writes one bundle: full, or with --since PREVIOUS.bundle an incremental one whose \
            prerequisites are the commits PREVIOUS holds. --output LOCATION (a folder or file:// URL) keeps a catalog \
            there: each run writes the next bundle of the chain, holding only what is new (nothing at all when nothing \
            is). --follow keeps running and exports after every promotion. docs/git-mapping.md says how Grace maps to Git.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Option(help: "The Grace repository to export (`grace-backup repositories` lists them).", transform: parseRepositoryID)
    var repositoryID: RepositoryID
    @Option(name: .customLong("branch"), help: "A branch to export (repeat for several).") var branches: [String] = []
    @Flag(help: "Export every branch that has promotions.") var allBranches = false
    @Option(help: "`commits` also exports each child branch's commits, based on the promotion it started from.") var include: [String] = []
    @Option(help: "A FILE.bundle (a local path ending in .bundle), or a LOCATION (a folder, a file:// or s3:// URL) that keeps a catalog of the chain.") var output: String
    @Option(help: "With a FILE output: build on this earlier bundle (its commits become prerequisites).") var since: String?
    @Flag(help: "With a LOCATION output: keep running, exporting after each promotion; a database or store that is away is waited for.") var follow = false
    @Flag(help: "With a LOCATION output: write a full bundle (no prerequisites) as the next of the chain, copying the entries of the chain's bundles where it can and reusing the ids the catalog recorded.")
    var full = false
    @Option(help: "With --follow: seconds between looks for new promotions.") var poll: Double = 1
    @Option(help: "With --follow: stop after this many seconds (for tests); runs until a signal otherwise.") var duration: Double?

    /// A local path ending in `.bundle`; a URL (`file://`, `s3://`) is always a LOCATION, whatever its end.
    var toFile: Bool { output.hasSuffix(".bundle") && !output.contains("://") }

    func validate() throws {
        guard allBranches != !branches.isEmpty else { throw ValidationError("give --branch NAME (one or more) or --all-branches") }
        for value in include where value != "commits" { throw ValidationError("--include takes `commits`, not \"\(value)\"") }
        if since != nil && !toFile { throw ValidationError("--since applies to a FILE.bundle output; a LOCATION output builds on its own catalog") }
        if follow && toFile { throw ValidationError("--follow needs a LOCATION output, where each bundle of the chain is kept") }
        if full && (toFile || follow) { throw ValidationError("--full applies to a single export to a LOCATION output (a FILE output without --since is full already)") }
        guard poll > 0 else { throw ValidationError("--poll must be positive") }
    }

    var request: BundleExportRequest {
        BundleExportRequest(repositoryID: repositoryID, branches: allBranches ? nil : branches, includeCommits: include.contains("commits"))
    }

    func run() async throws {
        if toFile {
            let report = try await exportToFile(try await deployment.open(.readOnly))
            try global.emit(report) { Self.describe(report, to: output) }
            return
        }
        let store = try await stores.open(try StorageLocation(parsing: output), create: true, durability: .onSynchronize)
        let catalog = ExportCatalog(store: store, repositoryID: repositoryID)
        guard follow else {
            // The deployment opens while the catalog's newest export and the state after it are read: the two
            // longest waits of a start, each on a core of its own.
            async let opening = deployment.open(.readOnly)
            var tip = try await catalog.tip()
            let opened = try await opening
            let (report, record) = try await exportToCatalog(opened, catalog, continuing: &tip)
            try global.emit(report) { Self.describe(report, to: record?.bundle ?? output) }
            exitLeavingToTheSystem(opened, tip as Any)
        }
        let opened = try await deployment.open(.readOnly)
        let stop = StopSignal()
        let started = ContinuousClock.now
        var seen = try await catalog.newestRecord()?.position ?? 0
        // The newest export and the state after it, as the last export left them: the next reads neither again.
        // Read with the first export, not now: it may come long after, when another exporter has written since.
        var tip: CatalogTip?
        writeLine("export-bundle: following \(opened.location) for promotions of repository \(repositoryID)")
        var backoff = Backoff(first: .seconds(poll), limit: .seconds(60))
        var saidNothingToExport = false
        while true {
            let stopping = stop.isSet || duration.map { ContinuousClock.now - started >= .seconds($0) } ?? false
            do {
                let changes = try await opened.database.changes(after: seen, limit: 100_000)
                if changes.contains(where: { $0.repositoryID == repositoryID && $0.isNewPromotion }) || stopping && !changes.isEmpty {
                    // Promotions often come in a burst (a promotion set): one bundle for what arrived together.
                    if !stopping { try await Task.sleep(for: .milliseconds(200)) }
                    do {
                        let (report, record) = try await exportToCatalog(opened, catalog, continuing: &tip)
                        tip = tip?.heldInMaps()
                        if global.json { printJSONLine(report) } else if let record { writeLine(Self.describe(report, to: record.bundle)) }
                        seen = report.position
                    } catch let failure as BundleExportFailure {
                        // A branch followed by name that has nothing to export yet: a follower waits for it.
                        guard case .nothingToExport = failure else { throw failure }
                        if !saidNothingToExport { writeLine("export-bundle: \(failure); waiting until it has one") }
                        saidNothingToExport = true
                        seen = changes.last?.sequence ?? seen
                    }
                } else if let last = changes.last {
                    seen = last.sequence
                }
                backoff.reset()
            } catch let failure as any BackupFailure where !stopping && (failure.kind == .unavailable || failure.kind == .locked) {
                // A database or store away (a restart, a failover, a network cut), or another exporter that
                // wrote this number first: a follower waits and tries again, twice as long each time up to a
                // minute, and the next export takes in what arrived meanwhile.
                let pause = backoff.next()
                writeLine("export-bundle: \(failure); trying again in \(pause)")
                try await sleep(for: pause, unless: { stop.isSet })
                continue
            }
            if stopping { break }
            try await Task.sleep(for: .seconds(poll))
        }
    }

    private func exportToFile(_ opened: Deployment) async throws -> BundleExportReport {
        let destination = URL(fileURLWithPath: output)
        let base = try since.map { try ExportBase.reading(bundle: URL(fileURLWithPath: $0)) }
        let partial = try ScratchFiles.create(beside: destination)
        defer { try? FileManager.default.removeItem(at: partial) }
        let handle = try FileHandle(forUpdating: partial)
        let (report, _) = try await withProgress(rendering: global.renderer) { sink in
            try await BundleExporter(deployment: opened).export(request, base: base, destination: handle, progress: sink)
        }
        try handle.synchronize()
        try handle.close()
        if !report.nothingNew {
            if FileManager.default.fileExists(atPath: destination.path) { try FileManager.default.removeItem(at: destination) }
            try FileManager.default.moveItem(at: partial, to: destination)
        }
        return report
    }

    private func exportToCatalog(_ opened: Deployment, _ catalog: ExportCatalog, continuing tip: inout CatalogTip?) async throws -> (BundleExportReport, BundleExportRecord?) {
        try await withProgress(rendering: global.renderer) { sink in
            try await catalog.exportNext(from: opened, request, full: full, now: wallClock(), continuing: &tip, progress: sink)
        }
    }

    static func describe(_ report: BundleExportReport, to destination: String) -> String {
        if report.nothingNew { return "nothing new in repository \(report.repositoryID) since the last export (change \(report.position)); no bundle written" }
        var lines = ["\(report.full ? "full" : "incremental") bundle of repository \(report.repositoryID) at change \(report.position) -> \(destination)",
                     "  \(report.newCommits) new commit(s), \(report.objects) objects (\(report.copiedObjects > 0 ? "\(report.copiedObjects) copied from the catalog's bundles; " : "")"
                         + "\(report.blobs) blobs, \(report.trees) trees, \(report.deltas) deltas), \(formatBytes(report.bundleBytes))"]
        if !report.prerequisites.isEmpty { lines.append("  \(report.prerequisites.count) prerequisite(s): fetch it into a clone of the earlier bundles") }
        lines += report.refs.sorted { $0.key < $1.key }.map { "  \($0.key) \($0.value)" }
        if !report.tagsLeftOut.isEmpty { lines.append("  tags left out (no promotion of the same root before them): \(report.tagsLeftOut.joined(separator: ", "))") }
        for (from, to) in report.renamedRefs.sorted(by: { $0.key < $1.key }) { lines.append("  \(from) exported as \(to) (Git's ref-name rules)") }
        return lines.joined(separator: "\n")
    }
}
