import Foundation
import GraceBackupTesting
import Testing

/// A PostgreSQL server that goes away in the middle of a snapshot, on a cluster of the test's own.
/// The snapshot is held mid-read deterministically: the test locks the entity tables, waits until
/// the snapshot's read is waiting on that lock, and only then stops the server.
struct PostgresRestartTests {
    static let entityTables = ["owners", "organizations", "repositories", "branches", "refs", "directory_versions"]

    /// Starts a snapshot and returns once it is blocked in the middle of its database read.
    static func snapshotHeldMidRead(_ cluster: PrivatePostgresCluster, vault: String, errors: URL) async throws -> (Process, PostgresTestServer.HeldTransaction) {
        let password = cluster.environment["PGPASSWORD"]
        let held = try await PostgresTestServer.holding(entityTables.map { "LOCK TABLE \($0) IN ACCESS EXCLUSIVE MODE" }, in: cluster.url, password: password)
        let process = Process()
        process.executableURL = CommandLineTool.executable
        process.arguments = ["snapshot", "--deployment", cluster.url, "--vault", vault, "--json"]
        process.environment = ProcessInfo.processInfo.environment.merging(cluster.environment) { $1 }
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(30) {
            let waiting = try await PostgresTestServer.query("SELECT count(*)::text FROM pg_stat_activity WHERE wait_event_type = 'Lock'", in: cluster.url, password: password)
            if waiting != ["0"] { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process, held)
    }

    static func snapshotCount(_ vault: String) throws -> Int {
        let listed = try CommandLineTool.run(["snapshots", "--vault", vault, "--json"])
        return ((try? JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8))) as? [Any])?.count ?? -1
    }

    @Test func aSnapshotStartsOverAfterARestartAndFailsCleanlyWhenTheServerStaysDown() async throws {
        guard let cluster = try PrivatePostgresCluster.start() else { return }
        let scratch = try Scratch()
        let vault = scratch.url.appendingPathComponent("vault").path
        let simulate = try CommandLineTool.run(["simulate", "--deployment", cluster.url, "--objects", scratch.url.appendingPathComponent("objects").path,
                                                "--files", "200", "--operations", "30"], environment: cluster.environment)
        #expect(simulate.exitCode == 0, "\(simulate.standardError)")
        #expect(try CommandLineTool.run(["init", "--vault", vault]).exitCode == 0)

        // Stopped mid-read and back 1.5 s later: the snapshot starts over and completes.
        let restartLog = scratch.url.appendingPathComponent("restart.err")
        let (restarted, firstHold) = try await Self.snapshotHeldMidRead(cluster, vault: vault, errors: restartLog)
        try cluster.stopServer()
        await firstHold.release()
        try await Task.sleep(for: .milliseconds(1500))
        try cluster.startServer()
        restarted.waitUntilExit()
        let restartErrors = try String(contentsOf: restartLog, encoding: .utf8)
        #expect(restarted.terminationStatus == 0, "\(restartErrors)")
        #expect(restartErrors.contains("starting the snapshot over"), "\(restartErrors)")
        #expect(try Self.snapshotCount(vault) == 1)

        // Stopped mid-read for good: a clear failure naming the database, and nothing half-written.
        let downLog = scratch.url.appendingPathComponent("down.err")
        let (abandoned, secondHold) = try await Self.snapshotHeldMidRead(cluster, vault: vault, errors: downLog)
        try cluster.stopServer()
        await secondHold.release()
        abandoned.waitUntilExit()
        let downErrors = try String(contentsOf: downLog, encoding: .utf8)
        #expect(abandoned.terminationStatus == 5, "\(downErrors)")
        #expect(downErrors.contains("postgres://grace@127.0.0.1:\(cluster.port)/postgres") && downErrors.contains("Connection refused"), "\(downErrors)")
        #expect(try Self.snapshotCount(vault) == 1, "no partial snapshot")
        let verify = try CommandLineTool.run(["verify", "--vault", vault, "--read-data"])
        #expect(verify.exitCode == 0, "\(verify.standardOutput)")

        // Back up: the next snapshot completes, and both restore clean.
        try cluster.startServer()
        let next = try CommandLineTool.run(["snapshot", "--deployment", cluster.url, "--vault", vault], environment: cluster.environment)
        #expect(next.exitCode == 0, "\(next.standardError)")
        let restore = try CommandLineTool.run(["restore", "--vault", vault, "--to", scratch.url.appendingPathComponent("restored").path])
        #expect(restore.exitCode == 0 && restore.standardOutput.contains("no problems found"), "\(restore.standardOutput)\(restore.standardError)")
    }
}
