import Foundation
import GraceBackup
import GraceModel
import GraceStorage
import Testing

struct RetentionPolicyTests {
    struct Stamp: Hashable {
        let name: String
        let at: Instant
    }

    static func stamps(_ times: [String]) -> [Stamp] { times.map { Stamp(name: $0, at: Instant(parsing: $0)!) } }

    @Test func keepLastKeepsTheNewest() {
        let snapshots = Self.stamps(["2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"])
        let (kept, forgotten) = RetentionPolicy(last: 2).apply(to: snapshots) { $0.at }
        #expect(kept.map(\.0.name) == ["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"])
        #expect(forgotten.map(\.name) == ["2026-01-01T10:00:00Z"])
    }

    @Test func bucketsKeepTheNewestOfEachOfTheNewestPeriods() {
        let snapshots = Self.stamps([
            "2026-01-01T09:10:00Z", "2026-01-01T09:50:00Z",  // day 1: two in one hour
            "2026-01-02T08:00:00Z", "2026-01-02T20:00:00Z",  // day 2
            "2026-01-09T08:00:00Z",  // next ISO week
            "2026-02-03T08:00:00Z",  // next month
        ])
        let daily = RetentionPolicy(daily: 3).apply(to: snapshots) { $0.at }
        #expect(daily.kept.map(\.0.name) == ["2026-01-02T20:00:00Z", "2026-01-09T08:00:00Z", "2026-02-03T08:00:00Z"])
        let hourly = RetentionPolicy(hourly: 10).apply(to: snapshots) { $0.at }
        #expect(hourly.forgotten.map(\.name) == ["2026-01-01T09:10:00Z"])  // the older one in the same hour
        let weekly = RetentionPolicy(weekly: 2).apply(to: snapshots) { $0.at }
        #expect(weekly.kept.map(\.0.name) == ["2026-01-09T08:00:00Z", "2026-02-03T08:00:00Z"])
        let monthly = RetentionPolicy(monthly: 5).apply(to: snapshots) { $0.at }
        #expect(monthly.kept.map(\.0.name) == ["2026-01-09T08:00:00Z", "2026-02-03T08:00:00Z"])
        let both = RetentionPolicy(last: 1, monthly: 2).apply(to: snapshots) { $0.at }
        #expect(both.kept.first { $0.0.name == "2026-02-03T08:00:00Z" }?.reasons == ["last 1", "monthly 2026-02"])
        #expect(RetentionPolicy().keepsNothing && !RetentionPolicy(weekly: 1).keepsNothing)
    }
}

struct ForgetPruneTests {
    static func keys(under folder: String, in vault: Vault) async throws -> Set<String> {
        var keys: Set<String> = []
        for try await summary in vault.store.list(under: try ObjectKey.Prefix(folder)) { keys.insert(summary.key.rawValue) }
        return keys
    }

