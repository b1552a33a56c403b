import Foundation
import GraceBackupTesting
import Testing

/// Three `grace-backup worker` processes share a PostgreSQL deployment's job table; one is killed
/// in the middle of a job, and every job is still done exactly once in effect.
struct WorkerCommandTests {
    static func startWorker(_ name: String, _ arguments: [String], log: URL) throws -> Process {
        try CommandLineTool.start(["worker", "--name", name, "--json"] + arguments, output: log)
    }

    static func jobStates(_ database: String) async throws -> [String] {
        try await PostgresTestServer.query("SELECT job_id || ' ' || kind || ' ' || state || ' ' || attempts FROM jobs ORDER BY job_id", in: database).compactMap { $0 }
    }

    @Test func threeWorkersShareTheJobsAndOneKilledMidJobLosesNothingAndRepeatsNothing() async throws {
        guard let database = try await PostgresTestServer.newDatabaseURL() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }
        let simulate = try await CommandLineTool.run(["simulate", "--deployment", database, "--objects", folder("objects"), "--repositories", "4",
                                                "--files", "900", "--operations", "40"])
        #expect(simulate.exitCode == 0, "\(simulate.standardError)")
        #expect(try await CommandLineTool.run(["init", "--vault", folder("vault")]).exitCode == 0)
        let snapshotJob = try await CommandLineTool.run(["jobs", "add", "--deployment", database, "snapshot"])
        #expect(snapshotJob.exitCode == 0, "\(snapshotJob.standardError)")
        let exportJobs = try await CommandLineTool.run(["jobs", "add", "--deployment", database, "export-bundle", "--all-repositories", "--json"])
        let repositories = ((try? JSONSerialization.jsonObject(with: Data(exportJobs.standardOutput.utf8))) as? [[String: Any]] ?? []).compactMap { $0["scope"] as? String }
        #expect(repositories.count == 4, "\(exportJobs.standardOutput)\(exportJobs.standardError)")

        // The snapshot job is held mid-read: the test locks a table the snapshot reads and the bundle
        // exports do not, so the job is certainly running, on its first attempt, when its worker is killed.
        let hold = try await PostgresTestServer.holding(["LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE"], in: database)
        let common = ["--deployment", database, "--vault", folder("vault"), "--bundles", folder("bundles"), "--lease", "4", "--heartbeat", "0.5", "--poll", "0.1"]
        var workers: [String: Process] = [:]
        for name in ["w1", "w2", "w3"] {
            workers[name] = try Self.startWorker(name, common, log: scratch.url.appendingPathComponent("\(name).log"))
        }
        var victim: (worker: String, job: String)?
        let watching = ContinuousClock.now
        while victim == nil, ContinuousClock.now - watching < .seconds(120) {
            let blocked = try await PostgresTestServer.query("SELECT count(*)::text FROM pg_stat_activity WHERE wait_event_type = 'Lock'", in: database)
            let held = try await PostgresTestServer.query(
                "SELECT lease_owner || ' ' || job_id FROM jobs WHERE state = 'running' AND kind = 'snapshot' AND attempts = 1", in: database)
            if blocked != ["0"], let row = held.first??.split(separator: " "), row.count == 2, let process = workers[String(row[0])] {
                kill(process.processIdentifier, SIGKILL)
                try await process.exit(within: .seconds(10))
                victim = (String(row[0]), String(row[1]))
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        await hold.release()
        let killed = try #require(victim, "the worker holding the snapshot job was seen waiting on the lock")

        // The other two finish everything, the dead worker's job once its lease has expired.
        let waiting = ContinuousClock.now
        while try await Self.jobStates(database).contains(where: { !$0.contains(" done ") }), ContinuousClock.now - waiting < .seconds(120) {
            try await Task.sleep(for: .milliseconds(200))
        }
        for (name, process) in workers where name != killed.worker {
            process.terminate()
            try await process.exit(within: .seconds(30))
        }
        let states = try await Self.jobStates(database)
        #expect(states.count == 5 && states.allSatisfy { $0.contains(" done ") }, "\(states)")
        for state in states {
            let fields = state.split(separator: " ")
            #expect(fields.last == (fields.first.map(String.init) == killed.job ? "2" : "1"), "only the dead worker's job ran twice: \(states)")
        }
        let log = { (name: String) in (try? String(contentsOf: scratch.url.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? "" }
        let survivors = ["w1", "w2", "w3"].filter { $0 != killed.worker }
        #expect(survivors.contains { log($0).contains("\"jobID\":\(killed.job),") && log($0).contains("\"attempt\":2") }, "a survivor redid job \(killed.job)")

        // Exactly once in effect: one snapshot, one export per repository, and all of it sound.
        let listed = try await CommandLineTool.run(["snapshots", "--vault", folder("vault"), "--json"])
        let snapshots = (try? JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8))) as? [[String: Any]] ?? []
        #expect(snapshots.count == 1, "\(listed.standardOutput)")
        #expect(try await CommandLineTool.run(["verify", "--vault", folder("vault"), "--read-data"]).exitCode == 0)
        let restore = try await CommandLineTool.run(["restore", "--vault", folder("vault"), "--to", folder("restored")])
        #expect(restore.exitCode == 0 && restore.standardOutput.contains("no problems found"), "\(restore.standardOutput)\(restore.standardError)")
        #expect(try await CommandLineTool.system("git", ["init", "-q", folder("checker")]).exitCode == 0)
        for repository in repositories {
            let exports = try FileManager.default.contentsOfDirectory(atPath: folder("bundles/\(repository)/exports"))
            #expect(exports == ["00000001.json"], "one export of \(repository): \(exports)")
            let bundles = try FileManager.default.contentsOfDirectory(atPath: folder("bundles/\(repository)/bundles")).filter { $0.hasSuffix(".bundle") }
            #expect(bundles.count == 1, "\(bundles)")
            if let bundle = bundles.first {
                let verify = try await CommandLineTool.system("git", ["-C", folder("checker"), "bundle", "verify", folder("bundles/\(repository)/bundles/\(bundle)")])
                #expect(verify.exitCode == 0, "\(verify.standardError)")
            }
        }
    }

    @Test func workersFollowingPromotionsQueueEachRepositorysNextBundleOnce() async throws {
        guard let database = try await PostgresTestServer.newDatabaseURL() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }
        #expect(try await CommandLineTool.run(["migrate", "--deployment", database, "--objects", folder("objects")]).exitCode == 0)
        let common = ["--deployment", database, "--bundles", folder("bundles"), "--follow-promotions", "--lease", "5", "--poll", "0.1"]
        let workers = try ["a", "b"].map { try Self.startWorker($0, common, log: scratch.url.appendingPathComponent("\($0).log")) }
        defer { for worker in workers { worker.terminate(); worker.waitUntilExit() } }

        let simulate = try await CommandLineTool.run(["simulate", "--deployment", database, "--repositories", "3", "--files", "60", "--operations", "40", "--json"])
        #expect(simulate.exitCode == 0, "\(simulate.standardError)")
        let report = (try? JSONSerialization.jsonObject(with: Data(simulate.standardOutput.utf8))) as? [String: Any] ?? [:]
        let repositories = report["repositoryIDs"] as? [String] ?? []
        #expect(repositories.count == 3)
        // A history imported from git: promotions assigned to the default branch, not promoted from a child.
        let imported = try await CommandLineTool.run(["import-bundle", try await BundleCommandTests.gitBundle(in: scratch.url).path,
                                                "--deployment", database, "--new-repository", "imported", "--json"])
        let importedID = try #require((try? JSONSerialization.jsonObject(with: Data(imported.standardOutput.utf8)) as? [String: Any])?["repositoryID"] as? String,
                                      "\(imported.standardError)")
        let promoted = try await PostgresTestServer.query(
            "SELECT DISTINCT repository_id FROM event_outbox WHERE event_type IN ('BranchEvent.Promoted', 'BranchEvent.Assigned', 'BranchEvent.Tagged') ORDER BY repository_id",
            in: database).compactMap { $0 }
        #expect(!promoted.isEmpty && promoted.contains(importedID), "the simulation promoted, the import assigned")

