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
        stream.standardOutput = output
        stream.standardError = FileHandle.nullDevice
        try stream.run()
        // Wait until the first stream holds its lock, however slow this machine is.
        let locks = vault.appendingPathComponent("locks")
        for _ in 0..<200 where ((try? FileManager.default.contentsOfDirectory(atPath: locks.path)) ?? []).isEmpty {
            try await Task.sleep(for: .milliseconds(50))
        }
        let second = try CommandLineTool.run(["stream", "--deployment", deployment, "--vault", vault.path, "--duration", "1"])
        #expect(second.exitCode == 6)
        #expect(second.standardError.contains("stream of"))
        #expect(try CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "10", "--operations", "15", "--seed", "5"]).exitCode == 0)
        let captured = output.fileHandleForReading.readDataToEndOfFile()
        stream.waitUntilExit()
        #expect(stream.terminationStatus == 0)
        let lines = String(decoding: captured, as: UTF8.self).split(separator: "\n")
        #expect(!lines.isEmpty)
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any]
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
