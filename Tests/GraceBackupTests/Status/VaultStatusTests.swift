import Foundation
import GraceBackup
import GraceModel
import GraceStorage
import Testing

struct VaultStatusTests {
    @Test func reportsTheRecoverableRangeTheLagAndWarnsPastItsBounds() async throws {
        let fixture = try await VaultFixture(files: 40, operations: 5)
        defer { fixture.remove() }
        let empty = try await fixture.vault.status(now: fixture.clock.now(), deployment: nil, bounds: StatusBounds())
        #expect(empty.earliestRestorable == nil && empty.warnings == ["no snapshot yet: nothing can be restored"])

        let snapshot = try await fixture.snapshot()
        try await fixture.simulate(files: 5, operations: 5, seed: 2)
        let capture = ChangeCapture(deployment: fixture.deployment, vault: fixture.vault, now: { fixture.clock.now() })
        let captured = try #require(try await capture.captureOnce(after: snapshot.manifest.cutoff.sequence))
        let current = try await fixture.vault.status(now: fixture.clock.now(), deployment: fixture.deployment, bounds: StatusBounds())
        #expect(current.earliestRestorable == snapshot.manifest.cutoff)
        #expect(current.latestRestorable == captured.to)
        #expect(current.captureLagChanges == 0 && current.warnings.isEmpty)

        try await fixture.simulate(files: 5, operations: 5, seed: 3)
        let later = fixture.clock.now().adding(seconds: 3 * 86_400)
        let behind = try await fixture.vault.status(now: later, deployment: fixture.deployment,
                                                    bounds: StatusBounds(snapshotAgeSeconds: 86_400, drillAgeSeconds: 86_400, captureLagSeconds: 1))
        #expect((behind.captureLagChanges ?? 0) > 0 && (behind.captureLagSeconds ?? 0) > 1)
        #expect(behind.warnings.count == 3, "\(behind.warnings)")
        #expect(behind.warnings.contains { $0.hasPrefix("the newest snapshot is ") && $0.hasSuffix("over the bound of 86400 s") })
        #expect(behind.warnings.contains("no drill has been run"))
        #expect(behind.warnings.contains { $0.hasPrefix("capture lags the deployment by ") && $0.hasSuffix("over the bound of 1 s") })
    }
}