    /// Deletes a repository's rows outright, then takes a full-image snapshot: its contents are
    /// needed only by the older snapshot.
    static func snapshotWithoutOneRepository(_ fixture: VaultFixture) async throws -> SnapshotRecord {
        let chosen = try await fixture.deployment.database.openReadView(.latest).repositories()[1].repositoryID
        try await fixture.deleteRepositoryRows(chosen)
        return try await Snapshotter(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() }, maxSegments: 0).snapshot()
    }

    @Test func forgetThenPruneRemovesWhatOnlyTheForgottenSnapshotNeeded() async throws {
        let fixture = try await VaultFixture(files: 80, operations: 10)
        defer { fixture.remove() }
        let first = try await fixture.snapshot()
        fixture.clock.advance(seconds: 7200)
        let second = try await Self.snapshotWithoutOneRepository(fixture)
        let packsBefore = try await Self.keys(under: "packs", in: fixture.vault)

        let dryRun = try await fixture.vault.forget(policy: RetentionPolicy(last: 1), dryRun: true, now: { fixture.clock.now() })
        #expect(dryRun.forgotten.map(\.snapshot) == [first.id] && dryRun.kept.map(\.snapshot) == [second.id])
        #expect(try await fixture.vault.snapshots().count == 2)  // a dry run changes nothing
        _ = try await fixture.vault.forget(policy: RetentionPolicy(last: 1), dryRun: false, now: { fixture.clock.now() })
        #expect(try await fixture.vault.snapshots().map(\.id) == [second.id])

        var options = PruneOptions()
        options.immediately = true
        let report = try await Pruner(vault: fixture.vault, options: options, now: { fixture.clock.now() }).prune()
        // The first image, and the one pack (holding both repositories) rewritten with the kept one's contents.
        #expect(report.packsRepacked == 1 && report.deleted == 2 && report.indexesRewritten >= 1)
        #expect(try await Self.keys(under: "images", in: fixture.vault) == [second.manifest.image.key])
        let packsAfter = try await Self.keys(under: "packs", in: fixture.vault)
        #expect(packsAfter.isDisjoint(with: packsBefore))
        let verified = try await VaultVerifier(vault: fixture.vault).verify(data: .all, sampleSeed: 1)
        #expect(verified.problems == [])
        #expect(verified.objectsRead == report.contentsNeeded)
        let restored = try await fixture.emptyTarget("restored")
        let restore = try await Restorer(vault: fixture.vault).restore(second, into: restored, options: RestoreOptions())
        #expect(restore.check?.problems == [])
        #expect(try await VaultFixture.documents(of: restored) == (try await VaultFixture.documents(of: fixture.deployment)))
        // Nothing is left to do.
        let again = try await Pruner(vault: fixture.vault, options: options, now: { fixture.clock.now() }).prune()
        #expect(again.unneeded == 0 && again.deleted == 0 && again.packsRepacked == 0)
    }

    @Test func pruneCondemnsFirstAndDeletesAfterTheGracePeriodUnlessAWriterNeedsItAgain() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 10)
        defer { fixture.remove() }
        let first = try await fixture.snapshot()
        fixture.clock.advance(seconds: 7200)
        _ = try await Self.snapshotWithoutOneRepository(fixture)
        // A crashed writer's leftovers: a pack no index names, a segment no manifest names.
        let leftoverPack = try await fixture.vault.store.putSealedForTest(Array(repeating: 7, count: 1000), in: "packs")
        let leftoverSegment = try await fixture.vault.store.putSealedForTest(Array("not a segment".utf8), in: "segments")
        let firstManifest = try await fixture.vault.store.getBytes(try ObjectKey("snapshots/\(first.id).json"))
        _ = try await fixture.vault.forget(policy: RetentionPolicy(last: 1), dryRun: false, now: { fixture.clock.now() })

        let pruner = Pruner(vault: fixture.vault, options: PruneOptions(), now: { fixture.clock.now() })
        let condemning = try await pruner.prune()
        #expect(condemning.deleted == 0 && condemning.condemned == 4)  // leftovers, the first image, the repacked pack
        #expect(try await fixture.vault.store.head(try ObjectKey(leftoverPack)) != nil)
        #expect(try await Self.keys(under: "prune", in: fixture.vault).count == 1)

        // A writer that chose the forgotten snapshot as its parent before `forget` commits now,
        // naming the condemned image and contents: they must survive.
        try await fixture.vault.store.put(try ObjectKey("snapshots/\(first.id).json"), bytes: firstManifest)
        let early = try await pruner.prune()
        #expect(early.deleted == 0)  // within the grace period nothing goes
        fixture.clock.advance(seconds: 3601)
        let deleting = try await pruner.prune()
        #expect(deleting.deleted == 2 && deleting.reprieved == 2)
        #expect(try await fixture.vault.store.head(try ObjectKey(leftoverPack)) == nil)
        #expect(try await fixture.vault.store.head(try ObjectKey(leftoverSegment)) == nil)
        #expect(try await Self.keys(under: "prune", in: fixture.vault).isEmpty)
        #expect(try await VaultVerifier(vault: fixture.vault).verify(data: .all, sampleSeed: 1).problems == [])
        let restored = try await fixture.emptyTarget("restored")
        let restore = try await Restorer(vault: fixture.vault).restore(try await fixture.vault.snapshot(first.id), into: restored, options: RestoreOptions())
        #expect(restore.check?.problems == [] && restore.objectsCopied > 0)
    }

    @Test func forgetKeepsEveryCaptureAfterTheOldestKeptSnapshot() async throws {
        let fixture = try await VaultFixture(files: 40, operations: 5)
        defer { fixture.remove() }
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        var snapshots: [SnapshotRecord] = []
        var position: Int64 = 0
        for round in 0..<3 {
            snapshots.append(try await fixture.snapshot())
            position = snapshots.last!.manifest.cutoff.sequence
            fixture.clock.advance(seconds: 86_400)
            try await fixture.simulate(files: 5, operations: 6, seed: UInt64(70 + round))
            position = try #require(try await capture.captureOnce(after: position)).to.sequence
        }
        let report = try await fixture.vault.forget(policy: RetentionPolicy(last: 2), dryRun: false, now: { fixture.clock.now() })
        #expect(report.forgotten.map(\.snapshot) == [snapshots[0].id] && report.capturesForgotten == 1)
        #expect(report.earliestRestorable.values.first == snapshots[1].manifest.cutoff)
        // Everything from the oldest kept snapshot to the last capture still restores.
        for target in [snapshots[1].manifest.cutoff.sequence, snapshots[1].manifest.cutoff.sequence + 1, position] {
            #expect(try await fixture.vault.restorePoint(at: .sequence(target)).cutoff.sequence == target)
        }
        await #expect(throws: PointInTimeFailure.beforeFirstSnapshot(earliest: snapshots[1].manifest.cutoff)) {
            try await fixture.vault.restorePoint(at: .sequence(snapshots[1].manifest.cutoff.sequence - 1))
        }
        var options = PruneOptions()
        options.immediately = true
        _ = try await Pruner(vault: fixture.vault, options: options, now: { fixture.clock.now() }).prune()
        #expect(try await VaultVerifier(vault: fixture.vault).verify(data: .all, sampleSeed: 1).problems == [])
        let restored = try await fixture.emptyTarget("restored")
        let point = try await fixture.vault.restorePoint(at: .sequence(position))
        #expect(try await Restorer(vault: fixture.vault).restore(point, into: restored, options: RestoreOptions()).check?.problems == [])
    }

    @Test func pruneNowRefusesWhileAStreamHoldsTheVault() async throws {
        let fixture = try await VaultFixture(files: 10, operations: 1)
        defer { fixture.remove() }
        let stream = try await VaultLock.acquire(in: fixture.vault, purpose: "stream of test", scope: "stream", now: { fixture.clock.now() })
        var options = PruneOptions()
        options.immediately = true
        do {
            _ = try await Pruner(vault: fixture.vault, options: options, now: { fixture.clock.now() }).prune()
            Issue.record("prune --now must refuse while a stream holds the vault")
        } catch let failure as VaultFailure {
            guard case let .locked(by, _) = failure else { throw failure }
            #expect(by.contains("stream of test"), "\(failure)")
        }
        _ = try await Pruner(vault: fixture.vault, options: PruneOptions(), now: { fixture.clock.now() }).prune()  // two-phase runs beside it
        try await stream.release()
        #expect(try await fixture.vault.locks().isEmpty)
    }
}

extension ObjectStore {
    /// Stores bytes under `<folder>/<sha256>` as a writer that crashed before its record would leave them.
    func putSealedForTest(_ bytes: [UInt8], in folder: String) async throws -> String {
        let key = "\(folder)/" + SHA256Hex.of(bytes)
        try await put(try ObjectKey(key), bytes: bytes)
        return key
    }
}

enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String { FileHasher(computing: [.sha256]).with(bytes).finalize().sha256 }
}

extension FileHasher {
    func with(_ bytes: [UInt8]) -> FileHasher {
        var copy = self
        copy.update(bytes)
        return copy
    }
}
