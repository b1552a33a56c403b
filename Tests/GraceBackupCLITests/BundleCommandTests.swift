import Foundation
import Testing

struct BundleCommandTests {
    static func git(_ arguments: [String], in folder: URL) async throws -> String {
        let result = try await CommandLineTool.system("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com"] + arguments, in: folder)
        guard result.exitCode == 0 else { throw MissingTool(name: "git \(arguments.joined(separator: " ")) failed: \(result.standardError)") }
        return result.standardOutput
    }

    /// A Git repository with three commits, bundled.
    static func gitBundle(in scratch: URL) async throws -> URL {
        let source = scratch.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        _ = try await git(["init", "-q", "-b", "main", "."], in: source)
        for round in 0..<3 {
            for (path, text) in [("src/main.swift", "print(\(round))\n"), ("README.md", "readme\n"), ("docs/\(round).md", "doc \(round)\n")] {
                let url = source.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            _ = try await git(["add", "."], in: source)
            _ = try await git(["commit", "-q", "-m", "round \(round)"], in: source)
        }
        _ = try await git(["bundle", "create", "-q", "../source.bundle", "--all"], in: source)
        return scratch.appendingPathComponent("source.bundle")
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
    }

    @Test func aBranchThatIsNotThereOrHasNothingToExportIsRefusedByName() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let simulated = try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "50", "--operations", "20", "--json"])
        #expect(simulated.exitCode == 0, "\(simulated.standardError)")
        let repository = try #require((try Self.json(simulated.standardOutput)["repositoryIDs"] as? [String])?.first)
        let output = scratch.url.appendingPathComponent("out.bundle").path
        func export(_ selection: String...) async throws -> CommandLineTool.Result {
            try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--output", output] + selection)
        }

        let unknown = try await export("--branch", "nosuch")
        #expect(unknown.exitCode == 3 && unknown.standardError.contains("branch \"nosuch\" does not exist; the repository has alice, bob, main"),
                "\(unknown.standardError)")
        // alice works on commits and has promoted nothing: no ref, so no bundle, and a word on what would export it.
        let empty = try await export("--branch", "alice")
        #expect(empty.exitCode == 3 && empty.standardError.contains("branch \"alice\" has no promotions to export; --include commits exports its commits"),
                "\(empty.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output))
        let mixed = try await export("--branch", "main", "--branch", "alice")
        #expect(mixed.exitCode == 3 && !FileManager.default.fileExists(atPath: output))
        // A follower of such a branch waits for it, through the promotions of main it sees, and writes nothing.
        let catalog = scratch.url.appendingPathComponent("catalog")
        let follower = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "alice",
                                                      "--output", catalog.path, "--follow", "--poll", "0.2", "--duration", "1"])
        #expect(follower.exitCode == 0 && follower.standardError.contains("branch \"alice\" has no promotions to export")
                && follower.standardError.contains("waiting until it has one"), "\(follower.standardError)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: catalog.appendingPathComponent("\(repository)/bundles").path)) ?? []).isEmpty)

        let commits = try await export("--branch", "alice", "--include", "commits", "--json")
        #expect(commits.exitCode == 0, "\(commits.standardError)")
        let refs = try #require(try Self.json(commits.standardOutput)["refs"] as? [String: String])
        // The default branch is not exported: HEAD is the one branch that is, so a plain clone checks it out.
        #expect(Set(refs.keys) == ["refs/heads/alice", "HEAD"] && refs["HEAD"] == refs["refs/heads/alice"])
        let clone = scratch.url.appendingPathComponent("clone")
        let cloned = try await CommandLineTool.system("git", ["clone", "-q", output, clone.path])
        #expect(cloned.exitCode == 0 && cloned.standardError.isEmpty, "\(cloned.standardError)")
        #expect(try await Self.git(["rev-parse", "--abbrev-ref", "HEAD"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines) == "alice")
        #expect(try FileManager.default.contentsOfDirectory(atPath: clone.path).contains { $0 != ".git" })
    }

    @Test func fetchBundlesCopiesTheChainThatRebuildsTheRepositoryAndRefusesADamagedOne() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let catalog = scratch.url.appendingPathComponent("catalog").path
        #expect(try await CommandLineTool.run(["migrate", "--deployment", deployment]).exitCode == 0)
        let source = try await Self.gitBundle(in: scratch.url)
        let imported = try await CommandLineTool.run(["import-bundle", source.path, "--deployment", deployment, "--new-repository", "project", "--json"])
        #expect(imported.exitCode == 0, "\(imported.standardError)")
        let repository = try #require(try Self.json(imported.standardOutput)["repositoryID"] as? String)
        let export = ["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", catalog]
        #expect(try await CommandLineTool.run(export).exitCode == 0)
        // The same history again: three more promotions, the second bundle of the chain.
        #expect(try await CommandLineTool.run(["import-bundle", source.path, "--deployment", deployment, "--repository-id", repository]).exitCode == 0)
        #expect(try await CommandLineTool.run(export).exitCode == 0)

        let folder = scratch.url.appendingPathComponent("fetched")
        let fetch = ["fetch-bundles", "--from", catalog, "--repository-id", repository, "--to", folder.path]
        let fetched = try await CommandLineTool.run(fetch + ["--json"])
        #expect(fetched.exitCode == 0, "\(fetched.standardError)")
        let report = try Self.json(fetched.standardOutput)
        let names = try #require(report["bundles"] as? [String])
        let stored = try FileManager.default.contentsOfDirectory(atPath: "\(catalog)/\(repository)/bundles").sorted()
        #expect(names == stored && names.count == 2 && report["copied"] as? Int == 2)
        for name in names {
            #expect(try Data(contentsOf: folder.appendingPathComponent(name)) == Data(contentsOf: URL(fileURLWithPath: "\(catalog)/\(repository)/bundles/\(name)")))
        }

        // Run again, it copies nothing; the commands it prints rebuild the repository as the newest export left it.
        let again = try await CommandLineTool.run(fetch)
        #expect(again.exitCode == 0 && again.standardOutput.contains("0 copied, 2 already there"), "\(again.standardOutput)")
        let commands = again.standardOutput.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("git ") }
        #expect(commands.count == 2)
        for command in commands {
            let ran = try await CommandLineTool.system("bash", ["-c", command + " -q"], in: scratch.url)
            #expect(ran.exitCode == 0, "\(command): \(ran.standardError)")
        }
        let rebuilt = scratch.url.appendingPathComponent("repository.git")
        let refs = try #require(report["refs"] as? [String: String])
        #expect(try await Self.git(["rev-parse", "refs/heads/main"], in: rebuilt).trimmingCharacters(in: .whitespacesAndNewlines) == refs["refs/heads/main"])
        #expect(try await Self.git(["rev-list", "--count", "refs/heads/main"], in: rebuilt).trimmingCharacters(in: .whitespacesAndNewlines) == "7")
        let fsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: rebuilt)
        #expect(fsck.exitCode == 0 && fsck.standardOutput.isEmpty && fsck.standardError.isEmpty, "\(fsck.standardError)")

        // The import it prints, into another deployment, brings the same tree back into Grace.
        let other = scratch.url.appendingPathComponent("other").path
        #expect(try await CommandLineTool.run(["migrate", "--deployment", other]).exitCode == 0)
        let importLine = try #require(again.standardOutput.split(separator: "\n").first { $0.contains("grace-backup import-bundle ") })
        let importArguments = importLine.components(separatedBy: "grace-backup ").last?.split(separator: " ").map {
            $0 == "DEPLOYMENT" ? other : $0 == "NAME" ? "rebuilt" : String($0)
        } ?? []
        let reimported = try await CommandLineTool.run(importArguments + ["--json"])
        #expect(reimported.exitCode == 0, "\(importLine): \(reimported.standardError)")
        let rebuiltID = try #require(try Self.json(reimported.standardOutput)["repositoryID"] as? String)
        let reexported = scratch.url.appendingPathComponent("reexported.bundle").path
        #expect(try await CommandLineTool.run(["export-bundle", "--deployment", other, "--repository-id", rebuiltID, "--branch", "main", "--output", reexported]).exitCode == 0)
        _ = try await Self.git(["fetch", "-q", reexported, "refs/heads/main:refs/reexported/main"], in: rebuilt)
        let reexportedTree = try await Self.git(["rev-parse", "refs/reexported/main^{tree}"], in: rebuilt)
        #expect(reexportedTree == (try await Self.git(["rev-parse", "refs/heads/main^{tree}"], in: rebuilt)))

        // A bundle damaged in the catalog: refused by name, nothing under its name, no scratch file left.
        let newest = URL(fileURLWithPath: "\(catalog)/\(repository)/bundles/\(names[1])")
        let intact = try Data(contentsOf: newest)
        var bytes = intact
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: newest)
        try FileManager.default.removeItem(at: folder.appendingPathComponent(names[1]))
        let damaged = try await CommandLineTool.run(fetch)
        #expect(damaged.exitCode == 4 && damaged.standardError.contains("\(repository)/bundles/\(names[1])") && damaged.standardError.contains("is damaged"),
                "\(damaged.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [names[0]])

        // After a --full export the chain starts again: that bundle alone rebuilds the repository.
        try intact.write(to: newest)
        #expect(try await CommandLineTool.run(export + ["--full"]).exitCode == 0)
        let fromFull = try await CommandLineTool.run(["fetch-bundles", "--from", catalog, "--repository-id", repository, "--json",
                                                      "--to", scratch.url.appendingPathComponent("from-full").path])
        let fullReport = try Self.json(fromFull.standardOutput)
        #expect((fullReport["bundles"] as? [String])?.count == 1 && fullReport["firstExport"] as? Int == 3 && fullReport["newestExport"] as? Int == 3,
                "\(fromFull.standardOutput)")

        let unknown = try await CommandLineTool.run(["fetch-bundles", "--from", catalog, "--repository-id", "00000000-0000-0000-0000-000000000001", "--to", folder.path])
        #expect(unknown.exitCode == 3 && unknown.standardError.contains("no export of repository"), "\(unknown.standardError)")
    }

    @Test func exportFollowImportAndBadInputThroughTheCLI() async throws {
        let scratch = try Scratch()
        let deployment = scratch.url.appendingPathComponent("deployment").path
        let catalog = scratch.url.appendingPathComponent("catalog").path
        #expect(try await CommandLineTool.run(["simulate", "--deployment", deployment, "--files", "20", "--operations", "2"]).exitCode == 0)
        let source = try await Self.gitBundle(in: scratch.url)
        let imported = try await CommandLineTool.run(["import-bundle", source.path, "--deployment", deployment, "--new-repository", "project", "--json"])
        #expect(imported.exitCode == 0, "\(imported.standardError)")
        let repository = try #require(try Self.json(imported.standardOutput)["repositoryID"] as? String)

        // A file, cloned by git.
        let full = scratch.url.appendingPathComponent("full.bundle").path
        let exported = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "main", "--output", full, "--json"])
        #expect(exported.exitCode == 0, "\(exported.standardError)")
        let clone = scratch.url.appendingPathComponent("clone")
        _ = try await Self.git(["clone", "-q", "-b", "main", full, clone.path], in: scratch.url)
        #expect(try String(contentsOf: clone.appendingPathComponent("src/main.swift"), encoding: .utf8) == "print(2)\n")

        // A catalog, then --follow picks up new promotions and writes the next bundle of the chain.
        #expect(try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", catalog]).exitCode == 0)
        let follow = Process()
        follow.executableURL = CommandLineTool.executable
        follow.arguments = ["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", catalog,
                            "--follow", "--poll", "0.2", "--duration", "120"]
        let followLog = scratch.url.appendingPathComponent("follow.err")
        _ = FileManager.default.createFile(atPath: followLog.path, contents: nil)
        follow.standardOutput = FileHandle.nullDevice
        follow.standardError = try FileHandle(forWritingTo: followLog)
        try follow.run()
        try await Task.sleep(for: .seconds(1))
        // The same history imported again: three more promotions on main.
        #expect(try await CommandLineTool.run(["import-bundle", source.path, "--deployment", deployment, "--repository-id", repository]).exitCode == 0)
        // However slow this machine is, the second bundle appears; then SIGTERM stops the follower cleanly.
        let second = "\(catalog)/\(repository)/exports/00000002.json"
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: second) && follow.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        kill(follow.processIdentifier, SIGTERM)
        try await follow.exit(within: .seconds(120))
        let log = (try? String(contentsOf: followLog, encoding: .utf8)) ?? ""
        #expect(follow.terminationStatus == 0 && log.contains("incremental bundle"), "\(log)")
        // Restarted, it finds nothing new: no gap, no duplicate bundle.
        let again = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches", "--output", catalog])
        #expect(again.standardOutput.contains("nothing new"), "\(again.standardOutput)")
        // The promotions may arrive in one batch or several: two bundles or more, each holding only what is new.
        let bundles = try FileManager.default.contentsOfDirectory(atPath: "\(catalog)/\(repository)/bundles").sorted()
        #expect(bundles.count >= 2 && bundles.first?.hasPrefix("00000001-") == true && bundles.allSatisfy { $0.hasSuffix(".bundle") }, "\(bundles)")
        let chained = scratch.url.appendingPathComponent("chained")
        _ = try await Self.git(["clone", "-q", "-b", "main", "\(catalog)/\(repository)/bundles/\(bundles[0])", chained.path], in: scratch.url)
        for bundle in bundles.dropFirst() {
            _ = try await Self.git(["fetch", "-q", "\(catalog)/\(repository)/bundles/\(bundle)", "main:refs/remotes/origin/main"], in: chained)
        }
        _ = try await Self.git(["merge", "-q", "--ff-only", "origin/main"], in: chained)
        let fsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: chained)
        #expect(fsck.exitCode == 0 && fsck.standardOutput.isEmpty && fsck.standardError.isEmpty, "\(fsck.standardError)")
        #expect(try await Self.git(["rev-list", "--count", "HEAD"], in: chained).trimmingCharacters(in: .whitespacesAndNewlines) == "7")

        // Promotions made while no follower runs: started again, a follower exports them together, in one
        // bundle built on the last one (no gap), and nothing a second time.
        let exports = "\(catalog)/\(repository)/exports"
        let recordsBefore = try FileManager.default.contentsOfDirectory(atPath: exports).filter { $0.hasSuffix(".json") }.sorted()
        #expect(try await CommandLineTool.run(["import-bundle", source.path, "--deployment", deployment, "--repository-id", repository]).exitCode == 0)
        let resumed = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--all-branches",
                                               "--output", catalog, "--follow", "--poll", "0.2", "--duration", "2", "--json"])
        #expect(resumed.exitCode == 0, "\(resumed.standardError)")
        let recordsAfter = try FileManager.default.contentsOfDirectory(atPath: exports).filter { $0.hasSuffix(".json") }.sorted()
        #expect(recordsAfter.count == recordsBefore.count + 1, "\(recordsAfter)")
        let previous = try Self.json(String(contentsOfFile: "\(exports)/\(try #require(recordsBefore.last))", encoding: .utf8))
        let newest = try Self.json(String(contentsOfFile: "\(exports)/\(try #require(recordsAfter.last))", encoding: .utf8))
        let prerequisites = Set(newest["prerequisites"] as? [String] ?? [])
        #expect(newest["full"] as? Bool == false && !prerequisites.isEmpty && prerequisites.isSubset(of: Set((previous["allRefs"] as? [String: String] ?? [:]).values)))
        let resumedBundle = "\(catalog)/\(try #require(newest["bundle"] as? String))"
        _ = try await Self.git(["bundle", "verify", "-q", resumedBundle], in: chained)
        _ = try await Self.git(["fetch", "-q", resumedBundle, "main:refs/remotes/origin/main"], in: chained)
        _ = try await Self.git(["merge", "-q", "--ff-only", "origin/main"], in: chained)
        #expect(try await Self.git(["rev-list", "--count", "HEAD"], in: chained).trimmingCharacters(in: .whitespacesAndNewlines) == "10")
        #expect(try await Self.git(["rev-parse", "HEAD"], in: chained).trimmingCharacters(in: .whitespacesAndNewlines)
                == (newest["refs"] as? [String: String])?["refs/heads/main"])
        let resumedFsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: chained)
        #expect(resumedFsck.exitCode == 0 && resumedFsck.standardOutput.isEmpty && resumedFsck.standardError.isEmpty, "\(resumedFsck.standardError)")

        // --since an earlier file: an incremental file the clone fetches.
        let incremental = scratch.url.appendingPathComponent("incremental.bundle").path
        let since = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "main",
                                             "--output", incremental, "--since", full, "--json"])
        #expect(since.exitCode == 0, "\(since.standardError)")
        let sinceReport = try Self.json(since.standardOutput)
        #expect((sinceReport["prerequisites"] as? [String])?.count == 1)
        _ = try await Self.git(["fetch", "-q", incremental, "main:refs/remotes/origin/main"], in: clone)
        let fetchedTip = try await Self.git(["rev-parse", "origin/main"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(fetchedTip == (sinceReport["refs"] as? [String: String])?["refs/heads/main"])
        let sinceFsck = try await CommandLineTool.system("git", ["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(sinceFsck.exitCode == 0 && sinceFsck.standardOutput.isEmpty && sinceFsck.standardError.isEmpty, "\(sinceFsck.standardError)")

        // --since a damaged bundle or none at all: refused, named, nothing written.
        var damagedBytes = try Data(contentsOf: URL(fileURLWithPath: full))
        damagedBytes[damagedBytes.count - 30] ^= 0x01
        let damaged = scratch.url.appendingPathComponent("damaged.bundle")
        try damagedBytes.write(to: damaged)
        let afterDamaged = scratch.url.appendingPathComponent("after-damaged.bundle").path
        let sinceDamaged = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "main",
                                                    "--output", afterDamaged, "--since", damaged.path, "--json"])
        #expect(sinceDamaged.exitCode == 4 && sinceDamaged.standardError.contains("damaged.bundle"), "\(sinceDamaged.standardError)")
        #expect(sinceDamaged.standardOutput.contains("\"exit_code\":4") && !FileManager.default.fileExists(atPath: afterDamaged))
        let sinceNothing = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "main",
                                                    "--output", afterDamaged, "--since", scratch.url.appendingPathComponent("absent.bundle").path])
        #expect(sinceNothing.exitCode == 3 && sinceNothing.standardError.contains("absent.bundle: No such file"), "\(sinceNothing.standardError)")
        // A FILE output in a folder that cannot be written: the environment's failure, 5, not a bad flag.
        let unwritable = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "main",
                                                  "--output", "/proc/grace-backup-test/out.bundle"])
        #expect(unwritable.exitCode == 5 && unwritable.standardError.contains("/proc/grace-backup-test"), "\(unwritable.standardError)")
        // A damaged bundle imports nothing.
        let importDamaged = try await CommandLineTool.run(["import-bundle", damaged.path, "--deployment", deployment, "--repository-id", repository])
        #expect(importDamaged.exitCode == 4 && importDamaged.standardError.contains("damaged.bundle") && importDamaged.standardError.contains("nothing was imported"),
                "\(importDamaged.standardError)")

        // Bad input: a missing object fails the export and leaves nothing under the output's name.
        let objects = URL(fileURLWithPath: deployment).appendingPathComponent("objects")
        let stored = FileManager.default.enumerator(atPath: objects.path)!.allObjects.compactMap { $0 as? String }.filter { $0.contains(repository) && $0.contains("/main_") }
        for path in stored { try FileManager.default.removeItem(at: objects.appendingPathComponent(path)) }
        let broken = scratch.url.appendingPathComponent("broken.bundle")
        let failed = try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--branch", "main", "--output", broken.path])
        #expect(failed.exitCode == 4 && failed.standardError.contains("main.swift"), "\(failed.standardError)")
        #expect(!FileManager.default.fileExists(atPath: broken.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).allSatisfy { !$0.contains("partial") && !$0.hasPrefix(".pack-") })
        #expect(try await CommandLineTool.run(["export-bundle", "--deployment", deployment, "--repository-id", repository, "--output", full]).exitCode == 64)
        #expect(try await CommandLineTool.run(["import-bundle", broken.path, "--deployment", deployment, "--repository-id", repository]).exitCode == 4)
    }
}
