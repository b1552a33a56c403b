import Foundation
import GRDB
import GraceBackup
import GraceModel
import GraceStorage
import Testing

/// A simulated deployment and a vault, each in its own folder.
struct VaultFixture {
    let root: URL
    let clock: SimulatedClock
    let deployment: Deployment
    let writer: GraceWriter
    let vault: Vault

    init(files: Int = 80, operations: Int = 30, seed: UInt64 = 11) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("vault-test-\(UUID().uuidString)")
        let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
        self.clock = clock
        deployment = try await DeploymentLocation(folder: root.appendingPathComponent("deployment")).open(.create, now: { clock.now() })
        writer = GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(seed))
        vault = try await Vault.initialize(in: try FileSystemObjectStore(root: root.appendingPathComponent("vault"), create: true), now: clock.now())
        try await simulate(files: files, operations: operations, seed: seed)
    }

    func simulate(files: Int, operations: Int, seed: UInt64) async throws {
        var options = SimulationOptions()
        options.seed = seed
        options.files = files
        options.operations = operations
        _ = try await Simulator(writer: writer, clock: clock, options: options).run()
    }

    func snapshot() async throws -> SnapshotRecord {
        try await Snapshotter(deployment: deployment, vault: vault, now: { clock.now() }).snapshot()
    }

    func emptyTarget(_ name: String) async throws -> Deployment {
        try await DeploymentLocation(folder: root.appendingPathComponent(name)).open(.create, now: { clock.now() })
    }

    /// Every document of a deployment, by kind and id.
    static func documents(of deployment: Deployment) async throws -> [String: String] {
        let view = try await deployment.database.openReadView(.snapshot)
        var documents: [String: String] = [:]
        for kind in EntityKind.allCases {
            for document in try await view.documents(of: kind, in: nil) { documents["\(kind.rawValue) \(document.id)"] = document.json }
        }
        return documents
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Deletes a repository outright, as an operator's mistake would: every row that names it,
    /// bypassing the change feed.
    func deleteRepositoryRows(_ id: RepositoryID) async throws {
        let queue = try DatabaseQueue(path: DeploymentLocation.databasePath(in: deployment.location.folder!))
        try await queue.write { db in
            for table in ["repositories", "branches", "refs", "directory_versions"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE repository_id = ?", arguments: [id.description])
            }
        }
        try queue.close()
    }
}

/// For each phase of an operation's progress: the items it said it would cover, and those it counted.
enum PhaseCounts {
    static func of(_ operation: (ProgressSink) async throws -> Void) async throws -> [ProgressPhase: (total: Int?, items: Int)] {
        let (events, sink) = AsyncStream.makeStream(of: ProgressEvent.self)
        try await operation(sink)
        sink.finish()
        var counted: [ProgressPhase: (total: Int?, items: Int)] = [:]
        var current: ProgressPhase?
        for await event in events {
            switch event {
            case let .phaseStarted(phase, totalItems, _): current = phase; counted[phase] = (totalItems, 0)
            case let .advanced(items, _): if let current { counted[current]?.items += items }
            case .phaseFinished: current = nil
            case .note: break
            }
        }
        return counted
    }
}

