import Foundation
import Testing

struct HashCommandTests {
    @Test func anEmptyFolderIsGracesEmptyRoot() async throws {
        let scratch = try Scratch()
        let result = try await CommandLineTool.run(["hash", scratch.url.path])
        #expect(result.exitCode == 0)
        // The `empty-root` golden vector: Grace's hash of a new repository's root.
        #expect(result.standardOutput == "69fbcbbe1e5203155bbc0a1d537628319107726d54b77ea33e91ec503120f712  6c2f433e475de7dbe60583e374fabdc098eb7a23bab24bd871820fe5c9dd7fc0  0  .\n")
    }

    @Test func fileHashesAgreeWithSha256sumAndB3sum() async throws {
        let scratch = try Scratch()
        var random = SystemRandomNumberGenerator()
        let sizes = [0, 1, 1023, 1025, 65_537, 3_000_001]
        for (index, size) in sizes.enumerated() {
            try scratch.write("f\(index).bin", (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
        for index in sizes.indices {
            let path = scratch.url.appendingPathComponent("f\(index).bin").path
            let ours = try await CommandLineTool.run(["hash", path]).standardOutput.split(separator: " ", omittingEmptySubsequences: true)
            let sha256 = try await CommandLineTool.system("sha256sum", [path]).standardOutput.split(separator: " ")[0]
            let blake3 = try await CommandLineTool.system("b3sum", [path]).standardOutput.split(separator: " ")[0]
            #expect(ours[0] == sha256, "SHA-256 of \(sizes[index]) bytes")
            #expect(ours[1] == blake3, "BLAKE3 of \(sizes[index]) bytes")
        }
    }

    @Test func aFolderPrintsEveryDirectoryVersionBottomUpAndSkipsWhatGraceSkips() async throws {
        let scratch = try Scratch()
        try scratch.write("README.md", Array("abc".utf8))
        try scratch.write("src/app/App.fs", Array("let x = 1\n".utf8))
        try scratch.write("src/Lib.fs", Array("module Lib\n".utf8))
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("docs/empty"), withIntermediateDirectories: true)
        let before = try await CommandLineTool.run(["hash", "--algorithm", "sha256", scratch.url.path])
        try scratch.write(".grace/objects/x", [1, 2, 3])
        try scratch.write("src/Lib.fs.gracetmp", [4, 5])
        try scratch.write("nested/.grace", [6])  // only the root .grace folder is skipped
        let after = try await CommandLineTool.run(["hash", "--algorithm", "sha256", scratch.url.path])
        let lines = before.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(lines.map { String($0[2]) } == ["docs/empty", "src/app", "docs", "src", "."])
        #expect(lines.map { String($0[1]) } == ["0", "10", "0", "11", "3"])
        #expect(before.exitCode == 0 && after.exitCode == 0)
        // The root's .grace folder and the .gracetmp file are not hashed: src is what it was, and no line names .grace.
        let afterLines = after.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let line = { (path: String, in: [[String]]) in `in`.first { $0.count == 3 && $0[2] == path } }
        #expect(line("src", afterLines) != nil && line("src", afterLines) == line("src", lines.map { $0.map(String.init) }))
        #expect(afterLines.allSatisfy { !$0[2].contains(".grace") })
        // A .grace below the root is an ordinary file: its folder is hashed, with its one byte.
        #expect(line("nested", afterLines)?[1] == "1")
    }

    @Test func jsonOutputCarriesBothHashes() async throws {
        let scratch = try Scratch()
        try scratch.write("a.txt", Array("abc".utf8))
        let result = try await CommandLineTool.run(["hash", "--json", scratch.url.path])
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        let files = object?["files"] as? [[String: Any]]
        let hashes = files?.first?["hashes"] as? [String: String]
        #expect(hashes?["blake3"] == "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
        #expect(hashes?["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

        // One algorithm asked for: the other hash is empty for the folder too, not computed over the files' empty ones.
        let one = try await CommandLineTool.run(["hash", "--json", "--algorithm", "sha256", scratch.url.path])
        let root = ((try JSONSerialization.jsonObject(with: Data(one.standardOutput.utf8)) as? [String: Any])?["directories"] as? [[String: Any]])?.last
        let rootHashes = root?["hashes"] as? [String: String]
        #expect(rootHashes?["blake3"] == "" && rootHashes?["sha256"]?.count == 64, "\(one.standardOutput)")
    }

    @Test func badInputGetsAClearErrorAndItsExitCode() async throws {
        let scratch = try Scratch()
        let missing = try await CommandLineTool.run(["hash", scratch.url.appendingPathComponent("nope").path])
        #expect(missing.exitCode == 3)
        #expect(missing.standardError.contains("no such file or folder"))
        try scratch.write("bad\\name.txt", [1])
        let unsafe = try await CommandLineTool.run(["hash", scratch.url.path])
        #expect(unsafe.exitCode == 64)
        #expect(unsafe.standardError.contains("bad\\\\name.txt") && unsafe.standardError.contains("backslash"))
    }
}
