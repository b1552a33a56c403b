import Foundation
import GraceModel
import GraceStorage
import Testing

struct GraceWriterTests {
    struct Fixture {
        let folder: TemporaryFolder
        let clock: SimulatedClock
        let deployment: Deployment
        let writer: GraceWriter

        init(seed: UInt64 = 1) async throws {
            folder = try TemporaryFolder()
            let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
            self.clock = clock
            deployment = try await DeploymentLocation(folder: folder.url).open(.create, now: { clock.now() })
            writer = GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(seed))
        }
    }

    /// A content stored in pieces, read twice, is the same file version and the same stored object as one
    /// stored whole; one that reads differently the second time is refused and nothing is stored.
    @Test func aContentStoredInPiecesIsTheSameAsOneStoredWholeAndMustReadTheSameTwice() async throws {
        let fixture = try await Fixture()
        let (whole, pieces) = (try await Fixture(seed: 2), fixture)
        let text = Array(String(repeating: "a line of a file stored in pieces\n", count: 5_000).utf8)
        let binary = [UInt8](repeating: 0, count: 3) + Array(text.prefix(100_000))
        let repository = RepositoryID(UUID())
        for (path, content) in [("docs/notes.txt", text), ("data/table.bin", binary)] {
            let (expected, expectedBytes) = try await whole.writer.store(content, at: path, in: repository)
            let (version, uploaded) = try await pieces.writer.store(at: path, in: repository) { piece in
                for start in stride(from: 0, to: content.count, by: 7_777) {
                    try content[start..<min(content.count, start + 7_777)].withUnsafeBytes(piece)
                }
            }
            #expect(version == expected && uploaded == expectedBytes, "\(path)")
            let key = try ObjectKey(version.blobUri)
            #expect(try await pieces.deployment.objects.getBytes(key) == whole.deployment.objects.getBytes(key), "\(path)")
            // Stored once: a second store finds the object there and uploads nothing.
            #expect(try await pieces.writer.store(at: path, in: repository) { try content.withUnsafeBytes($0) }.uploadedBytes == 0)
        }
        var readings = 0
        do {
            _ = try await fixture.writer.store(at: "changing.txt", in: repository) { piece in
                readings += 1
                try Array("reading \(readings)\n".utf8).withUnsafeBytes(piece)
            }
            Issue.record("a content that reads differently the second time must be refused")
        } catch let failure as StorageFailure {
            #expect(failure.reason == .integrity && failure.message.contains("changing.txt"), "\(failure)")
        }
        var objects: [ObjectSummary] = []
        for try await object in fixture.deployment.objects.list(under: .all) where object.key.rawValue.contains("changing") { objects.append(object) }
        #expect(readings == 2 && objects.isEmpty)
    }

    @Test func promotionPointsTheParentAtTheChildsCommitAndRebasesTheChild() async throws {
        let fixture = try await Fixture()
        let owner = try await fixture.writer.createOwner(name: "o")
        let organization = try await fixture.writer.createOrganization(name: "g", owner: owner)
        let (_, main) = try await fixture.writer.createRepository(name: "r", organization: organization)
        let child = try await fixture.writer.createBranch(name: "alice", parent: main.branchID)
        let tree = WorkingTree(files: ["README.md": .content(Array("abc".utf8)), "src/app/App.fs": .content([0, 1, 2])], emptyDirectories: ["docs/empty"])
        let commit = try await fixture.writer.record(.commit, of: tree, on: child.branchID, message: "first")
        let (promotion, rebase) = try await fixture.writer.promote(child.branchID, message: "ship it")

        #expect(promotion.branchID == main.branchID)
        #expect(promotion.directoryID == commit.root.directoryVersionID)
        #expect(promotion.hashes == commit.root.hashes)
        #expect(rebase.branchID == child.branchID && rebase.links == [.basedOn(promotion.referenceID)])
        #expect(rebase.referenceID == GraceWriter.rebaseReferenceID(promotion: promotion.referenceID))
        #expect(commit.files["README.md"]?.isBinary == false && commit.files["src/app/App.fs"]?.isBinary == true)

        let view = try await fixture.deployment.database.openReadView(.latest)
        #expect(try await view.branch(main.branchID)?.latestPromotion?.referenceID == promotion.referenceID)
        #expect(try await view.branch(child.branchID)?.basedOn?.referenceID == promotion.referenceID)
        // The root holds README.md and the folders docs and src; docs/empty is a versioned empty folder.
        let paths = try await view.all(DirectoryVersion.self, .directoryVersion).map(\.relativePath)
        #expect(Set(paths).isSuperset(of: [".", "docs", "docs/empty", "src", "src/app"]))
        // Objects are Grace's: text gzip-compressed, binaries raw, under the repository's container.
        let readme = try ObjectKey.fileVersion(commit.files["README.md"]!, in: commit.reference.repositoryID)
        let stored = try await fixture.deployment.objects.getBytes(readme)
        #expect(Array(stored.prefix(2)) == [0x1f, 0x8b])

        let events = try await fixture.deployment.database.events(after: 0, limit: 1000).map(\.event.type.description)
        #expect(events.contains("BranchEvent.Promoted") && events.contains("ReferenceEvent.Created") && events.contains("BranchEvent.Rebased"))
    }

    @Test func promotingABranchBehindItsParentIsRefused() async throws {
        let fixture = try await Fixture()
        let owner = try await fixture.writer.createOwner(name: "o")
        let organization = try await fixture.writer.createOrganization(name: "g", owner: owner)
        let (_, main) = try await fixture.writer.createRepository(name: "r", organization: organization)
        let alice = try await fixture.writer.createBranch(name: "alice", parent: main.branchID)
        let bob = try await fixture.writer.createBranch(name: "bob", parent: main.branchID)
        let tree = WorkingTree(files: ["a.txt": .content(Array("a".utf8))])
        _ = try await fixture.writer.record(.commit, of: tree, on: alice.branchID, message: "a")
        _ = try await fixture.writer.record(.commit, of: tree, on: bob.branchID, message: "b")
        _ = try await fixture.writer.promote(alice.branchID, message: "alice first")
        do {
            _ = try await fixture.writer.promote(bob.branchID, message: "bob second")
            Issue.record("a branch behind its parent's latest promotion must not promote")
        } catch WriterFailure.notBasedOnLatestPromotion(let branch, let parent) {
            #expect(branch == "bob" && parent == main.branchName)
        }
    }

    @Test func retentionDeletesSavesAfterSaveDaysAndKeepsCommits() async throws {
        let fixture = try await Fixture()
        let owner = try await fixture.writer.createOwner(name: "o")
        let organization = try await fixture.writer.createOrganization(name: "g", owner: owner)
        let (_, main) = try await fixture.writer.createRepository(name: "r", organization: organization)
        let child = try await fixture.writer.createBranch(name: "alice", parent: main.branchID)
        let tree = WorkingTree(files: ["a.txt": .content(Array("a".utf8))])
        let save = try await fixture.writer.record(.save, of: tree, on: child.branchID, message: "s")
        let commit = try await fixture.writer.record(.commit, of: tree, on: child.branchID, message: "c")
        #expect(try await fixture.writer.applyRetention(asOf: fixture.clock.now().adding(seconds: 6 * 86_400)) == 0)
        #expect(try await fixture.writer.applyRetention(asOf: fixture.clock.now().adding(seconds: 7 * 86_400 + 1)) == 1)
        let view = try await fixture.deployment.database.openReadView(.latest)
        #expect(try await view.reference(save.reference.referenceID) == nil)
        #expect(try await view.reference(commit.reference.referenceID) != nil)
        let deleted = try await fixture.deployment.database.events(after: 0, limit: 1000).filter { $0.event.type == .referencePhysicalDeleted }
        #expect(deleted.count == 1)
        #expect(String(decoding: deleted[0].event.payloadJSON, as: UTF8.self).contains("Save: automatic deletion after 7 days"))
    }

    @Test func theSameSeedGivesTheSameDeployment() async throws {
        func changeFeed(seed: UInt64) async throws -> [String] {
            let fixture = try await Fixture(seed: seed)
            var options = SimulationOptions()
            options.seed = seed
            options.files = 60
            options.operations = 40
            _ = try await Simulator(writer: fixture.writer, clock: fixture.clock, options: options).run()
            return try await fixture.deployment.database.changes(after: 0, limit: 100_000).map { "\($0.sequence) \($0.committedAt) \($0.document ?? "-")" }
        }
        let first = try await changeFeed(seed: 42)
        #expect(first.count > 100)
        #expect(try await changeFeed(seed: 42) == first)
        #expect(try await changeFeed(seed: 43) != first)
    }

    @Test func unsafePathsAreRefusedBeforeAnythingIsStored() async throws {
        let fixture = try await Fixture()
        let owner = try await fixture.writer.createOwner(name: "o")
        let organization = try await fixture.writer.createOrganization(name: "g", owner: owner)
        let (_, main) = try await fixture.writer.createRepository(name: "r", organization: organization)
        let child = try await fixture.writer.createBranch(name: "alice", parent: main.branchID)
        let before = try await fixture.deployment.database.changes(after: 0, limit: 1000).count
        await #expect(throws: UnsafePath.self) {
            try await fixture.writer.record(.save, of: WorkingTree(files: ["../escape.txt": .content([1])]), on: child.branchID, message: "x")
        }
        #expect(try await fixture.deployment.database.changes(after: 0, limit: 1000).count == before)
    }
}
