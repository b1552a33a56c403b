import Foundation
import Testing

struct StreamCommandTests {
    static func files(under folder: URL) -> [String] {
        (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).filter { !$0.hasPrefix("locks") }.sorted()
    }

    @Test func streamCapturesWhileTheDeploymentChangesAndWritesNothingWhileIdle() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let vault = scratch.url.appendingPathComponent("vault")
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "60", "--operations", "5"]).exitCode == 0)
        #expect(try await CommandLineTool.run(["init", "--vault", vault.path]).exitCode == 0)
        #expect(try await CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault.path]).exitCode == 0)

        // Idle: a stream over an unchanged deployment writes nothing.
        let before = Self.files(under: vault)
        let idle = try await CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault.path, "--duration", "1.5", "--interval", "0.2", "--json"])
        #expect(idle.exitCode == 0, "\(idle.standardError)")
        #expect(Self.files(under: vault) == before)
        let stopped = try JSONSerialization.jsonObject(with: Data(idle.standardOutput.utf8)) as? [String: Any]
        #expect(stopped?["event"] as? String == "stopped" && stopped?["captures"] as? Int == 0)
        let requests = try #require(stopped?["requests"] as? [String: Any])
        for kind in ["puts", "gets", "heads", "lists", "deletes"] {
            #expect(requests[kind] as? Int == 0, "an idle stream made storage requests: \(idle.standardOutput)")
        }

        // A live stream lock (held by this test process) makes a second stream refuse, naming the first.
        let lock = vault.appendingPathComponent("locks/0f0e0d0c-0b0a-4908-8706-050403020100.json")
        let record = #"{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2200-01-01T00:00:00Z","hostname":"\#(ProcessInfo.processInfo.hostName)","id":"0f0e0d0c-0b0a-4908-8706-050403020100","processID":\#(getpid()),"purpose":"stream of the test","scope":"stream"}"#
        try FileManager.default.createDirectory(at: lock.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(record.utf8).write(to: lock)
        let second = try await CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault.path, "--duration", "1"])
        #expect(second.exitCode == 6)
        #expect(second.standardError.contains("stream of the test"))
        try FileManager.default.removeItem(at: lock)

        // Busy: changes made while the stream runs are captured and restorable.
        let stream = Process()
        stream.executableURL = CommandLineTool.executable
        stream.arguments = ["stream", "--deployment", deployment, "--vault", vault.path, "--interval", "0.3", "--json"]
        let output = scratch.url.appendingPathComponent("stream.out"), errorLog = scratch.url.appendingPathComponent("stream.err")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        stream.standardOutput = try FileHandle(forWritingTo: output)
        stream.standardError = try FileHandle(forWritingTo: errorLog)
        try stream.run()
        func firstStreamLog() -> String { (try? String(contentsOf: errorLog, encoding: .utf8)) ?? "" }
        for _ in 0..<400 where !firstStreamLog().contains("stream: following") && stream.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(firstStreamLog().contains("stream: following"), "the stream did not start: \(firstStreamLog())")
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "10", "--operations", "15", "--seed", "5"]).exitCode == 0)
        // SIGTERM: the stream captures what is left, then exits 0, however late the changes came.
        kill(stream.processIdentifier, SIGTERM)
        try await stream.exit(within: .seconds(120))
        let captured = try Data(contentsOf: output)
        #expect(stream.terminationStatus == 0, "stream exited \(stream.terminationStatus) (\(stream.terminationReason == .uncaughtSignal ? "signal" : "exit")): \(firstStreamLog())")
        let lines = String(decoding: captured, as: UTF8.self).split(separator: "\n")
        let events = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(events.dropLast().contains { $0["event"] as? String == "capture" }, "the stream captured nothing: \(firstStreamLog())")
        let last = try #require(events.last)
        #expect(last["event"] as? String == "stopped")
        let sequence = try #require(last["position"] as? Int)

        let check = try await CommandLineTool.run(["check", "--deployment", deployment, "--json"])
        let position = (try JSONSerialization.jsonObject(with: Data(check.standardOutput.utf8)) as? [String: Any])?["position"] as? [String: Any]
        #expect(position?["sequence"] as? Int == sequence, "a stream stopped by SIGTERM must have captured every change")

        let restored = scratch.url.appendingPathComponent("restored").path
        let restore = try await CommandLineTool.run(["restore", "--vault", vault.path, "--to-sequence", "\(sequence)", "--to", restored])
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        #expect(restore.standardOutput.contains("no problems found"))
        // Past the snapshot: the first line says the captured changes were applied, up to where.
        #expect(restore.standardOutput.contains(" and the changes captured after it, up to change sequence \(sequence) at "), "\(restore.standardOutput)")
        let tooLate = try await CommandLineTool.run(["restore", "--vault", vault.path, "--to-sequence", "\(sequence + 1000)", "--to", scratch.url.appendingPathComponent("late").path])
        #expect(tooLate.exitCode == 3)
        #expect(tooLate.standardError.contains("latest covered is change sequence \(sequence)"))
    }

    @Test func streamTakesBaseSnapshotsOnItsSchedule() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let vault = scratch.url.appendingPathComponent("vault").path
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "30", "--operations", "3"]).exitCode == 0)
        #expect(try await CommandLineTool.run(["init", "--vault", vault]).exitCode == 0)
        let stream = try await CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault, "--duration", "3.5", "--interval", "0.2", "--snapshot-every", "1s"])
        #expect(stream.exitCode == 0, "\(stream.standardError)")
        // One snapshot would not show a schedule: a second one a second later does, each said as it is taken.
        let taken = stream.standardError.split(separator: "\n").filter { $0.hasPrefix("took snapshot ") }
        let listed = try await CommandLineTool.run(["snapshots", "--vault", vault, "--json"])
        let count = (try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [Any])?.count ?? 0
        #expect(taken.count >= 2 && count == taken.count, "\(stream.standardError)")
        #expect(try await CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault, "--snapshot-every", "soon"]).exitCode == 64)
    }
}
