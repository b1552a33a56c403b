import Foundation
import GraceBackupTesting
import Testing

/// A PostgreSQL server that goes away in the middle of a snapshot, on a cluster of the test's own.
/// The snapshot is held mid-read deterministically: the test locks the entity tables, waits until
/// the snapshot's read is waiting on that lock, and only then stops the server.
struct PostgresRestartTests {
    static let entityTables = ["owners", "organizations", "repositories", "branches", "refs", "directory_versions"]

    /// Starts a snapshot and returns once it is blocked in the middle of its database read.
    static func snapshotHeldMidRead(_ cluster: PrivatePostgresCluster, vault: String, errors: URL, options: [String] = []) async throws -> (Process, PostgresTestServer.HeldTransaction) {
        let password = cluster.environment["PGPASSWORD"]
        let held = try await PostgresTestServer.holding(entityTables.map { "LOCK TABLE \($0) IN ACCESS EXCLUSIVE MODE" }, in: cluster.url, password: password)
        let process = try CommandLineTool.start(["snapshot", "--deployment", cluster.url, "--vault", vault, "--json"] + options, environment: cluster.environment, errors: errors)
        #expect(try await someoneWaitsOnALock(cluster.url, password: password, while: process), "the snapshot was seen waiting mid-read")
        return (process, held)
    }

