import Foundation
import Testing

struct DeploymentCommandTests {
    @Test func simulateThenCheckIsCleanAndAFlippedByteIsNamed() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let simulated = try await CommandLineTool.run(["simulate", "--deployment", deployment, "--seed", "3", "--files", "120", "--operations", "40"])
        #expect(simulated.exitCode == 0, "\(simulated.standardError)")
        let clean = try await CommandLineTool.run(["check", "--deployment", deployment])
        #expect(clean.exitCode == 0, "\(clean.standardOutput)")
        #expect(clean.standardOutput.contains("no problems found"))

        // Flip one byte of one object; check must fail and name it.
        let objects = URL(fileURLWithPath: deployment).appendingPathComponent("objects")
        let enumerator = FileManager.default.enumerator(at: objects, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])!
        var victim: URL?
        for case let file as URL in enumerator where !file.path.contains("/.incoming/") {
            let values = try file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            if values.isRegularFile == true, (values.fileSize ?? 0) > 200 { victim = file; break }
        }
        let file = try #require(victim)
        var bytes = try Array(Data(contentsOf: file))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: file)
        let broken = try await CommandLineTool.run(["check", "--deployment", deployment, "--json"])
        #expect(broken.exitCode == 4)
        let key = String(file.path.dropFirst(objects.path.count + 1))
        let report = try JSONSerialization.jsonObject(with: Data(broken.standardOutput.utf8)) as? [String: Any]
        let problems = report?["problems"] as? [[String: Any]] ?? []
        #expect(problems.count == 1)
        #expect(problems.first?["entity"] as? String == key)
    }

    @Test func repositoriesListsTheIdsAndBranchesAnExportTakes() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let simulated = try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "30", "--operations", "30", "--json"])
        #expect(simulated.exitCode == 0, "\(simulated.standardError)")
        let simulation = try #require(try JSONSerialization.jsonObject(with: Data(simulated.standardOutput.utf8)) as? [String: Any])

        let listed = try await CommandLineTool.run(["repositories", "--deployment", deployment, "--json"])
        #expect(listed.exitCode == 0, "\(listed.standardError)")
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [String: Any])
        let repositories = try #require(listing["repositories"] as? [[String: Any]])
        #expect(Set(repositories.compactMap { $0["id"] as? String }) == Set(try #require(simulation["repositoryIDs"] as? [String])))
        #expect(repositories.map { ($0["branches"] as? [Any])?.count ?? 0 }.reduce(0, +) == simulation["branches"] as? Int)

        // What it says of a branch is what an export of that branch makes: one commit per promotion.
        let first = try #require(repositories.first)
        let branches = try #require(first["branches"] as? [[String: Any]])
        let main = try #require(branches.first { $0["name"] as? String == first["defaultBranch"] as? String })
        let id = try #require(first["id"] as? String)
        func exportedCommits(_ selection: [String]) async throws -> Int? {
            let exported = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", id, "--json",
                                                          "--output", scratch.url.appendingPathComponent("\(UUID()).bundle").path] + selection)
            #expect(exported.exitCode == 0, "\(exported.standardError)")
            return (try JSONSerialization.jsonObject(with: Data(exported.standardOutput.utf8)) as? [String: Any])?["newCommits"] as? Int
        }
        let promotions = try #require(main["promotions"] as? Int)
        #expect(promotions > 1)
        #expect(try await exportedCommits(["--branch", "main"]) == promotions)
        #expect(try await exportedCommits(["--all-branches"]) == branches.compactMap { $0["promotions"] as? Int }.reduce(0, +))

        let human = try await CommandLineTool.run(["repositories", "--deployment", deployment])
        #expect(human.standardOutput.contains("\(id)  \(first["owner"] as? String ?? "?")/\(first["organization"] as? String ?? "?")/\(first["name"] as? String ?? "?")"))
        #expect(human.standardOutput.contains("  main (default): \(promotions) promotion(s), newest "))
    }

    @Test func simulateFromGitReplaysEveryCommitAndChecksClean() async throws {
        let scratch = try Scratch()
        let repository = scratch.url.appendingPathComponent("git-source")
        try FileManager.default.createDirectory(at: repository, withIntermediateDirectories: true)
        func git(_ arguments: String...) async throws {
            let result = try await CommandLineTool.system("git", ["-C", repository.path, "-c", "user.name=T", "-c", "user.email=t@example.com"] + arguments)
            #expect(result.exitCode == 0, "git \(arguments): \(result.standardError)")
        }
        try await git("init", "-q", "-b", "main")
        let source = Scratch.Writer(root: repository)
        try source.write("README.md", "hello\n")
        try source.write("src/app/main.fs", "printfn \"hi\"\n")
        try await git("add", "-A")
        try await git("commit", "-q", "-m", "first")
        try source.write("src/app/main.fs", "printfn \"hello\"\n")
        try source.write("bin/data.bin", "\u{0}\u{1}\u{2}")
        try await git("add", "-A")
        try await git("commit", "-q", "-m", "second\n\nwith a body")
        try FileManager.default.removeItem(at: repository.appendingPathComponent("README.md"))
        try await git("add", "-A")
        try await git("commit", "-q", "-m", "third")

        let deployment = scratch.url.appendingPathComponent("deployment").path
        let replay = try await CommandLineTool.run(["simulate", "--deployment", deployment, "--from-git", repository.path, "--json"])
        #expect(replay.exitCode == 0, "\(replay.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(replay.standardOutput.utf8)) as? [String: Any]
        #expect(report?["commits"] as? Int == 3)
        let check = try await CommandLineTool.run(["check", "--deployment", deployment, "--json"])
        #expect(check.exitCode == 0, "\(check.standardOutput)")
        let checked = try JSONSerialization.jsonObject(with: Data(check.standardOutput.utf8)) as? [String: Any]
        // Three promotions plus the repository's initial empty one.
        #expect(checked?["references"] as? Int == 4)
    }

    @Test func simulatingTwiceIntoOneDeploymentAddsToItCleanly() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        for _ in 0..<2 {
            let result = try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "40", "--operations", "10"])
            #expect(result.exitCode == 0, "\(result.standardError)")
        }
        let check = try await CommandLineTool.run(["check", "--deployment", deployment, "--json"])
        #expect(check.exitCode == 0, "\(check.standardOutput)")
        let report = try JSONSerialization.jsonObject(with: Data(check.standardOutput.utf8)) as? [String: Any]
        #expect(report?["repositories"] as? Int == 4)
    }

    @Test func badSimulateOptionsAreRefused() async throws {
        let scratch = try Scratch()
        let result = try await CommandLineTool.run(["simulate", "--deployment", scratch.url.path, "--files", "0"])
        #expect(result.exitCode == 64)
        #expect(result.standardError.contains("--files must be at least 1"))
    }

    @Test func aMissingDeploymentIsNotFound() async throws {
        let scratch = try Scratch()
        let result = try await CommandLineTool.run(["check", "--deployment", scratch.url.appendingPathComponent("none").path])
        #expect(result.exitCode == 3)
        #expect(result.standardError.contains("no Grace deployment here"))
        let badLocation = try await CommandLineTool.run(["check", "--deployment", "s3://bucket/x"])
        #expect(badLocation.exitCode == 64)
    }

    @Test func everyCommandsHelpReadsAsProse() async throws {
        let root = try await CommandLineTool.run(["--help"])
        let listed = root.standardOutput.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        let commands = listed.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first,
                  name.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }
            return String(name)
        }
        #expect(commands.count > 25 && commands.contains("export-bundle") && commands.contains("repositories"))
        for command in commands {
            let help = try await CommandLineTool.run([command, "--help"])
            #expect(help.exitCode == 0 && help.standardOutput.contains("USAGE: grace-backup \(command)"), "\(command)")
            // A line continuation written `\\` in a multi-line literal prints a backslash.
            #expect(!help.standardOutput.contains("\\"), "\(command): \(help.standardOutput)")
        }
    }

    @Test func quickstartRunsEndToEnd() async throws {
        let scratch = try Scratch()
        let result = try await CommandLineTool.run(["quickstart", "--folder", scratch.url.path])
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("0 problems") && result.standardOutput.contains("check found 0 problems"))
        #expect(result.standardOutput.contains("drilled the newest snapshot: passed"))

        // Each command it suggests next runs as printed.
        let suggested = result.standardOutput.components(separatedBy: "next:").last?.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        #expect(suggested.count == 5 && suggested.first?.hasPrefix("git clone ") == true)
        for line in suggested {
            let words = line.split(separator: " ").map(String.init)
            let ran = words.first == "git"
                ? try await CommandLineTool.system("git", Array(words.dropFirst()) + [scratch.url.appendingPathComponent("clone").path])
                : try await CommandLineTool.run(Array(words.dropFirst()))
            #expect(words.first == "git" || words.first == "grace-backup")
            #expect(ran.exitCode == 0, "\(line): \(ran.standardError)")
        }

        let again = try await CommandLineTool.run(["quickstart", "--folder", scratch.url.path])
        #expect(again.exitCode == 64)
    }
}

extension Scratch {
    struct Writer {
        let root: URL
        func write(_ relativePath: String, _ text: String) throws {
            let file = root.appendingPathComponent(relativePath)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
        }
    }
}