struct SnapshotRestoreTests {
    @Test func aRestoreHoldsExactlyTheSnapshotsDocumentsAndObjects() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.remove() }
        let expected = try await VaultFixture.documents(of: fixture.deployment)
        let snapshot = try await fixture.snapshot()
        try await fixture.simulate(files: 10, operations: 10, seed: 99)  // later changes must not leak into the restore

        let target = try await fixture.emptyTarget("restored")
        let report = try await Restorer(vault: fixture.vault).restore(snapshot, into: target, options: RestoreOptions())
        #expect(report.check?.problems == [])
        #expect(try await VaultFixture.documents(of: target) == expected)
        #expect(report.objectsCopied == report.objects && report.objects > 50)
    }

    @Test func aRestoresProgressCountsEachPhaseUpToItsTotal() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let target = try await fixture.emptyTarget("restored")
        let phases = try await PhaseCounts.of { sink in
            _ = try await Restorer(vault: fixture.vault).restore(snapshot, into: target, options: RestoreOptions(), progress: sink)
        }
        // The check after a restore finds its objects as it goes, so only it may state no total.
        #expect(Set(phases.keys) == [.restoringObjects, .writingDatabase, .checkingObjects])
        for (phase, count) in phases where phase != .checkingObjects {
            #expect(count.items == count.total, "\(phase.rawValue): \(count.items) of \(count.total.map(String.init) ?? "no total")")
        }
    }

    @Test func aSecondSnapshotWritesOnlyTheChange() async throws {
        let fixture = try await VaultFixture(files: 200, operations: 10)
        defer { fixture.remove() }
        let first = try await fixture.snapshot()
        try await fixture.simulate(files: 5, operations: 3, seed: 5)
        let expected = try await VaultFixture.documents(of: fixture.deployment)
        let second = try await fixture.snapshot()

        #expect(second.manifest.parent == first.id)
        #expect(second.manifest.image == first.manifest.image)
        #expect(second.manifest.segments.count == 1)
        #expect(second.manifest.segments[0].fromSequence == first.manifest.cutoff.sequence)
        #expect(second.manifest.newObjects < first.manifest.newObjects / 5)
        let target = try await fixture.emptyTarget("restored")
        let report = try await Restorer(vault: fixture.vault).restore(second, into: target, options: RestoreOptions())
        #expect(report.check?.problems == [])
        #expect(try await VaultFixture.documents(of: target) == expected)
        // Nothing changed: the next snapshot adds no segment and no object.
        let third = try await fixture.snapshot()
        #expect(third.manifest.segments == second.manifest.segments && third.manifest.newObjects == 0)
    }

    @Test func aSnapshotTakenWhileTheSimulatorWritesRestoresClean() async throws {
        let fixture = try await VaultFixture(files: 100, operations: 5)
        defer { fixture.remove() }
        async let writing: Void = fixture.simulate(files: 50, operations: 150, seed: 77)
        var snapshots: [SnapshotRecord] = []
        for _ in 0..<3 { snapshots.append(try await fixture.snapshot()) }
        try await writing
        for (index, snapshot) in snapshots.enumerated() {
            let target = try await fixture.emptyTarget("restored-\(index)")
            let report = try await Restorer(vault: fixture.vault).restore(snapshot, into: target, options: RestoreOptions())
            #expect(report.check?.problems == [], "snapshot \(index) at \(snapshot.manifest.cutoff)")
        }
    }

    @Test func aNonEmptyTargetIsRefusedAndLeftAlone() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 3)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let before = try await VaultFixture.documents(of: fixture.deployment)
        await #expect(throws: VaultFailure.targetNotEmpty(fixture.deployment.location.description)) {
            try await Restorer(vault: fixture.vault).restore(snapshot, into: fixture.deployment, options: RestoreOptions())
        }
        #expect(try await VaultFixture.documents(of: fixture.deployment) == before)
    }

    @Test func inPlaceRestoreQuarantinesOrphansAndCanPutThemBack() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let atCutoff = try await VaultFixture.documents(of: fixture.deployment)
        try await fixture.simulate(files: 20, operations: 20, seed: 3)

        var options = RestoreOptions()
        options.inPlace = true
        options.dryRun = true
        let plan = try await Restorer(vault: fixture.vault).restore(snapshot, into: fixture.deployment, options: options)
        #expect(!plan.orphans.isEmpty && plan.documentsRemoved > 0)
        #expect(try await VaultFixture.documents(of: fixture.deployment) != atCutoff)  // the dry run changed nothing

        options.dryRun = false
        options.orphans = .quarantine
        let report = try await Restorer(vault: fixture.vault).restore(snapshot, into: fixture.deployment, options: options)
        #expect(report.check?.problems == [])
        #expect(report.orphans == plan.orphans)
        #expect(try await VaultFixture.documents(of: fixture.deployment) == atCutoff)
        for orphan in report.orphans { #expect(try await fixture.deployment.objects.head(try ObjectKey(orphan)) == nil) }

        let moved = try await Quarantine.restore(try #require(report.quarantineID), in: fixture.deployment.objects)
        #expect(moved == report.orphans.count)
        for orphan in report.orphans { #expect(try await fixture.deployment.objects.head(try ObjectKey(orphan)) != nil) }
    }

    @Test func oneRepositoryAloneComesBackWithoutTouchingTheOthers() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 10)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let view = try await fixture.deployment.database.openReadView(.latest)
        let repositories = try await view.repositories()
        let chosen = repositories[0].repositoryID
        let chosenAtCutoff = try await VaultFixture.documents(of: fixture.deployment).filter { $0.value.contains(chosen.description) }
        try await fixture.simulate(files: 10, operations: 40, seed: 8)
        let othersNow = try await VaultFixture.documents(of: fixture.deployment).filter { !$0.value.contains(chosen.description) }

        var options = RestoreOptions()
        options.inPlace = true
        options.repositoryID = chosen
        let report = try await Restorer(vault: fixture.vault).restore(snapshot, into: fixture.deployment, options: options)
        #expect(report.check?.problems == [])
        let after = try await VaultFixture.documents(of: fixture.deployment)
        #expect(after.filter { $0.value.contains(chosen.description) && !$0.key.hasPrefix("Owner") && !$0.key.hasPrefix("Organization") }
            == chosenAtCutoff.filter { !$0.key.hasPrefix("Owner") && !$0.key.hasPrefix("Organization") })
        #expect(after.filter { !$0.value.contains(chosen.description) } == othersNow)
    }
}