        // Each promoted repository gets its bundles; once caught up, no job is open and the chain holds
        // every promotion and tag: its latest export read the whole feed.
        let waiting = ContinuousClock.now
        var done: [String] = []
        while ContinuousClock.now - waiting < .seconds(120) {
            // Caught up: the group has read the whole outbox (so every job it will add is added) and no job is open.
            let behind = try await PostgresTestServer.query("""
                SELECT count(*)::text FROM consumer_partitions
                WHERE group_name = 'export-on-promotion' AND position < (SELECT max(event_offset) FROM event_outbox)
                """, in: database)
            let open = try await PostgresTestServer.query("SELECT count(*)::text FROM jobs WHERE state <> 'done'", in: database)
            let groupExists = try await PostgresTestServer.query("SELECT count(*)::text FROM consumer_partitions", in: database)
            done = try await PostgresTestServer.query("SELECT DISTINCT scope FROM jobs WHERE state = 'done' ORDER BY scope", in: database).compactMap { $0 }
            if groupExists != ["0"], behind == ["0"], open == ["0"] { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(done == promoted, "every promoted repository exported: \(done) vs \(promoted)")
        for repository in promoted {
            let again = try await CommandLineTool.run(["export-bundle", "--deployment", database, "--repository-id", repository, "--all-branches",
                                                 "--output", folder("bundles"), "--json"])
            let report = (try? JSONSerialization.jsonObject(with: Data(again.standardOutput.utf8))) as? [String: Any] ?? [:]
            #expect(again.exitCode == 0 && report["objects"] as? Int == 0 && (report["refs"] as? [String: Any])?.isEmpty == true, "repository \(repository)'s chain holds every promotion and tag: \(again.standardOutput)")
        }
        let positions = try await PostgresTestServer.query(
            "SELECT DISTINCT position::text FROM consumer_partitions WHERE group_name = 'export-on-promotion'", in: database)
        let lastOffset = try await PostgresTestServer.query("SELECT max(event_offset)::text FROM event_outbox", in: database)
        #expect(positions == lastOffset, "the group read the whole outbox, every partition: \(positions)")
    }
}
