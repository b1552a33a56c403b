import Foundation
import GraceBackup
import GraceModel
import GraceStorage
import Testing

struct PointInTimeTests {
    /// The documents a deployment held right after change `sequence`, replayed from its own change feed.
    static func documents(of deployment: Deployment, through sequence: Int64) async throws -> [String: String] {
        var documents: [String: String] = [:]
        for change in try await deployment.database.changes(after: 0, limit: 1_000_000) where change.sequence <= sequence {
            documents["\(change.kind.rawValue) \(change.entityID)"] = change.document
        }
        return documents
    }

    @Test func restoringToAnySequenceGivesTheStateRightAfterIt() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        #expect(try await capture.captureOnce(after: snapshot.manifest.cutoff.sequence) == nil)  // nothing changed: nothing written
        var position = try await capture.capturedPosition()
        for round in 0..<3 {
            try await fixture.simulate(files: 5, operations: 8, seed: UInt64(40 + round))
            let record = try #require(try await capture.captureOnce(after: position))
            #expect(record.fromSequence == position)
            position = record.to.sequence
        }
        let first = snapshot.manifest.cutoff.sequence
        for target in [first, first + 1, (first + position) / 2, position - 1, position] {
            let point = try await fixture.vault.restorePoint(at: .sequence(target))
            #expect(point.cutoff.sequence == target)
            let restored = try await fixture.emptyTarget("restored-\(target)")
            let report = try await Restorer(vault: fixture.vault).restore(point, into: restored, options: RestoreOptions())
            #expect(report.check?.problems == [], "sequence \(target)")
            #expect(try await VaultFixture.documents(of: restored) == (try await Self.documents(of: fixture.deployment, through: target)), "sequence \(target)")
        }
        #expect(try await fixture.vault.restorePoint(at: .latest).cutoff.sequence == position)
        do {
            _ = try await fixture.vault.restorePoint(at: .sequence(position + 1))
            Issue.record("past the last captured change must be refused")
        } catch PointInTimeFailure.notCovered(let latest) {
            #expect(latest.sequence == position)
        }
        await #expect(throws: PointInTimeFailure.beforeFirstSnapshot(earliest: snapshot.manifest.cutoff)) {
            try await fixture.vault.restorePoint(at: .sequence(first - 1))
        }
    }

    @Test func restoringToATimeStopsAtTheLastChangeCommittedByThen() async throws {
        let fixture = try await VaultFixture(files: 40, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        try await fixture.simulate(files: 5, operations: 20, seed: 9)
        _ = try #require(try await capture.captureOnce(after: snapshot.manifest.cutoff.sequence))
        let changes = try await fixture.deployment.database.changes(after: snapshot.manifest.cutoff.sequence, limit: 100_000)
        let middle = changes[changes.count / 2]
        // The last change committed at or before that instant: commit times can repeat within a transaction.
        let expected = changes.last { $0.committedAt <= middle.committedAt }!.sequence
        let point = try await fixture.vault.restorePoint(at: .time(middle.committedAt))
        #expect(point.cutoff.sequence == expected)
        do {
            _ = try await fixture.vault.restorePoint(at: .time(changes.last!.committedAt.adding(seconds: 1)))
            Issue.record("a time past the last captured change must be refused")
        } catch PointInTimeFailure.notCovered(let latest) {
            #expect(latest.sequence == changes.last!.sequence)
        }
    }

    @Test func verifyCoversCapturesAndNamesAGapInTheChain() async throws {
        let fixture = try await VaultFixture(files: 40, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        var position = snapshot.manifest.cutoff.sequence
        var records: [CaptureRecord] = []
        for round in 0..<3 {
            try await fixture.simulate(files: 5, operations: 5, seed: UInt64(60 + round))
            let record = try #require(try await capture.captureOnce(after: position))
            records.append(record)
            position = record.to.sequence
        }
        let clean = try await VaultVerifier(vault: fixture.vault).verify(data: .all, sampleSeed: 3)
        #expect(clean.problems == [])
        #expect(clean.records >= 2 + 3 * 2)  // image, snapshot index, and each capture's record and index

        // Lose the middle capture: the last one now starts where nothing ends.
        let captures = fixture.root.appendingPathComponent("vault/captures")
        for name in try FileManager.default.contentsOfDirectory(atPath: captures.path) {
            let data = try Data(contentsOf: captures.appendingPathComponent(name))
            if let record = try? GraceJSON.decode(CaptureRecord.self, from: data), record == records[1] {
                try FileManager.default.removeItem(at: captures.appendingPathComponent(name))
            }
        }
        let broken = try await VaultVerifier(vault: fixture.vault).verify(data: .none, sampleSeed: 3)
        #expect(broken.problems.count == 1 && broken.problems.first?.message.hasPrefix("gap:") == true)
        await #expect(throws: PointInTimeFailure.gap(afterSequence: records[0].to.sequence)) {
            try await fixture.vault.restorePoint(at: .sequence(records[2].to.sequence))
        }
    }

    @Test func aMissingSegmentStopsRestoreAtTheLastGoodPointAndVerifyNamesIt() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        var records: [CaptureRecord] = []
        var position = snapshot.manifest.cutoff.sequence
        for round in 0..<2 {
            try await fixture.simulate(files: 5, operations: 5, seed: UInt64(80 + round))
            records.append(try #require(try await capture.captureOnce(after: position)))
            position = records.last!.to.sequence
        }
        try await fixture.vault.store.delete(try ObjectKey(records[1].segment.key))

        await #expect(throws: PointInTimeFailure.damagedSegment(key: records[1].segment.key, holding: records[0].to.sequence + 1...records[1].to.sequence,
                                                                lastGood: records[0].to, detail: VaultFailure.recordDamaged(key: records[1].segment.key, detail: "it is missing").description)) {
            try await fixture.vault.restorePoint(at: .sequence(records[1].to.sequence))
        }
        // Up to the last good point, restore works.
        #expect(try await fixture.vault.restorePoint(at: .sequence(records[0].to.sequence)).cutoff == records[0].to)
        let verified = try await VaultVerifier(vault: fixture.vault).verify(data: .none, sampleSeed: 1)
        #expect(verified.problems.contains { $0.message.contains(records[1].segment.key) })
    }

    @Test func aDrillAtRandomPointsRestoresWhereverItLands() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 5)
        defer { fixture.remove() }
        let snapshot = try await fixture.snapshot()
        try await fixture.simulate(files: 5, operations: 10, seed: 21)
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        let record = try #require(try await capture.captureOnce(after: snapshot.manifest.cutoff.sequence))
        let scratch = fixture.root.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let drill = Drill(vault: fixture.vault, scratchParent: scratch, now: { fixture.clock.now() })
        var points: Set<Int64> = []
        for seed in UInt64(1)...4 {
            let report = try await drill.runAtRandomPoint(seed: seed)
            #expect(report.succeeded, "seed \(seed) at \(report.cutoff)")
            #expect((snapshot.manifest.cutoff.sequence...record.to.sequence).contains(report.cutoff.sequence))
            points.insert(report.cutoff.sequence)
        }
        #expect(points.count > 1)
    }
}
