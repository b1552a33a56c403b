import Foundation
import GraceBackupTesting
import Testing

/// Deployments on the real PostgreSQL server scripts/test starts: the whole flow, restores across
/// backends, and workers sharing the job table.
struct PostgresCommandTests {
    static func json(_ result: CommandLineTool.Result) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))) as? [String: Any] ?? [:]
    }

    /// What a check counted: equal counts mean the same deployment.
    static func counts(_ deployment: String) async throws -> [String: Int] {
        let check = try await CommandLineTool.run(["check", "--deployment", deployment, "--json"])
        #expect(check.exitCode == 0, "check \(deployment): \(check.standardOutput) \(check.standardError)")
        let report = json(check)
        return ["repositories", "branches", "references", "directoryVersions", "objects"].reduce(into: [:]) { $0[$1] = report[$1] as? Int }
    }

    @Test func aPostgresDeploymentSimulatesChecksSnapshotsAndRestoresAcrossBackends() async throws {
        guard let source = try await PostgresTestServer.newDatabaseURL(), let restored = try await PostgresTestServer.newDatabaseURL(),
              let fromSQLite = try await PostgresTestServer.newDatabaseURL() else { return }
        let scratch = try Scratch()
        let folder = { (name: String) in scratch.url.appendingPathComponent(name).path }

        let noObjects = try await CommandLineTool.run(["simulate", "--deployment", source, "--files", "10", "--operations", "2"])
        #expect(noObjects.exitCode == 64 && noObjects.standardError.contains("give it with --objects"), "\(noObjects.standardError)")
        let simulate = try await CommandLineTool.run(["simulate", "--deployment", source, "--objects", folder("objects"), "--files", "150", "--operations", "40"])
        #expect(simulate.exitCode == 0, "\(simulate.standardError)")
        let more = try await CommandLineTool.run(["simulate", "--deployment", source, "--files", "20", "--operations", "10", "--seed", "2"])
        #expect(more.exitCode == 0, "the deployment remembers its objects: \(more.standardError)")
        let migrate = try await CommandLineTool.run(["migrate", "--deployment", source, "--json"])
        #expect(migrate.exitCode == 0 && Self.json(migrate)["schemaVersion"] as? Int == 3, "\(migrate.standardOutput)\(migrate.standardError)")
        #expect(Self.json(migrate)["objects"] as? String == "file://\(folder("objects"))")
        let sourceCounts = try await Self.counts(source)
        #expect((sourceCounts["references"] ?? 0) > 20)

        #expect(try await CommandLineTool.run(["init", "--vault", folder("vault")]).exitCode == 0)
        let snapshot = try await CommandLineTool.run(["snapshot", "--deployment", source, "--vault", folder("vault")])
        #expect(snapshot.exitCode == 0, "\(snapshot.standardError)")

        // PostgreSQL to PostgreSQL, then PostgreSQL to SQLite: the same deployment each time.
        let intoServer = try await CommandLineTool.run(["restore", "--vault", folder("vault"), "--to", restored, "--objects", folder("restored-objects")])
        #expect(intoServer.exitCode == 0 && intoServer.standardOutput.contains("no problems found"), "\(intoServer.standardOutput)\(intoServer.standardError)")
        #expect(try await Self.counts(restored) == sourceCounts)
        let intoFolder = try await CommandLineTool.run(["restore", "--vault", folder("vault"), "--to", folder("embedded")])
        #expect(intoFolder.exitCode == 0, "\(intoFolder.standardOutput)\(intoFolder.standardError)")
        #expect(try await Self.counts(folder("embedded")) == sourceCounts)
        let again = try await CommandLineTool.run(["restore", "--vault", folder("vault"), "--to", restored, "--objects", folder("restored-objects")])
        #expect(again.exitCode == 64 && again.standardError.contains("already holds a deployment"), "a restore never writes into a live database: \(again.standardError)")

        // SQLite to PostgreSQL.
        #expect(try await CommandLineTool.run(["simulate", "--deployment", folder("sqlite"), "--files", "120", "--operations", "30", "--seed", "5"]).exitCode == 0)
        let sqliteCounts = try await Self.counts(folder("sqlite"))
        #expect(try await CommandLineTool.run(["init", "--vault", folder("vault-2")]).exitCode == 0)
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", folder("sqlite"), "--vault", folder("vault-2")]).exitCode == 0)
        let upward = try await CommandLineTool.run(["restore", "--vault", folder("vault-2"), "--to", fromSQLite, "--objects", folder("from-sqlite-objects")])
        #expect(upward.exitCode == 0 && upward.standardOutput.contains("no problems found"), "\(upward.standardOutput)\(upward.standardError)")
        #expect(try await Self.counts(fromSQLite) == sqliteCounts)
        // A snapshot of the restored server deployment restores back into a folder, unchanged.
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", fromSQLite, "--vault", folder("vault-2")]).exitCode == 0)
        let downward = try await CommandLineTool.run(["restore", "--vault", folder("vault-2"), "--to", folder("round-trip")])
        #expect(downward.exitCode == 0, "\(downward.standardError)")
        #expect(try await Self.counts(folder("round-trip")) == sqliteCounts)
    }

    @Test func theQuickstartRunsOnAPostgresDeployment() async throws {
        guard let database = try await PostgresTestServer.newDatabaseURL() else { return }
        let scratch = try Scratch()
        let quickstart = try await CommandLineTool.run(["quickstart", "--folder", scratch.url.appendingPathComponent("q").path, "--deployment", database])
        #expect(quickstart.exitCode == 0, "\(quickstart.standardOutput)\(quickstart.standardError)")
        #expect(quickstart.standardOutput.contains("created a Grace deployment in \(database)"))
        #expect(quickstart.standardOutput.contains("check found 0 problems") && quickstart.standardOutput.contains("drilled the newest snapshot: passed"))
        let twice = try await CommandLineTool.run(["quickstart", "--folder", scratch.url.appendingPathComponent("q2").path, "--deployment", database])
        #expect(twice.exitCode == 64 && twice.standardError.contains("already holds a Grace deployment"), "\(twice.standardError)")
    }

    @Test func badServerLocationsAreNamed() async throws {
        guard let database = try await PostgresTestServer.newDatabaseURL() else { return }
        let typo = try await CommandLineTool.run(["check", "--deployment", "postgres:/grace@127.0.0.1/x"])
        #expect(typo.exitCode == 64 && typo.standardError.contains("lacks its \"//\""), "\(typo.standardError)")
        let noUser = try await CommandLineTool.run(["check", "--deployment", "postgres://127.0.0.1/x"])
        #expect(noUser.exitCode == 64 && noUser.standardError.contains("names no user"), "\(noUser.standardError)")
        let empty = try await CommandLineTool.run(["check", "--deployment", database])
        #expect(empty.exitCode == 64 && empty.standardError.contains("`grace-backup migrate` creates one"), "\(empty.standardError)")
        let wrong = try await CommandLineTool.run(["check", "--deployment", database], environment: ["PGPASSWORD": "not-it"])
        #expect(wrong.exitCode == 5 && wrong.standardError.contains("password authentication failed"), "\(wrong.standardError)")
        #expect(!wrong.standardError.contains("not-it"))
        let down = try await CommandLineTool.run(["check", "--deployment", "postgres://grace@127.0.0.1:9/x"])
        #expect(down.exitCode == 5 && down.standardError.contains("Connection refused"), "\(down.standardError)")
        let jobs = try await CommandLineTool.run(["jobs", "list", "--deployment", scratch().path])
        #expect(jobs.exitCode == 64 && jobs.standardError.contains("need a PostgreSQL deployment"), "\(jobs.standardError)")
    }

    func scratch() throws -> URL { try Scratch().url }
}
