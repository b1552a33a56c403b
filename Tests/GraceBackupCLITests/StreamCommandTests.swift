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
        #expect(try CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "60", "--operations", "5"]).exitCode == 0)
        #expect(try CommandLineTool.run(["init", "--vault", vault.path]).exitCode == 0)
        #expect(try CommandLineTool.run(["snapshot", "--deployment", deployment, "--vault", vault.path]).exitCode == 0)

        // Idle: a stream over an unchanged deployment writes nothing.
        let before = Self.files(under: vault)
        let idle = try CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault.path, "--duration", "1.5", "--interval", "0.2"])
        #expect(idle.exitCode == 0, "\(idle.standardError)")
        #expect(Self.files(under: vault) == before)

        // Busy: changes made while the stream runs are captured; a second stream refuses and names the first.
        let stream = Process()
        stream.executableURL = CommandLineTool.executable
        stream.arguments = ["stream", "--deployment", deployment, "--vault", vault.path, "--duration", "8", "--interval", "0.3", "--json"]
        let output = Pipe()
        let errorLog = scratch.url.appendingPathComponent("stream.err")
        FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        stream.standardOutput = output
        stream.standardError = try FileHandle(forWritingTo: errorLog)
        try stream.run()
        // Wait until the first stream says it is following (it has its lock then), however slow this machine is.
        func firstStreamLog() -> String { (try? String(contentsOf: errorLog, encoding: .utf8)) ?? "" }
        for _ in 0..<400 where !firstStreamLog().contains("stream: following") && stream.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(firstStreamLog().contains("stream: following"), "the first stream did not start: \(firstStreamLog())")
        let second = try CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault.path, "--duration", "1"])
        #expect(second.exitCode == 6)
        #expect(second.standardError.contains("stream of"))
        #expect(try CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "10", "--operations", "15", "--seed", "5"]).exitCode == 0)
        let captured = output.fileHandleForReading.readDataToEndOfFile()
        stream.waitUntilExit()
        #expect(stream.terminationStatus == 0)
        let lines = String(decoding: captured, as: UTF8.self).split(separator: "\n")
        let lastLine = try #require(lines.last, "the first stream captured nothing: \(firstStreamLog())")
        let last = try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any]
        let sequence = try #require((last?["to"] as? [String: Any])?["sequence"] as? Int)

        let restored = scratch.url.appendingPathComponent("restored").path
        let restore = try CommandLineTool.run(["restore", "--vault", vault.path, "--to-sequence", "\(sequence)", "--to", restored])
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        #expect(restore.standardOutput.contains("no problems found"))
        let tooLate = try CommandLineTool.run(["restore", "--vault", vault.path, "--to-sequence", "\(sequence + 1000)", "--to", scratch.url.appendingPathComponent("late").path])
        #expect(tooLate.exitCode == 3)
        #expect(tooLate.standardError.contains("latest covered is change sequence \(sequence)"))
    }
}
