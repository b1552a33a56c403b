/// Turns Grace branch names and tag texts into names `git check-ref-format` accepts: characters
/// Git forbids in a ref (control characters, space, `~ ^ : ? * [ \`) become `-`, as do `..` and
/// `@{`; a component may not start with `.` or end with `.lock` or `.`; empty components go.
/// docs/git-mapping.md lists the rules.
enum GitRefName {
    static func component(_ text: String) -> String {
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
