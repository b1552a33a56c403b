import Foundation
import GraceBackupTesting
import GraceGit
import Testing

struct GitEntryNameTests {
    /// Names on both sides of each rule; every one is put in a tree of its own and the real
    /// `git fsck --strict` says which trees hold a name it takes for `.git`.
    static let names = [
        ".git", ".GIT", ".Git", ".git.", ".git ", ".git. .", ".git:", ".git:stream", ".git\\", ".git\\x", ".git.\\x", "x\\.git", "\\.git",
        "git~1", "GIT~1.", "GiT~1 . :", "a\\git~1", "git~1:stream", "git~1\\x",
        ".g\u{200C}it", "\u{FEFF}.git", ".git\u{200C}", ".\u{206F}git", "\u{200E}.\u{200D}G\u{202A}i\u{200F}T\u{FEFF}",
        ".gitignore", ".github", ".gitx", "x.git", "git", ".gi", "git~2", "git~10", "x:.git", ".git x", " .git", "..git",
        ".gi\u{200D}t.", "git~1\u{200C}", ".g\u{130}t", ".git\u{00A0}", "Git~1x",
    ]

    @Test func theNamesGitTakesForDotGitAreTheOnesFsckReports() async throws {
        let folder = try TemporaryFolder()
        _ = try await GitTool.run(["init", "-q", "--bare", "."], in: folder.url)
        let blob = try await GitTool.run(["hash-object", "-w", "--stdin"], in: folder.url, input: Data("x".utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        var treeNames: [String: String] = [:]
        for name in Self.names {
            let tree = try await GitTool.run(["mktree"], in: folder.url, input: Data("100644 blob \(blob)\t\(name)\n".utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
            treeNames[tree] = name
        }
        #expect(treeNames.count == Self.names.count, "each name makes a tree of its own")
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: folder.url)
        let reported = Set(fsck.output.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("hasDotgit"), let tree = line.split(separator: " ").first(where: { $0.count == 41 && $0.hasSuffix(":") }) else { return nil }
            return treeNames[String(tree.dropLast())]
        })
        #expect(reported.count >= 20, "git reported \(reported.count) names: \(fsck.output)")
        for name in Self.names {
            #expect(GitEntryName.aliasesDotGit(name) == reported.contains(name), "\(name.debugDescription): git fsck \(reported.contains(name) ? "reports" : "accepts") it")
        }
    }
}