extension SnapshotRestoreTests {
    @Test func aRepositoryDeletedSinceTheSnapshotComesBackAlone() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 10)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let atCutoff = try await VaultFixture.documents(of: fixture.deployment)
        let chosen = try await fixture.deployment.database.openReadView(.latest).repositories()[1].repositoryID
        try await fixture.deleteRepositoryRows(chosen)
        #expect(try await fixture.deployment.database.openReadView(.latest).repository(chosen) == nil)

        var options = RestoreOptions()
        options.inPlace = true
        options.repositoryID = chosen
        let report = try await Restorer(vault: fixture.vault).restore(snapshot, into: fixture.deployment, options: options)
        #expect(report.check?.problems == [])
        #expect(report.documentsRemoved == 0 && report.objectsCopied == 0)  // its objects were never deleted
        #expect(try await VaultFixture.documents(of: fixture.deployment) == atCutoff)
    }
}

struct VaultIntegrityTests {
    @Test func verifyFindsATamperedObjectAndATruncatedSegment() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 5)
        defer { fixture.remove() }
        _ = try await fixture.snapshot()
        try await fixture.simulate(files: 5, operations: 5, seed: 4)
        let second = try await fixture.snapshot()
        #expect(try await VaultVerifier(vault: fixture.vault).verify(data: .all, sampleSeed: 1).problems == [])
        // Reading or not, every object referenced is counted as checked.
        for data in [DataCheck.none, .all] {
            let phases = try await PhaseCounts.of { sink in _ = try await VaultVerifier(vault: fixture.vault).verify(data: data, sampleSeed: 1, progress: sink) }
            let counted = try #require(phases[.verifyingObjects])
            #expect(counted.items == counted.total && counted.items > 50, "\(data): \(counted.items) of \(counted.total ?? -1)")
        }

        // Flip a byte inside one pack: only reading the data finds it, and names the pack and the content.
        let packs = fixture.root.appendingPathComponent("vault/packs")
        let name = try FileManager.default.contentsOfDirectory(atPath: packs.path).sorted()[0]
        let pack = packs.appendingPathComponent(name)
        var bytes = try Array(Data(contentsOf: pack))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: pack)
        #expect(try await VaultVerifier(vault: fixture.vault).verify(data: .none, sampleSeed: 1).problems == [])
        let problems = try await VaultVerifier(vault: fixture.vault).verify(data: .all, sampleSeed: 1).problems
        #expect(problems.count == 1)
        #expect(problems.first?.key == "packs/\(name)" && problems.first?.message.contains("content ") == true)

        // Truncate the segment: verify names it, and restoring the snapshot that needs it fails clearly.
        let segment = fixture.root.appendingPathComponent("vault").appendingPathComponent(second.manifest.segments[0].key)
        let segmentBytes = try Data(contentsOf: segment)
        try segmentBytes.prefix(segmentBytes.count / 2).write(to: segment)
        let structural = try await VaultVerifier(vault: fixture.vault).verify(data: .none, sampleSeed: 1).problems
        #expect(structural.contains { $0.key == second.manifest.segments[0].key })
        let target = try await fixture.emptyTarget("restored")
        do {
            _ = try await Restorer(vault: fixture.vault).restore(second, into: target, options: RestoreOptions())
            Issue.record("a truncated segment must stop the restore")
        } catch let failure as VaultFailure {
            #expect(failure.kind == .integrity && failure.description.contains(second.manifest.segments[0].key), "\(failure)")
        }
        #expect(try await VaultFixture.documents(of: target).isEmpty)
    }

    @Test func aTamperedManifestIsNamedAndUnknownIdsAreNotFound() async throws {
        let fixture = try await VaultFixture(files: 20, operations: 2)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        await #expect(throws: VaultFailure.snapshotNotFound("ffff0000", location: fixture.vault.location)) { try await fixture.vault.snapshot("ffff0000") }
        let manifest = fixture.root.appendingPathComponent("vault/snapshots/\(snapshot.id).json")
        let text = try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(of: "\"segments\":[]", with: "\"segments\":[ ]")
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        do {
            _ = try await fixture.vault.snapshots()
            Issue.record("a tampered manifest must be named")
        } catch let failure as VaultFailure {
            #expect(failure.kind == .integrity && failure.description.contains("snapshots/\(snapshot.id).json"), "\(failure)")
        }
        let report = try await VaultVerifier(vault: fixture.vault).verify(data: .none, sampleSeed: 1)
        #expect(report.problems.map(\.key) == ["snapshots/\(snapshot.id).json"])
    }

    @Test func aSecondSnapshotWaitsForNoOneItRefusesWhileALiveLockIsHeldAndIgnoresADeadOne() async throws {
        let fixture = try await VaultFixture(files: 20, operations: 2)
        defer { fixture.remove() }
        let held = try await VaultLock.acquire(in: fixture.vault, purpose: "test", now: { fixture.clock.now() })
        do {
            _ = try await fixture.snapshot()
            Issue.record("a live lock must make a second snapshot wait for no one and refuse")
        } catch let failure as VaultFailure {
            guard case let .locked(by, _) = failure else { throw failure }
            #expect(by.contains("test"), "\(failure)")
        }
        try await held.release()

        // A lock left by a process that no longer exists (pid far above pid_max) is stale.
        let dead = VaultLockRecord(id: "dead", hostname: ProcessInfo.processInfo.hostName, processID: 999_999_999, purpose: "killed snapshot",
                                   createdAt: fixture.clock.now(), expiresAt: fixture.clock.now().adding(seconds: 3600))
        try await fixture.vault.store.put(try ObjectKey("locks/dead.json"), bytes: Array(try GraceJSON.encode(dead)))
        _ = try await fixture.snapshot()
        #expect(try await fixture.vault.locks().isEmpty)
    }

    @Test func aDrillRestoresChecksAndLeavesItsReport() async throws {
        let fixture = try await VaultFixture(files: 40, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let scratch = fixture.root.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let report = try await Drill(vault: fixture.vault, scratchParent: scratch, now: { fixture.clock.now() }).run(snapshot: nil)
        #expect(report.succeeded && report.snapshot == snapshot.id && report.objects > 0 && report.restoreSeconds > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
        #expect(try await fixture.vault.drills() == [report])
    }
}