    /// Whether some statement on the server is waiting on a lock, asked until it is or `process` ends (30 s at most).
    static func someoneWaitsOnALock(_ url: String, password: String?, while process: Process) async throws -> Bool {
        let started = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - started < .seconds(30) {
            let waiting = try await PostgresTestServer.query("SELECT count(*)::text FROM pg_stat_activity WHERE wait_event_type = 'Lock'", in: url, password: password)
            if waiting != ["0"] { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    static func snapshotCount(_ vault: String) async throws -> Int {
        let listed = try await CommandLineTool.run(["snapshots", "--vault", vault, "--json"])
        return ((try? JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8))) as? [Any])?.count ?? -1
    }

    /// The server outlives the start that spawned it: had it inherited one end of a test's pipe, that
    /// test would read until the server stops (it once hung the whole suite).
    @Test func aPrivateServerHoldsNoneOfTheTestsPipes() async throws {
        let pipe = Pipe()
        var status = stat()
        #expect(fstat(pipe.fileHandleForWriting.fileDescriptor, &status) == 0)
        let pipeName = "pipe:[\(status.st_ino)]"
        guard let cluster = try await PrivatePostgresCluster.start() else { return }
        let pidFile = try String(contentsOf: cluster.folder.appendingPathComponent("data/postmaster.pid"), encoding: .utf8)
        let server = try #require(pidFile.split(separator: "\n").first.map(String.init))
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server)/fd")
        #expect(!descriptors.isEmpty, "the server's descriptors are readable")
        let held = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server)/fd/\($0)") }.filter { $0 == pipeName }
        #expect(held.isEmpty, "the server holds the test's \(pipeName)")
        withExtendedLifetime(pipe) {}
    }

    @Test func aSnapshotStartsOverAfterARestartAndFailsCleanlyWhenTheServerStaysDown() async throws {
        guard let cluster = try await PrivatePostgresCluster.start() else { return }
        let scratch = try Scratch()
        let vault = scratch.url.appendingPathComponent("vault").path
        let simulate = try await CommandLineTool.run(["simulate", "--deployment", cluster.url, "--objects", scratch.url.appendingPathComponent("objects").path,
                                                "--files", "200", "--operations", "30"], environment: cluster.environment)
        #expect(simulate.exitCode == 0, "\(simulate.standardError)")
        #expect(try await CommandLineTool.run(["init", "--vault", vault]).exitCode == 0)

        // Stopped mid-read and back 1.5 s later: the snapshot starts over and completes.
        let restartLog = scratch.url.appendingPathComponent("restart.err")
        let (restarted, firstHold) = try await Self.snapshotHeldMidRead(cluster, vault: vault, errors: restartLog)
        let restart = try await cluster.restart(after: .milliseconds(1500))
        await firstHold.release()
        try await restarted.exit(within: .seconds(60))
        try await restart.serving()
        let restartErrors = try String(contentsOf: restartLog, encoding: .utf8)
        #expect(restarted.terminationStatus == 0, "\(restartErrors)")
        #expect(restartErrors.contains("starting the snapshot over"), "\(restartErrors)")
        #expect(try await Self.snapshotCount(vault) == 1)

        // Stopped mid-read for good, the snapshot told to wait 3 s: a clear failure naming the database, nothing half-written.
        let downLog = scratch.url.appendingPathComponent("down.err")
        let (abandoned, secondHold) = try await Self.snapshotHeldMidRead(cluster, vault: vault, errors: downLog, options: ["--wait-for-database", "3s"])
        try await cluster.stopServer()
        await secondHold.release()
        try await abandoned.exit(within: .seconds(60))
        let downErrors = try String(contentsOf: downLog, encoding: .utf8)
        #expect(abandoned.terminationStatus == 5, "\(downErrors)")
        #expect(downErrors.contains("postgres://grace@127.0.0.1:\(cluster.port)/postgres") && downErrors.contains("Connection refused"), "\(downErrors)")
        #expect(try await Self.snapshotCount(vault) == 1, "no partial snapshot")
        let verify = try await CommandLineTool.run(["verify", "--vault", vault, "--read-data"])
        #expect(verify.exitCode == 0, "\(verify.standardOutput)")

        // Back up: the next snapshot completes, and both restore clean.
        try await cluster.startServer()
        let next = try await CommandLineTool.run(["snapshot", "--deployment", cluster.url, "--vault", vault], environment: cluster.environment)
        #expect(next.exitCode == 0, "\(next.standardError)")
        let restore = try await CommandLineTool.run(["restore", "--vault", vault, "--to", scratch.url.appendingPathComponent("restored").path])
        #expect(restore.exitCode == 0 && restore.standardOutput.contains("no problems found"), "\(restore.standardOutput)\(restore.standardError)")
    }

    /// `export-bundle --follow` on a server that restarts: it waits the outage out and writes the
    /// next bundle of the chain for the promotions made after it.
    @Test func aFollowingExportWaitsOutARestartAndWritesTheNextBundle() async throws {
        guard let cluster = try await PrivatePostgresCluster.start() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }
        let run = { (arguments: [String]) in try await CommandLineTool.run(arguments, environment: cluster.environment) }
        #expect(try await run(["simulate", "--deployment", cluster.url, "--objects", folder("objects"), "--files", "20", "--operations", "2"]).exitCode == 0)
        let source = try await BundleCommandTests.gitBundle(in: scratch.url)
        let imported = try await run(["import-bundle", source.path, "--deployment", cluster.url, "--new-repository", "project", "--json"])
        let repository = try #require(try BundleCommandTests.json(imported.standardOutput)["repositoryID"] as? String, "\(imported.standardError)")
        let export = ["export-bundle", "--deployment", cluster.url, "--repository-id", repository, "--all-branches", "--output", folder("catalog")]
        #expect(try await run(export).exitCode == 0)
        let log = scratch.url.appendingPathComponent("follow.err")
        let follower = try CommandLineTool.start(export + ["--follow", "--poll", "0.2", "--duration", "150"], environment: cluster.environment, errors: log)
        // Following before the server stops, so what the test shows is a follower outliving a restart, not a slow start.
        let followed = try await CommandLineTool.waitUntil(follower, says: "export-bundle: following", in: log)
        #expect(followed.contains("export-bundle: following"), "\(followed)")

        // Down longer than a connection's own retries (about 4 s), then three more promotions.
        let restart = try await cluster.restart(after: .seconds(6))
        try await restart.serving()
        #expect(try await run(["import-bundle", source.path, "--deployment", cluster.url, "--repository-id", repository]).exitCode == 0)
        let second = folder("catalog") + "/\(repository)/exports/00000002.json"
        let waiting = ContinuousClock.now
        while !FileManager.default.fileExists(atPath: second), follower.isRunning, ContinuousClock.now - waiting < .seconds(90) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(follower.isRunning, "the follower outlived the restart")
        kill(follower.processIdentifier, SIGTERM)
        try await follower.exit(within: .seconds(30))
        let said = try String(contentsOf: log, encoding: .utf8)
        #expect(follower.terminationStatus == 0 && said.contains("trying again") && said.contains("incremental bundle"), "\(said)")
        #expect(FileManager.default.fileExists(atPath: second), "the promotions after the restart are in the next bundle: \(said)")
    }

    /// `stream` on a server that restarts: it waits the outage out and captures what came after, so
    /// the vault covers every change when it stops.
    @Test func aStreamWaitsOutARestartAndCapturesWhatCameAfter() async throws {
        guard let cluster = try await PrivatePostgresCluster.start() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }
        let run = { (arguments: [String]) in try await CommandLineTool.run(arguments, environment: cluster.environment) }
        #expect(try await run(["simulate", "--deployment", cluster.url, "--objects", folder("objects"), "--files", "20", "--operations", "5"]).exitCode == 0)
        #expect(try await run(["init", "--vault", folder("vault")]).exitCode == 0)
        #expect(try await run(["snapshot", "--deployment", cluster.url, "--vault", folder("vault")]).exitCode == 0)
        let log = scratch.url.appendingPathComponent("stream.err")
        let stream = try CommandLineTool.start(["stream", "--deployment", cluster.url, "--vault", folder("vault"), "--duration", "150"],
                                               environment: cluster.environment, errors: log)
        func said() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let following = try await CommandLineTool.waitUntil(stream, says: "stream: following", in: log)
        #expect(following.contains("stream: following"), "\(following)")

        // Down longer than a connection's own retries (about 4 s), then more changes.
        let restart = try await cluster.restart(after: .seconds(6))
        try await restart.serving()
        #expect(try await run(["simulate", "--deployment", cluster.url, "--files", "20", "--operations", "5", "--seed", "7"]).exitCode == 0)
        #expect(stream.isRunning, "the stream outlived the restart: \(said())")
        kill(stream.processIdentifier, SIGTERM)
        try await stream.exit(within: .seconds(60))
        #expect(stream.terminationStatus == 0 && said().contains("trying again"), "\(said())")
        let latest = try await PostgresTestServer.query("SELECT max(sequence)::text FROM change_feed", in: cluster.url, password: cluster.environment["PGPASSWORD"])
        #expect(said().contains("the vault covers up to change \(latest.first.flatMap { $0 } ?? "?")"), "every change captured: \(said())")
    }

    @Test func aRestoreCutShortByTheServerLeavesNothingHalfApplied() async throws {
        guard let cluster = try await PrivatePostgresCluster.start() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }
        let password = cluster.environment["PGPASSWORD"]
        #expect(try await CommandLineTool.run(["simulate", "--deployment", folder("source"), "--files", "150", "--operations", "30"]).exitCode == 0)
        #expect(try await CommandLineTool.run(["init", "--vault", folder("vault")]).exitCode == 0)
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", folder("source"), "--vault", folder("vault")]).exitCode == 0)
        let target = "postgres://grace@127.0.0.1:\(cluster.port)/postgres"
        #expect(try await CommandLineTool.run(["migrate", "--deployment", target, "--objects", folder("objects")], environment: cluster.environment).exitCode == 0)

        // SHARE mode lets the restore read (the target is empty) but holds its first write to
        // directory_versions, inside its one transaction, until the server is gone.
        let hold = try await PostgresTestServer.holding(["LOCK TABLE directory_versions IN SHARE MODE"], in: target, password: password)
        let errors = scratch.url.appendingPathComponent("restore.err")
        let process = try CommandLineTool.start(["restore", "--vault", folder("vault"), "--to", target], environment: cluster.environment, errors: errors)
        let blocked = try await Self.someoneWaitsOnALock(target, password: password, while: process)
        #expect(blocked, "the restore was seen waiting inside its transaction")
        try await cluster.stopServer()
        await hold.release()
        try await process.exit(within: .seconds(60))
        let message = try String(contentsOf: errors, encoding: .utf8)
        #expect(process.terminationStatus == 5 && message.contains(target), "\(message)")

        try await cluster.startServer()
        let counts = try await PostgresTestServer.query(
            "SELECT ((SELECT count(*) FROM owners) + (SELECT count(*) FROM repositories) + (SELECT count(*) FROM refs) + (SELECT count(*) FROM change_feed))::text",
            in: target, password: password)
        #expect(counts == ["0"], "nothing of the cut-short restore is in the database")
        let again = try await CommandLineTool.run(["restore", "--vault", folder("vault"), "--to", target], environment: cluster.environment)
        #expect(again.exitCode == 0 && again.standardOutput.contains("no problems found"), "\(again.standardOutput)\(again.standardError)")
    }

    @Test func aWorkerWaitsOutARestartAndRunsTheJobsAddedAfterIt() async throws {
        guard let cluster = try await PrivatePostgresCluster.start() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }
        let password = cluster.environment["PGPASSWORD"]
        #expect(try await CommandLineTool.run(["simulate", "--deployment", cluster.url, "--objects", folder("objects"), "--files", "60", "--operations", "10"],
                                        environment: cluster.environment).exitCode == 0)
        #expect(try await CommandLineTool.run(["init", "--vault", folder("vault")]).exitCode == 0)
        let errors = scratch.url.appendingPathComponent("worker.err")
        let worker = try CommandLineTool.start(["worker", "--deployment", cluster.url, "--vault", folder("vault"), "--poll", "0.2", "--name", "patient"],
                                               environment: cluster.environment, errors: errors)
        let started = try await CommandLineTool.waitUntil(worker, says: "worker patient: running jobs", in: errors)
        #expect(started.contains("worker patient: running jobs"), "\(started)")

        // Down longer than a connection's own retries (about 4 s): the worker itself backs off and tries again.
        try await cluster.stopServer()
        try await Task.sleep(for: .seconds(6))
        try await cluster.startServer()
        let added = try await CommandLineTool.run(["jobs", "add", "--deployment", cluster.url, "snapshot"], environment: cluster.environment)
        #expect(added.exitCode == 0, "\(added.standardError)")
        let waiting = ContinuousClock.now
        var state: [String?] = []
        while ContinuousClock.now - waiting < .seconds(90), worker.isRunning {
            state = try await PostgresTestServer.query("SELECT state FROM jobs", in: cluster.url, password: password)
            if state == ["done"] { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(worker.isRunning, "the worker outlived the restart")
        worker.terminate()
        try await worker.exit(within: .seconds(30))
        let log = try String(contentsOf: errors, encoding: .utf8)
        #expect(state == ["done"], "the job added after the restart was run: \(state) \(log)")
        #expect(log.contains("trying again in"), "\(log)")
        #expect(try await CommandLineTool.run(["verify", "--vault", folder("vault")]).exitCode == 0)
    }
}
