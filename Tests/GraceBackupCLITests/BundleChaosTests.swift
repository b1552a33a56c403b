import Foundation
import Testing

/// `export-bundle` into a catalog SIGKILLed at many points, incremental and `--full`: the next
/// export always completes, the chain git clones holds every promotion, and what the killed
/// exports left behind goes once it is old.
struct BundleChaosTests {
    @Test func anExportKilledAtAnyPointLeavesTheCatalogWholeAndItsLeftoversGo() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let catalog = scratch.url.appendingPathComponent("catalog")
        let temporary = scratch.url.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        let environment = ["TMPDIR": temporary.path]
        let simulate = try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "300", "--operations", "5", "--json"])
        let repository = try #require((try BundleCommandTests.json(simulate.standardOutput)["repositoryIDs"] as? [String])?.first, "\(simulate.standardError)")
        let export = ["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", catalog.path]
        // A promotion with 60 new text files (700 KB to hash and deflate), so that an export has work to
        // be killed in beyond its start.
        var promotions = 0
        func promote() async throws {
            promotions += 1
            let source = scratch.url.appendingPathComponent("source-\(promotions)")
            var state = UInt64(promotions) &* 0x9E37_79B9_7F4A_7C15
            for file in 0..<60 {
                let words = (0..<1500).map { _ in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return ["grace", "bundle", "pack", "delta", "tree", "blob", "commit", "\(state >> 50)"][Int(state >> 61)]
                }
                let url = source.appendingPathComponent("dir\(file % 6)/file\(file).txt")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(words.joined(separator: " ").utf8).write(to: url)
            }
            _ = try await BundleCommandTests.git(["init", "-q", "-b", "main", "."], in: source)
            _ = try await BundleCommandTests.git(["add", "."], in: source)
            _ = try await BundleCommandTests.git(["commit", "-q", "-m", "promotion \(promotions)"], in: source)
            _ = try await BundleCommandTests.git(["bundle", "create", "-q", "../source-\(promotions).bundle", "--all"], in: source)
            let imported = try await CommandLineTool.run(["import-bundle", source.path + ".bundle", "--deployment", deployment, "--repository-id", repository])
            #expect(imported.exitCode == 0, "\(imported.standardError)")
        }
        #expect(try await CommandLineTool.run(export, environment: environment).exitCode == 0)

        // Each kind of export timed once; kills are spread over fractions of that time, and a round
        // that finishes first (the machine got less busy) becomes the new estimate.
        var whole: [Bool: Duration] = [:]
        for full in [false, true] {
            try await promote()
            let started = ContinuousClock.now
            #expect(try await CommandLineTool.run(export + (full ? ["--full"] : []), environment: environment).exitCode == 0)
            whole[full] = ContinuousClock.now - started
        }
        var killedMidway = 0, round = 0
        // Six fractions of each kind at least, then on until six kills have landed midway.
        while round < 12 || (killedMidway < 6 && round < 36) {
            defer { round += 1 }
            let full = round % 2 == 1
            try await promote()
            let delay = whole[full]! * (Double(round / 2 % 6) + 0.5) / 6
            let process = try CommandLineTool.start(export + (full ? ["--full"] : []), environment: environment)
            let launched = ContinuousClock.now
            while process.isRunning, ContinuousClock.now - launched < delay { try await Task.sleep(for: .milliseconds(2)) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedMidway += 1
            } else {
                whole[full] = min(whole[full]!, ContinuousClock.now - launched)
            }
            try await process.exit(within: .seconds(30))
            let next = try await CommandLineTool.run(export, environment: environment)
            #expect(next.exitCode == 0, "round \(round), after a kill at \(delay): \(next.standardError)")
        }
        #expect(killedMidway >= 6, "the loop must kill exports midway (whole: \(whole))")

        // The whole chain, its records' bundles fetched in order into one clone, ends at the last export's commit.
        func recordedBundles() throws -> [String] {
            let records = catalog.appendingPathComponent("\(repository)/exports")
            return try FileManager.default.contentsOfDirectory(atPath: records.path).sorted().map { name in
                let record = try BundleCommandTests.json(try String(contentsOf: records.appendingPathComponent(name), encoding: .utf8))
                return catalog.appendingPathComponent(try #require(record["bundle"] as? String)).path
            }
        }
        let bundles = try recordedBundles()
        let latest = try BundleCommandTests.json(try String(contentsOf: catalog.appendingPathComponent("\(repository)/latest.json"), encoding: .utf8))
        let tip = try #require((latest["allRefs"] as? [String: String])?["refs/heads/main"])
        #expect(bundles.count == latest["number"] as? Int, "one record per number: \(bundles)")
        let clone = scratch.url.appendingPathComponent("clone")
        _ = try await BundleCommandTests.git(["clone", "-q", "-b", "main", bundles[0], clone.path], in: scratch.url)
        for bundle in bundles.dropFirst() { _ = try await BundleCommandTests.git(["fetch", "-q", bundle, "main:refs/remotes/origin/main"], in: clone) }
        #expect(try await BundleCommandTests.git(["rev-parse", "origin/main"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines) == tip)
        let fsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsck.exitCode == 0 && fsck.standardError.isEmpty, "\(fsck.standardError)")

        // Leftovers of the killed exports (scratch bundles, half-written catalog files) are removed by
        // the next export once they are old: made old here.
        let incoming = catalog.appendingPathComponent(".incoming")
        let scratchFolders = temporary.appendingPathComponent("grace-backup-exports")
        let leftovers = [scratchFolders, incoming].flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).map { folder.appendingPathComponent($0).path }
        }
        let longAgo = Date().addingTimeInterval(-7200)
        for path in leftovers {
            for inside in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                try FileManager.default.setAttributes([.modificationDate: longAgo], ofItemAtPath: path + "/" + inside)
            }
            try FileManager.default.setAttributes([.modificationDate: longAgo], ofItemAtPath: path)
        }
        // A full export also deletes the bundles no record names (a kill between bundle and record
        // leaves one; incremental exports look for them every 16th).
        try await promote()
        #expect(try await CommandLineTool.run(export + ["--full"], environment: environment).exitCode == 0)
        let remaining = [scratchFolders, incoming].flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0.path)) ?? [] }
        #expect(remaining.isEmpty, "left behind: \(remaining) (of \(leftovers.count) before)")
        let present = try FileManager.default.contentsOfDirectory(atPath: catalog.appendingPathComponent("\(repository)/bundles").path).sorted()
            .map { catalog.appendingPathComponent("\(repository)/bundles/\($0)").path }
        #expect(present == (try recordedBundles()), "only the records' bundles are left")
        print("export chaos: \(round) rounds, \(killedMidway) killed midway (whole: \(whole)), \(leftovers.count) leftovers found and removed, \(bundles.count) bundles")
    }
}

