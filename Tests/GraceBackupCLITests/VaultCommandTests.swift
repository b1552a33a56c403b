import Foundation
import Testing

struct VaultCommandTests {
    @Test func snapshotRestoreVerifyAndDrillThroughTheCLI() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let vault = scratch.url.appendingPathComponent("vault").path
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "80", "--operations", "20"]).exitCode == 0)
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault]).exitCode == 3)  // no vault yet
        #expect(try await CommandLineTool.run(["init", "--vault", vault]).exitCode == 0)
        #expect(try await CommandLineTool.run(["init", "--vault", vault]).exitCode == 64)
        let first = try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault, "--json"])
        #expect(first.exitCode == 0, "\(first.standardError)")
        let firstID = try #require((try JSONSerialization.jsonObject(with: Data(first.standardOutput.utf8)) as? [String: Any])?["id"] as? String)
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "10", "--operations", "10"]).exitCode == 0)
        let second = try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault, "--json"])
        #expect(second.exitCode == 0, "\(second.standardError)")
        let secondID = try #require((try JSONSerialization.jsonObject(with: Data(second.standardOutput.utf8)) as? [String: Any])?["id"] as? String)

        let listed = try await CommandLineTool.run(["snapshots", "--vault", vault, "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [Any])?.count == 2)
        let diff = try await CommandLineTool.run(["diff", "--vault", vault, String(firstID.prefix(8)), String(firstID.prefix(8))])
        #expect(diff.standardOutput.contains("no repositories, branches or references added or removed"))
        // The second simulate added a repository with its branches and references: each a line of its own.
        let changed = try await CommandLineTool.run(["diff", "--vault", vault, String(firstID.prefix(8)), String(secondID.prefix(8))])
        let added = changed.standardOutput.split(separator: "\n").filter { $0.hasPrefix("+ ") }
        #expect(changed.exitCode == 0 && added.contains { $0.hasPrefix("+ Repository ") } && added.contains { $0.hasPrefix("+ Reference ") }, "\(changed.standardOutput)")
        #expect(try await CommandLineTool.run(["show", "--vault", vault, "0000abcd"]).exitCode == 3)

        let restored = scratch.url.appendingPathComponent("restored").path
        let restore = try await CommandLineTool.run(["restore", "--vault", vault, "--snapshot", String(firstID.prefix(10)), "--to", restored])
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        #expect(restore.standardOutput.contains("no problems found"))
        let again = try await CommandLineTool.run(["restore", "--vault", vault, "--to", restored])
        #expect(again.exitCode == 64)
        #expect(again.standardError.contains("already holds a deployment"))

        let verify = try await CommandLineTool.run(["verify", "--vault", vault, "--read-data"])
        #expect(verify.exitCode == 0, "\(verify.standardOutput)")
        #expect(try await CommandLineTool.run(["verify", "--vault", vault, "--read-data-subset", "50%"]).exitCode == 0)
        let drill = try await CommandLineTool.run(["drill", "--vault", vault, "--json"])
        #expect(drill.exitCode == 0, "\(drill.standardError)")
        let drills = try await CommandLineTool.run(["drills", "--vault", vault])
        #expect(drills.standardOutput.contains("passed"))

        // Retention: a policy that keeps nothing is refused; a dry run changes nothing; then forget and prune.
        #expect(try await CommandLineTool.run(["forget", "--vault", vault]).exitCode == 64)
        let dryRun = try await CommandLineTool.run(["forget", "--vault", vault, "--keep-last", "1", "--dry-run"])
        #expect(dryRun.exitCode == 0 && dryRun.standardOutput.contains("would forget 1 snapshot(s)"), "\(dryRun.standardOutput)")
        let forget = try await CommandLineTool.run(["forget", "--vault", vault, "--keep-last", "1", "--json"])
        let forgotten = (try JSONSerialization.jsonObject(with: Data(forget.standardOutput.utf8)) as? [String: Any])?["forgotten"] as? [[String: Any]]
        #expect(forgotten?.first?["snapshot"] as? String == firstID)
        let prune = try await CommandLineTool.run(["prune", "--vault", vault, "--now"])
        #expect(prune.exitCode == 0 && prune.standardOutput.contains("deleted"), "\(prune.standardError)")
        #expect(try await CommandLineTool.run(["verify", "--vault", vault, "--read-data"]).exitCode == 0)
        #expect(try await CommandLineTool.run(["prune", "--vault", vault, "--grace", "soon"]).exitCode == 64)
    }

    /// SIGKILL `snapshot` at many points: every earlier snapshot still restores, the vault still
    /// verifies with its data read back, and the next snapshot completes.
    @Test func aSnapshotKilledAtAnyPointLosesNothing() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let vault = scratch.url.appendingPathComponent("vault").path
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "400", "--operations", "10"]).exitCode == 0)
        #expect(try await CommandLineTool.run(["init", "--vault", vault]).exitCode == 0)
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault]).exitCode == 0)

        // Time one whole snapshot of a round's worth of new data, then kill the next ten at spread
        // fractions of that time, whatever this machine's speed. A round that finishes before its kill
        // (the machine got less busy) becomes the new estimate, so later rounds still land midway.
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "300", "--operations", "5", "--seed", "99"]).exitCode == 0)
        let timed = ContinuousClock.now
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault]).exitCode == 0)
        var wholeSnapshot = ContinuousClock.now - timed
        var killedMidway = 0
        // Rounds go on until five kills have landed midway (at most 25): with other tests sharing two
        // cores, a snapshot's time varies several-fold from one round to the next.
        var round = 0
        while killedMidway < 5 && round < 25 {
            defer { round += 1 }
            let delay = wholeSnapshot * (Double(round % 10) + 0.5) / 11
            // New data each round, so each snapshot has work to be killed in.
            #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "300", "--operations", "5", "--seed", "\(round + 100)"]).exitCode == 0)
            let process = Process()
            process.executableURL = CommandLineTool.executable
            process.arguments = ["snapshot", "--deployment", deployment, "--vault", vault]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let launched = ContinuousClock.now
            try process.run()
            while process.isRunning, ContinuousClock.now - launched < delay { try await Task.sleep(for: .milliseconds(2)) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedMidway += 1
            } else {
                wholeSnapshot = min(wholeSnapshot, ContinuousClock.now - launched)
            }
            try await process.exit(within: .seconds(120))

            let verify = try await CommandLineTool.run(["verify", "--vault", vault, "--read-data"])
            #expect(verify.exitCode == 0, "round \(round): \(verify.standardOutput)")
        }
        #expect(killedMidway >= 5, "the loop must actually kill snapshots midway (whole snapshot: \(wholeSnapshot))")

        // Every snapshot that exists restores clean, and the next snapshot completes despite the dead locks.
        let listed = try await CommandLineTool.run(["snapshots", "--vault", vault, "--json"])
        let ids = (try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(!ids.isEmpty)
        for (index, id) in ids.enumerated() {
            let target = scratch.url.appendingPathComponent("restored-\(index)").path
            let restore = try await CommandLineTool.run(["restore", "--vault", vault, "--snapshot", id, "--to", target])
            #expect(restore.exitCode == 0, "snapshot \(id): \(restore.standardOutput) \(restore.standardError)")
        }
        let next = try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault])
        #expect(next.exitCode == 0, "\(next.standardError)")
    }
}
