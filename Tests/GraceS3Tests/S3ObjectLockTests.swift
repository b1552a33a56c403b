import Crypto
import Foundation
import GraceBackup
import GraceModel
import GraceS3
import GraceStorage
import Testing

/// A vault made with Object Lock on moto: every record locked, a version the vault's own
/// credentials cannot delete, prune keeping what is locked and saying until when, and a later
/// snapshot extending the locks of what it still needs.
struct S3ObjectLockTests {
    @Test func aLockedVaultKeepsItsHistoryFromItsOwnCredentials() async throws {
        guard let endpoint = S3TestServer.endpoint() else { return }
        let bucket = "locked-\(UUID().uuidString.prefix(8).lowercased())"
        let day: Int64 = 86_400
        let base = S3ObjectStore(endpoint: endpoint, bucket: bucket, prefix: "vault", region: "us-east-1", credentials: S3TestServer.credentials)
        try await base.createBucket(objectLock: true)
        #expect(try await base.objectLockEnabled())
        let started = Instant(Date())
        let vault = try await Vault.initialize(in: base, now: started, objectLock: (.governance, day))
        #expect(try await Vault.open(base).config.objectLock?.retentionSeconds == day, "the setting is in the config")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("locked-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
        let deployment = try await DeploymentLocation(folder: folder).open(.create, now: { clock.now() })
        var options = SimulationOptions()
        options.files = 40
        options.operations = 10
        _ = try await Simulator(writer: GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(3)), clock: clock, options: options).run()
        _ = try await Snapshotter(deployment: deployment, vault: vault, now: { Instant(Date()) }).snapshot()

        // Every record but the locks is locked for a day from its write.
        var records: [ObjectKey] = []
        for try await summary in base.list(under: .all) { records.append(summary.key) }
        #expect(records.contains { $0.rawValue.hasPrefix("packs/") } && records.contains { $0.rawValue.hasPrefix("snapshots/") })
        for key in records {
            let until = try #require(try await base.lockedUntil(key), "\(key) is locked")
            #expect(until > started.adding(seconds: Double(day) - 120) && until < Instant(Date()).adding(seconds: Double(day) + 120))
        }

        // The vault's own credentials cannot remove a locked version (the AWS CLI asks, as an attacker would).
        let pack = try #require(records.first { $0.rawValue.hasPrefix("packs/") })
        let versions = try await AWSCLI.run(["s3api", "list-object-versions", "--bucket", bucket, "--prefix", "vault/\(pack.rawValue)",
                                       "--query", "Versions[0].VersionId", "--output", "text"], endpoint: endpoint)
        let version = versions.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!version.isEmpty && version != "None", "the pack has a version to try to delete")
        do {
            _ = try await AWSCLI.run(["s3api", "delete-object", "--bucket", bucket, "--key", "vault/\(pack.rawValue)", "--version-id", version], endpoint: endpoint)
            Issue.record("a locked version must not be deletable")
        } catch let failure as AWSCLI.AWSCLIFailed {
            #expect(failure.output.contains("AccessDenied"), "\(failure)")
        }
        let listed = try await AWSCLI.run(["s3api", "list-object-versions", "--bucket", bucket, "--prefix", "vault/\(pack.rawValue)",
                                     "--query", "Versions[].VersionId", "--output", "text"], endpoint: endpoint)
        #expect(listed.split(whereSeparator: \.isWhitespace).contains { $0 == version }, "the locked version is still there: \(listed)")

        // A crashed writer's pack, written locked, that nothing needs: prune deletes nothing locked and says until when.
        let leftover = S3TestServer.bytes(10_000, seed: 11)
        let leftoverKey = try ObjectKey("packs/\(SHA256.hash(data: leftover).map { String(format: "%02x", $0) }.joined())")
        try await vault.store.put(leftoverKey, bytes: leftover)
        var pruneOptions = PruneOptions()
        pruneOptions.immediately = true
        let report = try await Pruner(vault: vault, options: pruneOptions, now: { Instant(Date()) }).prune()
        #expect(report.unneeded > 0)
        #expect(report.locked == report.unneeded && report.deleted == 0, "\(report)")
        #expect(report.lockedUntil.map { $0 > Instant(Date()).adding(seconds: Double(day) - 300) } == true)
        #expect(try await base.head(leftoverKey) != nil)

        // Some time on, a snapshot moves the locks of the old records it still needs a full retention on.
        let later = Instant(Date()).adding(seconds: Double(day) * 0.6)
        _ = try await Snapshotter(deployment: deployment, vault: vault, now: { later }).snapshot()
        let config = try #require(records.first { $0.rawValue == "config.json" })
        let extended = try #require(try await base.lockedUntil(config))
        #expect(extended > later.adding(seconds: Double(day) - 120), "config.json's lock now ends a retention after the later snapshot")
    }
}
