import Foundation
@testable import GraceBackup
import GraceBackupTesting
import GraceGit
import Testing

/// Ref names: what `git check-ref-format` accepts, and the same names as the Foundation-based
/// implementation gave before (a renamed ref would break the chain of incremental bundles), except
/// where that one let through what Git refuses.
struct GitRefNameTests {
    static let unchanged = ["main", "feature/x", "release 1..2", "...", "....", ".....", "a..b..c", "x@{1}", "@", "@{", ".hidden", "a.lock", "a.",
                            "/a//b/", "tab\there", "col:on", "q?*[\\^~", "caf\u{E9}", "", "..", ".", "a/.b/c.lock/d.", "\u{7F}del"]

    /// Taken by character before: a combining mark made one character of `.` or `~` and the mark, and
    /// `\r\n` is one character.
    static let changed: [(name: String, component: String)] = [
        ("e\u{301}..\u{301}.", "e\u{301}-.\u{301}-"), (".\u{301}x", "-\u{301}x"), ("~\u{301}", "-\u{301}"), ("\r\nwindows", "--windows"),
    ]

    @Test(arguments: unchanged)
    func namesAreWhatTheyWere(name: String) {
        #expect(GitRefName.component(name) == Self.foundationComponent(name))
    }

    @Test func namesGitRefusedAreMended() {
        for (name, component) in Self.changed {
            #expect(GitRefName.component(name) == component, "\(name.debugDescription)")
        }
    }

    @Test func refsOfOneNameOrAFolderOfAnotherAreMadeUnique() {
        let wanted: [(prefix: String, name: String)] = [
            ("refs/tags/", "v1"), ("refs/tags/", "v1/rc"), ("refs/tags/", "x/y"), ("refs/tags/", "x"), ("refs/tags/", "a b"), ("refs/tags/", "a:b"),
            ("refs/tags/", "a b"), ("refs/heads/", "v1"), ("refs/heads/", "v1-rc"), ("refs/tags/", "v2"),
        ]
        func blobID(_ text: String) -> String { String(GitObjectID.of(.blob, content: Array(text.utf8)).hex.prefix(8)) }
        let names = GitRefName.uniqueNames(for: wanted)
        #expect(names == [
            "refs/tags/v1", "refs/tags/v1-rc-\(blobID("v1/rc"))", "refs/tags/x/y", "refs/tags/x-\(blobID("x"))", "refs/tags/a-b",
            "refs/tags/a-b-\(blobID("a:b"))", "refs/tags/a-b", "refs/heads/v1", "refs/heads/v1-rc", "refs/tags/v2",
        ])
        // A ref keeps its name as later ones come: what the bundles of a chain must agree on.
        for count in wanted.indices {
            #expect(GitRefName.uniqueNames(for: Array(wanted.prefix(count))) == Array(names.prefix(count)))
        }
    }

    @Test func gitAcceptsEveryName() async throws {
        for name in Self.unchanged + Self.changed.map(\.name) {
            let ref = "refs/heads/\(GitRefName.component(name))"
            let check = try await GitTool.runAllowingFailure(["check-ref-format", ref])
            #expect(check.status == 0, "git check-ref-format refused \(ref.debugDescription) (from \(name.debugDescription))")
        }
    }

    /// The implementation before, kept as the reference the names must not drift from.
    static func foundationComponent(_ text: String) -> String {
        var cleaned = String(text.map { character -> Character in
            guard let ascii = character.asciiValue else { return character }
            return ascii < 0x20 || ascii == 0x7f || " ~^:?*[\\".contains(character) ? "-" : character
        })
        while cleaned.contains("..") { cleaned = cleaned.replacingOccurrences(of: "..", with: "-.") }
        cleaned = cleaned.replacingOccurrences(of: "@{", with: "-{")
        var parts = cleaned.split(separator: "/", omittingEmptySubsequences: true).map { part -> String in
            var part = String(part)
            if part.hasPrefix(".") { part = "-" + part.dropFirst() }
            if part.hasSuffix(".lock") { part += "-" }
            if part.hasSuffix(".") { part = part.dropLast() + "-" }
            return part
        }
        if parts.isEmpty { parts = ["-"] }
        let joined = parts.joined(separator: "/")
        return joined == "@" ? "-" : joined
    }
}
