import Foundation
import GraceBackupTesting
import Testing

/// The whole flow with S3 in it, against moto (GRACE_S3_TEST_ENDPOINT, started by scripts/test):
/// once with the deployment's objects in a bucket, once with the vault in one.
struct S3CommandTests {
    static func endpoint() -> String? {
        guard let endpoint = ProcessInfo.processInfo.environment["GRACE_S3_TEST_ENDPOINT"] else {
            if ProcessInfo.processInfo.environment["GRACE_BACKUP_REQUIRE_TOOLS"] != nil {
                Issue.record("GRACE_S3_TEST_ENDPOINT is not set: scripts/test starts moto and sets it")
            }
            return nil
        }
        return endpoint
    }

    /// Credentials come from the environment, never from a location.
    static let credentials = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]

    static func run(_ arguments: [String]) async throws -> CommandLineTool.Result {
        try await CommandLineTool.run(arguments, environment: credentials)
    }

    @Test func snapshotRestoreAndVerifyADeploymentWhoseObjectsAreInABucket() async throws {
        guard let endpoint = Self.endpoint() else { return }
        let scratch = try Scratch()
        let run = UUID().uuidString.prefix(8).lowercased()
        let objects = "s3://grace-cli-tests/\(run)/objects?endpoint=\(endpoint)&region=us-east-1"
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let vault = scratch.url.appendingPathComponent("vault").path
        let simulate = try await Self.run(["simulate", "--deployment", deployment, "--objects", objects, "--files", "60", "--operations", "20"])
        #expect(simulate.exitCode == 0, "\(simulate.standardError)")
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("deployment/objects").path), "the objects went to the bucket")
        let check = try await Self.run(["check", "--deployment", deployment])
        #expect(check.exitCode == 0 && check.standardOutput.contains("no problems found"), "\(check.standardOutput)\(check.standardError)")
        #expect(try await Self.run(["init", "--vault", vault]).exitCode == 0)
        let snapshot = try await Self.run(["snapshot", "--deployment", deployment, "--vault", vault])
        #expect(snapshot.exitCode == 0, "\(snapshot.standardError)")
        #expect(try await Self.run(["verify", "--vault", vault, "--read-data"]).exitCode == 0)

        // Into a new deployment whose objects go to another prefix of the bucket, and into a folder.
        let restoredObjects = "s3://grace-cli-tests/\(run)/restored?endpoint=\(endpoint)&region=us-east-1"
        let intoBucket = try await Self.run(["restore", "--vault", vault, "--to", scratch.url.appendingPathComponent("restored").path, "--objects", restoredObjects])
        #expect(intoBucket.exitCode == 0 && intoBucket.standardOutput.contains("no problems found"), "\(intoBucket.standardOutput)\(intoBucket.standardError)")
        let intoFolder = try await Self.run(["restore", "--vault", vault, "--to", scratch.url.appendingPathComponent("local").path])
        #expect(intoFolder.exitCode == 0 && intoFolder.standardOutput.contains("no problems found"), "\(intoFolder.standardOutput)\(intoFolder.standardError)")
        #expect(try await Self.run(["check", "--deployment", scratch.url.appendingPathComponent("restored").path]).exitCode == 0)

        // An existing deployment keeps the place it recorded.
        let elsewhere = try await Self.run(["simulate", "--deployment", deployment, "--objects", restoredObjects, "--files", "1", "--operations", "1"])
        #expect(elsewhere.exitCode == 64 && elsewhere.standardError.contains("is not where this deployment keeps its objects"), "\(elsewhere.standardError)")
    }

    @Test func aVaultInABucketSnapshotsRestoresVerifiesDrillsAndPrunes() async throws {
        guard let endpoint = Self.endpoint() else { return }
        let scratch = try Scratch()
        let run = UUID().uuidString.prefix(8).lowercased()
        let vault = "s3://grace-cli-vaults/\(run)?endpoint=\(endpoint)&region=us-east-1"
        let deployment = scratch.url.appendingPathComponent("deployment").path
        #expect(try await Self.run(["simulate", "--deployment", deployment, "--files", "60", "--operations", "20"]).exitCode == 0)
        let initialized = try await Self.run(["init", "--vault", vault])
        #expect(initialized.exitCode == 0, "\(initialized.standardError)")
        #expect(try await Self.run(["snapshot", "--deployment", deployment, "--vault", vault]).exitCode == 0)
        #expect(try await Self.run(["simulate", "--deployment", deployment, "--files", "10", "--operations", "10", "--seed", "2"]).exitCode == 0)
        let second = try await Self.run(["snapshot", "--deployment", deployment, "--vault", vault])
        #expect(second.exitCode == 0, "\(second.standardError)")
        let verify = try await Self.run(["verify", "--vault", vault, "--read-data"])
        #expect(verify.exitCode == 0, "\(verify.standardOutput)\(verify.standardError)")
        let restore = try await Self.run(["restore", "--vault", vault, "--to", scratch.url.appendingPathComponent("restored").path])
        #expect(restore.exitCode == 0 && restore.standardOutput.contains("no problems found"), "\(restore.standardOutput)\(restore.standardError)")
        let drill = try await Self.run(["drill", "--vault", vault])
        #expect(drill.exitCode == 0, "\(drill.standardError)")
        #expect(try await Self.run(["forget", "--vault", vault, "--keep-last", "1"]).exitCode == 0)
        let prune = try await Self.run(["prune", "--vault", vault, "--now"])
        #expect(prune.exitCode == 0, "\(prune.standardError)")
        #expect(try await Self.run(["verify", "--vault", vault, "--read-data"]).exitCode == 0)
    }

    @Test func copyCarriesAFolderToABucketAndBackAndSkipsWhatIsThere() async throws {
        guard let endpoint = Self.endpoint() else { return }
        let scratch = try Scratch()
        var files: [String: [UInt8]] = [:]
        for index in 0..<40 { files["d\(index % 4)/f\(index).bin"] = (0..<(index * 997 + 1)).map { UInt8(truncatingIfNeeded: $0 &* (index + 7)) } }
        files["large.bin"] = (0..<(9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 11) }
        for (path, bytes) in files { try scratch.write("source/\(path)", bytes) }
        let bucket = "s3://grace-cli-copies/\(UUID().uuidString.prefix(8).lowercased())?endpoint=\(endpoint)"
        let up = try await Self.run(["copy", scratch.url.appendingPathComponent("source").path, bucket, "--json"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(up.standardOutput.utf8)) as? [String: Any]
        #expect(report?["copied"] as? Int == 41 && report?["skipped"] as? Int == 0)
        let again = try await JSONSerialization.jsonObject(with: Data(try Self.run(["copy", scratch.url.appendingPathComponent("source").path, bucket, "--json"]).standardOutput.utf8)) as? [String: Any]
        #expect(again?["copied"] as? Int == 0 && again?["skipped"] as? Int == 41)
        let down = try await Self.run(["copy", bucket, scratch.url.appendingPathComponent("back").path])
        #expect(down.exitCode == 0, "\(down.standardError)")
        for (path, bytes) in files {
            #expect(try Data(contentsOf: scratch.url.appendingPathComponent("back/\(path)")) == Data(bytes), "\(path)")
        }
        #expect(try await Self.run(["copy", bucket, bucket]).exitCode == 64)
    }

    @Test func initWithObjectLockMakesALockedVault() async throws {
        guard let endpoint = Self.endpoint() else { return }
        let scratch = try Scratch()
        let vault = "s3://grace-locked-\(UUID().uuidString.prefix(8).lowercased())/v?endpoint=\(endpoint)"
        let made = try await Self.run(["init", "--vault", vault, "--object-lock", "compliance", "--retention", "2d", "--json"])
        #expect(made.exitCode == 0, "\(made.standardError)")
        let config = try JSONSerialization.jsonObject(with: Data(made.standardOutput.utf8)) as? [String: Any]
        let lock = config?["objectLock"] as? [String: Any]
        #expect(lock?["mode"] as? String == "compliance" && lock?["retentionSeconds"] as? Int == 172_800)
        let deployment = scratch.url.appendingPathComponent("deployment").path
        #expect(try await Self.run(["simulate", "--deployment", deployment, "--files", "20", "--operations", "5"]).exitCode == 0)
        #expect(try await Self.run(["snapshot", "--deployment", deployment, "--vault", vault]).exitCode == 0)
        let prune = try await Self.run(["prune", "--vault", vault, "--now"])
        #expect(prune.exitCode == 0, "\(prune.standardError)")
        #expect(try await Self.run(["verify", "--vault", vault, "--read-data"]).exitCode == 0)

        let folder = try await Self.run(["init", "--vault", scratch.url.appendingPathComponent("v").path, "--object-lock", "governance", "--retention", "30d"])
        #expect(folder.exitCode == 64 && folder.standardError.contains("needs an s3:// vault"), "\(folder.standardError)")
        let noRetention = try await Self.run(["init", "--vault", "s3://grace-locked-other/v?endpoint=\(endpoint)", "--object-lock", "governance"])
        #expect(noRetention.exitCode == 64 && noRetention.standardError.contains("needs --retention"), "\(noRetention.standardError)")
        // A bucket made without Object Lock cannot hold a locked vault.
        let plain = "grace-unlocked-\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await Self.run(["init", "--vault", "s3://\(plain)/plain?endpoint=\(endpoint)"]).exitCode == 0)
        let unlockedBucket = try await Self.run(["init", "--vault", "s3://\(plain)/locked?endpoint=\(endpoint)",
                                           "--object-lock", "governance", "--retention", "30d"])
        #expect(unlockedBucket.exitCode == 64 && unlockedBucket.standardError.contains("exists without Object Lock"), "\(unlockedBucket.standardError)")
    }

    @Test func doctorReportsThePostureOfEachVaultAndTheCopies() async throws {
        guard let endpoint = Self.endpoint() else { return }
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        #expect(try await Self.run(["simulate", "--deployment", deployment, "--files", "20", "--operations", "5"]).exitCode == 0)

        // One folder vault, never snapshotted: a critical finding, exit 9.
        let folder = scratch.url.appendingPathComponent("vault").path
        #expect(try await Self.run(["init", "--vault", folder]).exitCode == 0)
        let empty = try await Self.run(["doctor", "--vault", folder, "--deployment", deployment])
        #expect(empty.exitCode == 9 && empty.standardOutput.contains("CRITICAL vault file://\(folder): no snapshot"), "\(empty.standardOutput)")

        // Snapshotted and drilled, but one mutable copy: warnings, exit 8.
        #expect(try await Self.run(["snapshot", "--deployment", deployment, "--vault", folder]).exitCode == 0)
        #expect(try await Self.run(["drill", "--vault", folder]).exitCode == 0)
        let single = try await Self.run(["doctor", "--vault", folder, "--deployment", deployment, "--json"])
        #expect(single.exitCode == 8, "\(single.standardOutput)")
        let findings = (try JSONSerialization.jsonObject(with: Data(single.standardOutput.utf8)) as? [String: Any])?["findings"] as? [[String: Any]] ?? []
        func severity(of subject: String, containing text: String, in findings: [[String: Any]]) -> String? {
            findings.first { ($0["subject"] as? String)?.hasPrefix(subject) == true && ($0["finding"] as? String)?.contains(text) == true }?["severity"] as? String
        }
        #expect(severity(of: "vault", containing: "not immutable", in: findings) == "warning")
        #expect(severity(of: "copies", containing: "1 vault(s) hold snapshots", in: findings) == "warning")
        #expect(severity(of: "vault", containing: "the last drill passed", in: findings) == "ok")

        // A second, immutable copy on S3 at another endpoint: copies are fine, the locked vault is immutable.
        let locked = "s3://grace-doctor-\(UUID().uuidString.prefix(8).lowercased())/v?endpoint=\(endpoint.replacingOccurrences(of: "127.0.0.1", with: "localhost"))"
        #expect(try await Self.run(["init", "--vault", locked, "--object-lock", "governance", "--retention", "1d"]).exitCode == 0)
        #expect(try await Self.run(["snapshot", "--deployment", deployment, "--vault", locked]).exitCode == 0)
        let both = try await Self.run(["doctor", "--vault", folder, "--vault", locked, "--deployment", deployment, "--json"])
        let all = (try JSONSerialization.jsonObject(with: Data(both.standardOutput.utf8)) as? [String: Any])?["findings"] as? [[String: Any]] ?? []
        #expect(severity(of: "copies", containing: "2 vaults in 2 places", in: all) == "ok", "\(both.standardOutput)")
        #expect(severity(of: "vault s3://", containing: "immutable: every record locked (governance)", in: all) == "ok")
        #expect(severity(of: "vault s3://", containing: "the bucket keeps versions", in: all) == "ok")
        #expect(severity(of: "vault s3://", containing: "never drilled", in: all) == "warning")
    }

    /// The whole flow with the vault behind a proxy that refuses, throttles, drops, answers
    /// nothing after doing the work, or cuts off 15% of the requests: it still finishes, and
    /// `verify --read-data` (every record's hash) shows nothing half-written under a final key.
    @Test func theFlowFinishesCorrectlyThroughAFailingConnection() async throws {
        guard let endpoint = Self.endpoint(), let server = URL(string: endpoint) else { return }
        let proxy = try FailureProxy(upstream: server, share: 0.15, failures: ["refuse", "throttle", "drop", "applied", "truncate"], seed: 3)
        let scratch = try Scratch()
        let vault = "s3://grace-cli-proxied/\(UUID().uuidString.prefix(8).lowercased())?endpoint=\(proxy.endpoint.absoluteString)"
        let direct = vault.replacingOccurrences(of: proxy.endpoint.absoluteString, with: endpoint)
        let deployment = scratch.url.appendingPathComponent("deployment").path
        #expect(try await Self.run(["simulate", "--deployment", deployment, "--files", "120", "--operations", "30"]).exitCode == 0)
        let steps: [[String]] = [
            ["init", "--vault", vault],
            ["snapshot", "--deployment", deployment, "--vault", vault],
            ["simulate", "--deployment", deployment, "--files", "40", "--operations", "20", "--seed", "2"],
            ["snapshot", "--deployment", deployment, "--vault", vault],
            ["verify", "--vault", vault, "--read-data"],
            ["restore", "--vault", vault, "--to", scratch.url.appendingPathComponent("restored").path],
            ["copy", deployment + "/objects", vault.replacingOccurrences(of: "?", with: "-objects?")],
        ]
        for step in steps {
            let result = try await Self.run(step)
            #expect(result.exitCode == 0, "\(step[0]): \(result.standardOutput)\(result.standardError)")
        }
        let stats = try await proxy.stats()
        #expect(stats.filter { $0.key != "requests" }.values.reduce(0, +) > 20, "the proxy did get in the way: \(stats)")
        // Read again straight from the server: every record whole.
        let verify = try await Self.run(["verify", "--vault", direct, "--read-data"])
        #expect(verify.exitCode == 0, "\(verify.standardOutput)")
    }

    /// A bundle catalog in a bucket, written through a proxy that refuses, throttles, drops, answers
    /// nothing after doing the work, or cuts off 15% of the requests: a full bundle, an incremental one,
    /// then a full export that copies the first two bundles' entries back out of the bucket. Read
    /// straight from the server, git clones both ways to the same commit.
    @Test func aBundleCatalogInABucketChainsAndItsFullExportCopiesFromIt() async throws {
        guard let endpoint = Self.endpoint(), let server = URL(string: endpoint) else { return }
        let proxy = try FailureProxy(upstream: server, share: 0.15, failures: ["refuse", "throttle", "drop", "applied", "truncate"], seed: 5)
        let scratch = try Scratch()
        let place = "s3://grace-cli-tests/\(UUID().uuidString.prefix(8).lowercased())/bundles"
        let catalog = "\(place)?endpoint=\(proxy.endpoint.absoluteString)&region=us-east-1", direct = "\(place)?endpoint=\(endpoint)&region=us-east-1"
        let deployment = scratch.url.appendingPathComponent("deployment").path
        #expect(try await Self.run(["simulate", "--deployment", deployment, "--files", "20", "--operations", "2"]).exitCode == 0)
        let source = try await BundleCommandTests.gitBundle(in: scratch.url)
        let imported = try await Self.run(["import-bundle", source.path, "--deployment", deployment, "--new-repository", "project", "--json"])
        let repository = try #require(try BundleCommandTests.json(imported.standardOutput)["repositoryID"] as? String, "\(imported.standardError)")
        let export = ["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", catalog, "--json"]

        let first = try await Self.run(export)
        #expect(first.exitCode == 0, "\(first.standardError)")
        // The same history imported again: three more promotions, then the chain's next bundle.
        #expect(try await Self.run(["import-bundle", source.path, "--deployment", deployment, "--repository-id", repository]).exitCode == 0)
        let second = try await BundleCommandTests.json(try Self.run(export).standardOutput)
        #expect((second["prerequisites"] as? [String])?.count == 1 && second["full"] as? Bool == false, "\(second)")
        let full = try await BundleCommandTests.json(try Self.run(export + ["--full"]).standardOutput)
        let copied = try #require(full["copiedObjects"] as? Int)
        #expect(full["full"] as? Bool == true && copied > 0 && copied == full["objects"] as? Int, "everything was in the chain: \(full)")

        let stats = try await proxy.stats()
        #expect(stats.filter { $0.key != "requests" }.values.reduce(0, +) > 5, "the proxy did get in the way: \(stats)")

        let local = scratch.url.appendingPathComponent("catalog")
        #expect(try await Self.run(["copy", direct, local.path]).exitCode == 0)
        let bundles = try FileManager.default.contentsOfDirectory(atPath: local.appendingPathComponent("\(repository)/bundles").path).sorted()
            .map { local.appendingPathComponent("\(repository)/bundles/\($0)").path }
        #expect(bundles.count == 3, "\(bundles)")
        guard bundles.count == 3 else { return }
        let chained = scratch.url.appendingPathComponent("chained"), alone = scratch.url.appendingPathComponent("alone")
        _ = try await BundleCommandTests.git(["clone", "-q", "-b", "main", bundles[0], chained.path], in: scratch.url)
        _ = try await BundleCommandTests.git(["fetch", "-q", bundles[1], "main:refs/remotes/origin/main"], in: chained)
        _ = try await BundleCommandTests.git(["clone", "-q", "-b", "main", bundles[2], alone.path], in: scratch.url)
        for clone in [chained, alone] {
            let fsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: clone)
            #expect(fsck.exitCode == 0 && fsck.standardOutput.isEmpty && fsck.standardError.isEmpty, "\(fsck.standardError)")
        }
        var tips: [String] = []
        for (reference, clone) in [("origin/main", chained), ("main", alone)] {
            tips.append(try await BundleCommandTests.git(["rev-parse", reference], in: clone).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let exportedTip = try #require((full["refs"] as? [String: String])?["refs/heads/main"])
        #expect(tips == [exportedTip, exportedTip], "the chain and the full bundle end at the exported commit: \(tips) \(full)")

        // fetch-bundles, through the failing connection too, copies the chain from the full bundle on: that one alone.
        let fetchedFolder = scratch.url.appendingPathComponent("fetched")
        let fetched = try await Self.run(["fetch-bundles", "--from", catalog, "--repository-id", repository, "--to", fetchedFolder.path, "--json"])
        #expect(fetched.exitCode == 0, "\(fetched.standardError)")
        let names = try #require(try BundleCommandTests.json(fetched.standardOutput)["bundles"] as? [String])
        #expect(names == [URL(fileURLWithPath: bundles[2]).lastPathComponent], "\(names)")
        #expect(try Data(contentsOf: fetchedFolder.appendingPathComponent(names[0])) == Data(contentsOf: URL(fileURLWithPath: bundles[2])))
    }

    /// A content too large to hold (32 MiB or more) streams into a bundle from a bucket through a proxy
    /// that cuts off every answer over 16 MiB and refuses, throttles or drops a share of the requests: its
    /// read breaks, resumes where it broke, breaks again and resumes, and git clones the bundle to the
    /// original bytes.
    @Test func aLargeContentStreamsIntoABundleFromABucketThroughAFailingConnection() async throws {
        guard let endpoint = Self.endpoint(), let server = URL(string: endpoint) else { return }
        let proxy = try FailureProxy(upstream: server, share: 0.1, failures: ["refuse", "throttle", "drop"], seed: 9, truncatingAbove: 16 << 20)
        let scratch = try Scratch()
        let source = scratch.url.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("media"), withIntermediateDirectories: true)
        let large = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: (32 << 20) + 100)
        try large.write(to: source.appendingPathComponent("media/large.bin"))
        try Data("beside a large file\n".utf8).write(to: source.appendingPathComponent("README"))
        _ = try await BundleCommandTests.git(["init", "-q", "-b", "main", "."], in: source)
        _ = try await BundleCommandTests.git(["add", "."], in: source)
        _ = try await BundleCommandTests.git(["commit", "-q", "-m", "A large file"], in: source)
        let objects = "s3://grace-cli-tests/\(UUID().uuidString.prefix(8).lowercased())/objects?endpoint=\(proxy.endpoint.absoluteString)&region=us-east-1"
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let replayed = try await Self.run(["simulate", "--deployment", deployment, "--objects", objects, "--from-git", source.path, "--json"])
        let repository = try #require(try BundleCommandTests.json(replayed.standardOutput)["repositoryID"] as? String, "\(replayed.standardError)")
        let truncatedBefore = try await proxy.stats()["truncate"] ?? 0
        let bundle = scratch.url.appendingPathComponent("large.bundle")
        let export = try await Self.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", bundle.path])
        #expect(export.exitCode == 0, "\(export.standardError)")
        #expect(try await proxy.stats()["truncate"] ?? 0 >= truncatedBefore + 2, "the read broke twice: at half of 32 MiB, then at half of the rest")
        let clone = scratch.url.appendingPathComponent("clone")
        _ = try await BundleCommandTests.git(["clone", "-q", "-b", "main", bundle.path, clone.path], in: scratch.url)
        let fsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsck.exitCode == 0 && fsck.standardOutput.isEmpty && fsck.standardError.isEmpty, "\(fsck.standardError)")
        let cloned = try Data(contentsOf: clone.appendingPathComponent("media/large.bin"))
        #expect(cloned == large, "the large file is the original's \(large.count) bytes")
    }

    @Test func aBadBucketOrLocationIsNamed() async throws {
        guard let endpoint = Self.endpoint() else { return }
        let missing = try await Self.run(["snapshots", "--vault", "s3://no-such-vault-bucket/v?endpoint=\(endpoint)"])
        #expect(missing.exitCode == 3 && missing.standardError.contains("bucket no-such-vault-bucket does not exist"), "\(missing.standardError)")
        let malformed = try await Self.run(["snapshots", "--vault", "s3://No_Such/v"])
        #expect(malformed.exitCode == 64 && malformed.standardError.contains("not a valid bucket name"), "\(malformed.standardError)")
        let noCredentials = try await CommandLineTool.run(["snapshots", "--vault", "s3://grace-cli-vaults/v?endpoint=\(endpoint)"],
                                                    environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"])
        #expect(noCredentials.exitCode == 64 && noCredentials.standardError.contains("S3 credentials"), "\(noCredentials.standardError)")
    }
}
