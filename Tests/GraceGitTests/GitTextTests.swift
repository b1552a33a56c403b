import Foundation
import GraceGit
import Testing

/// GitText's trimming against Foundation's, whose definitions it restates.
struct GitTextTests {
    /// Every scalar: the two predicates are exactly Foundation's character sets.
    @Test func predicatesAreFoundationsCharacterSets() {
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }  // surrogates
            #expect(GitText.isSpace(scalar) == CharacterSet.whitespaces.contains(scalar), "U+\(String(value, radix: 16))")
            #expect(GitText.isSpaceOrNewline(scalar) == CharacterSet.whitespacesAndNewlines.contains(scalar), "U+\(String(value, radix: 16))")
        }
    }

    @Test func trimsAsFoundationTrims() {
        let texts = ["", " ", "\n\t ", "  Fix the build\n\n", "\u{3000}wide\u{2028}", "\u{2029}x\u{85}", " \u{301}accent ", "a b", "\r\nline\r\n",
                     "\u{A0}\u{1680}kept inside\u{202F} \u{205F}"]
        for text in texts {
            #expect(GitText.trimming(text, GitText.isSpaceOrNewline) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
            #expect(GitText.trimming(text, GitText.isSpace) == text.trimmingCharacters(in: .whitespaces), "\(text.debugDescription)")
        }
    }

    /// `\r\n` is one Swift character: the signature replaces its scalars, or the header line would end there.
    @Test func signatureNamesKeepTheHeaderOnOneLine() {
        let signature = GitSignature(name: " Ada\r\nLovelace <ada> ", email: "a\r\n@grace.invalid", secondsSinceEpoch: 0)
        let commit = GitCommit(tree: .emptyTree, parents: [], author: signature, committer: signature, message: "m\n")
        let text = String(decoding: commit.encode(), as: UTF8.self)
        #expect(text.contains("\nauthor Ada--Lovelace -ada- <a--@grace.invalid> 0 +0000\n"))
    }
}
