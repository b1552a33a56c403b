import Foundation
@testable import GraceBackup
import GraceBackupTesting
import GraceGit
import GraceModel
import GraceStorage
import Testing

struct BundleImportTests {
    /// A new empty repository in a new deployment, and an importer into it.
    static func target(_ fixture: VaultFixture, name: String) async throws -> (Deployment, RepositoryID, BundleImporter) {
        let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
        let deployment = try await DeploymentLocation(folder: fixture.root.appendingPathComponent(name)).open(.create, now: { clock.now() })
        let writer = GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(5))
        let owner = try await writer.createOwner(name: "importer")
        let organization = try await writer.createOrganization(name: "importer", owner: owner)
        let (repository, _) = try await writer.createRepository(name: "imported", organization: organization)
        return (deployment, repository.repositoryID, BundleImporter(deployment: deployment, writer: writer, clock: clock))
    }

    static func trees(of bundle: URL, in folder: URL) async throws -> [String] {
        let clone = folder.appendingPathComponent("clone-\(UUID().uuidString.prefix(6))")
        try await GitTool.run(["clone", "-q", "-b", "main", bundle.path, clone.path])
        return try await GitTool.run(["log", "--first-parent", "--reverse", "--format=%T"], in: clone).split(separator: "\n").map(String.init)
    }

    /// Contents too large to hold (`GitLargeObject.bytes` or more) go out streamed and come back streamed:
    /// exported and imported into another deployment, they are the same file versions, hashes and bytes,
    /// and `check` finds nothing wrong there.
    @Test func largeContentsRoundTripStreamedBothWays() async throws {
        let fixture = try await VaultFixture(files: 10, operations: 2)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        var tree = try await BundleExportTests.latestTree(fixture, repository: repository)
        let large = GitLargeObject.bytes + 1_000
        let noise = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: large)
        tree.files["media/large.bin"] = .content(Array(noise))
        let rows = Array((0..<1_000).map { "\($0),\($0 % 97),row of a large table\n" }.joined().utf8)
        tree.files["data/large.csv"] = .content(Array(repeating: rows, count: large / rows.count + 1).flatMap { $0 })
        try await BundleExportTests.promote(tree, fixture, repository: repository, branch: "large", recording: "Large files", promoting: "Promote large files")
        let bundle = fixture.root.appendingPathComponent("large.bundle")
        _ = try await BundleExportTests.export(fixture, BundleExportRequest(repositoryID: repository, branches: ["main"]), base: nil, to: bundle)

        let (deployment, imported, importer) = try await Self.target(fixture, name: "target")
        let report = try await importer.run(bundles: [bundle], into: .repository(imported))
        #expect((report.commits["main"] ?? 0) >= 2)
        #expect(try await DeploymentChecker(deployment: deployment).check().problems == [])
        let source = try await BundleExportTests.latestPromotion(fixture, repository: repository)
        let view = try await deployment.database.openReadView(.latest)
        let importedMain = try #require(try await view.branches(in: imported).first { $0.branchName == "main" })
        let importedRoot = try #require(try await view.references(in: imported).filter { $0.branchID == importedMain.branchID && $0.referenceType == .promotion }
            .max { $0.createdAt < $1.createdAt }).directoryID
        let before = try await BundleImporter.files(under: source.directoryID, in: try await fixture.deployment.database.openReadView(.latest))
        let after = try await BundleImporter.files(under: importedRoot, in: view)
        // `check` read every object there and found its hashes: the same hashes, the same bytes.
        #expect(Set(after.keys) == Set(before.keys) && after.keys.contains("media/large.bin") && after.keys.contains("data/large.csv"))
        for (path, original) in before {
            let copy = try #require(after[path])
            #expect(copy.sha256Hash == original.sha256Hash && copy.blake3Hash == original.blake3Hash && copy.size == original.size && copy.isBinary == original.isBinary, "\(path)")
        }
    }

    @Test func anExportedChainImportsBackWithTheSameTrees() async throws {
        let fixture = try await VaultFixture(files: 80, operations: 30)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let request = BundleExportRequest(repositoryID: repository, branches: ["main"])
        let first = fixture.root.appendingPathComponent("1.bundle"), second = fixture.root.appendingPathComponent("2.bundle")
        let (_, base) = try await BundleExportTests.export(fixture, request, base: nil, to: first)
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 2)
        _ = try await BundleExportTests.export(fixture, request, base: base, to: second)
        let whole = fixture.root.appendingPathComponent("whole.bundle")
        _ = try await BundleExportTests.export(fixture, request, base: nil, to: whole)

        let (deployment, imported, importer) = try await Self.target(fixture, name: "target")
        // The incremental bundle alone lacks its base: refused, named, nothing written.
        let before = try await deployment.database.openReadView(.latest).position
        do {
            _ = try await importer.run(bundles: [second], into: .repository(imported))
            Issue.record("an incremental bundle without its base must be refused")
        } catch let failure as BundleImportFailure {
            guard case let .missingPrerequisite(file, commit) = failure else { throw failure }
            #expect(file == second.path && commit == base.refs["refs/heads/main"], "\(failure)")
        }
        #expect(try await deployment.database.openReadView(.latest).position == before)
        let report = try await importer.run(bundles: [first, second], into: .repository(imported))
        #expect(report.bundles == 2 && (report.commits["main"] ?? 0) >= 3)
        #expect(try await DeploymentChecker(deployment: deployment).check().problems == [])

        // Exported again from the target, the history has the original's trees, in order.
        let back = fixture.root.appendingPathComponent("back.bundle")
        _ = FileManager.default.createFile(atPath: back.path, contents: nil)
        let handle = try FileHandle(forUpdating: back)
        _ = try await BundleExporter(deployment: deployment).export(BundleExportRequest(repositoryID: imported, branches: ["main"]), base: nil, destination: handle)
        try handle.close()
        let original = try await Self.trees(of: whole, in: fixture.root)
        let roundTripped = try await Self.trees(of: back, in: fixture.root)
        // The target's own initial empty promotion comes first.
        #expect(Array(roundTripped.dropFirst()) == original)

        // Imported back into the repository it came from, nothing is new.
        let home = BundleImporter(deployment: fixture.deployment, writer: fixture.writer, clock: fixture.clock)
        let again = try await home.run(bundles: [first, second], into: .repository(repository))
        #expect(again.commits.isEmpty && again.alreadyPresent == original.count)
    }

    /// What Grace has no word for is counted: a submodule left out, a symbolic link stored as a file
    /// holding its target, an executable stored as a plain file.
    @Test func submodulesLinksAndExecutablesAreCountedAsTheyAreMapped() async throws {
        let fixture = try await VaultFixture(files: 1, operations: 0)
        defer { fixture.remove() }
        let source = fixture.root.appendingPathComponent("modes")
        try await GitTool.run(["init", "-q", "-b", "main", source.path])
        try Data("echo hi\n".utf8).write(to: source.appendingPathComponent("run.sh"))
        try await GitTool.run(["add", "run.sh"], in: source)
        try await GitTool.run(["update-index", "--chmod=+x", "run.sh"], in: source)
        try FileManager.default.createSymbolicLink(atPath: source.appendingPathComponent("link").path, withDestinationPath: "run.sh")
        try await GitTool.run(["add", "link"], in: source)
        try await GitTool.run(["commit", "-q", "-m", "first"], in: source)
        let first = try await GitTool.run(["rev-parse", "HEAD"], in: source).trimmingCharacters(in: .whitespacesAndNewlines)
        try await GitTool.run(["update-index", "--add", "--cacheinfo", "160000,\(first),vendor/sub"], in: source)
        try await GitTool.run(["commit", "-q", "-m", "second"], in: source)
        let modes = try await GitTool.run(["ls-tree", "-r", "HEAD"], in: source)
        #expect(modes.contains("100755 blob") && modes.contains("120000 blob") && modes.contains("160000 commit"), "\(modes)")
        try await GitTool.run(["bundle", "create", "-q", "../modes.bundle", "main"], in: source)

        let (deployment, imported, importer) = try await Self.target(fixture, name: "target")
        let report = try await importer.run(bundles: [fixture.root.appendingPathComponent("modes.bundle")], into: .repository(imported))
        // Two commits hold the link and the executable, one the submodule.
        #expect(report.commits["main"] == 2 && report.symbolicLinksAsFiles == 2 && report.executableBitsDropped == 2 && report.submodulesLeftOut == 1,
                "\(report)")
        let promotions = try await deployment.database.openReadView(.latest).references(in: imported)
            .filter { $0.referenceType == .promotion }.sorted { $0.createdAt < $1.createdAt }
        let files = try await BundleExportTests.graceTreeIn(deployment, root: try #require(promotions.last?.directoryID))
        #expect(files == ["run.sh": Array("echo hi\n".utf8), "link": Array("run.sh".utf8)])
    }

    @Test func aBundleGitWroteImportsAndADamagedOneImportsNothing() async throws {
        let fixture = try await VaultFixture(files: 1, operations: 0)
        defer { fixture.remove() }
        let source = fixture.root.appendingPathComponent("source")
        try await GitTool.run(["init", "-q", "-b", "main", source.path])
        for round in 0..<3 {
            for (path, text) in [("a/b/c.txt", "c \(round)\n"), ("top.md", "top\n"), ("a/\(round).txt", String(repeating: "x", count: 5000 * (round + 1)))] {
                let url = source.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            try await GitTool.run(["add", "."], in: source)
            try await GitTool.run(["commit", "-q", "-m", "round \(round)"], in: source)
            if round == 1 { try await GitTool.run(["tag", "v1"], in: source) }
        }
        try await GitTool.run(["tag", "-a", "v2", "-m", "an annotated tag names a tag object, not the commit"], in: source)
        // A tag on another branch's commit: that commit becomes a Commit reference, which Grace does not tag.
        try await GitTool.run(["checkout", "-q", "-b", "side"], in: source)
        try Data("side\n".utf8).write(to: source.appendingPathComponent("side.txt"))
        try await GitTool.run(["add", "."], in: source)
        try await GitTool.run(["commit", "-q", "-m", "on the side"], in: source)
        try await GitTool.run(["tag", "on-side"], in: source)
        try await GitTool.run(["checkout", "-q", "main"], in: source)
        try await GitTool.run(["bundle", "create", "-q", "../git.bundle", "--all"], in: source)
        let bundle = fixture.root.appendingPathComponent("git.bundle")

        // A pack whose checksum is right but that lacks a blob only the newest tree names.
        let missing = try await GitTool.run(["rev-parse", "main:a/2.txt"], in: source).trimmingCharacters(in: .whitespacesAndNewlines)
        let listed = try await GitTool.run(["rev-list", "--objects", "main"], in: source).split(separator: "\n").map { String($0.prefix(40)) }
        let packName = try await GitTool.run(["pack-objects", "-q", "../partial"], in: source,
                                             input: Data(listed.filter { $0 != missing }.joined(separator: "\n").utf8 + [0x0A]))
        let tip = try await GitTool.run(["rev-parse", "main"], in: source).trimmingCharacters(in: .whitespacesAndNewlines)
        let lacking = fixture.root.appendingPathComponent("lacking.bundle")
        let pack = try Data(contentsOf: fixture.root.appendingPathComponent("partial-\(packName.trimmingCharacters(in: .whitespacesAndNewlines)).pack"))
        try (Data("# v2 git bundle\n\(tip) refs/heads/main\n\n".utf8) + pack).write(to: lacking)

        let (deployment, imported, importer) = try await Self.target(fixture, name: "target")
        var damaged = try Data(contentsOf: bundle)
        damaged[damaged.count - 100] ^= 0x40
        let broken = fixture.root.appendingPathComponent("broken.bundle")
        try damaged.write(to: broken)
        let before = try await deployment.database.openReadView(.latest).position
        do {
            _ = try await importer.run(bundles: [broken], into: .repository(imported))
            Issue.record("a damaged bundle must be refused")
        } catch let failure as BundleImportFailure {
            #expect(failure.kind == .integrity && failure.description.contains("broken.bundle"), "\(failure)")
        }
        #expect(try await deployment.database.openReadView(.latest).position == before)
        let truncated = fixture.root.appendingPathComponent("truncated.bundle")
        try Data(try Data(contentsOf: bundle).prefix(300)).write(to: truncated)
        await #expect(throws: BundleImportFailure.self) { try await importer.run(bundles: [truncated], into: .repository(imported)) }
        #expect(try await deployment.database.openReadView(.latest).position == before)
        do {
            _ = try await importer.run(bundles: [lacking], into: .repository(imported))
            Issue.record("a bundle lacking a blob must be refused")
        } catch let failure as BundleImportFailure {
            guard case let .missingObject(id, neededBy, file) = failure else { throw failure }
            #expect(id == missing && neededBy.hasPrefix("a/2.txt in commit \(tip)") && file == lacking.path, "\(failure)")
        }
        // Refused before the first commit's promotion was written, though the commits before the tip have all their files.
        #expect(try await deployment.database.openReadView(.latest).position == before)

        let report = try await importer.run(bundles: [bundle], into: .repository(imported))
        #expect(report.commits["main"] == 3 && report.commits["side"] == 1 && report.tags == ["v1", "v2"] && report.tagsLeftOut == ["on-side"])
        let view = try await deployment.database.openReadView(.latest)
        let promotions = try await view.references(in: imported).filter { $0.referenceType == .promotion }.sorted { $0.createdAt < $1.createdAt }
        #expect(promotions.last?.referenceText == "round 2")
        let root = try #require(promotions.last?.directoryID)
        let files = try await BundleExportTests.graceTreeIn(deployment, root: root)
        #expect(files["a/b/c.txt"] == Array("c 2\n".utf8) && files["a/2.txt"]?.count == 15_000 && files.count == 5)
    }
}
