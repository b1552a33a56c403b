/// Turns Grace branch names and tag texts into names `git check-ref-format` accepts: characters
/// Git forbids in a ref (control characters, space, `~ ^ : ? * [ \`) become `-`, as do `..` and
/// `@{`; a component may not start with `.` or end with `.lock` or `.`; empty components go.
/// docs/git-mapping.md lists the rules.
///
/// By Unicode scalar, as Git reads bytes: taken by character, a combining mark after a `.` or a `~`
/// made one character of the two, and the `..` or `~` Git refuses went through.
enum GitRefName {
    static func component(_ text: String) -> String {
        var scalars = text.unicodeScalars.map { scalar -> Unicode.Scalar in
            scalar.value < 0x20 || scalar.value == 0x7f || " ~^:?*[\\".unicodeScalars.contains(scalar) ? "-" : scalar
        }
        // `..` becomes `-.`, left to right, again until none is left: `...` is `--.`, `....` is `-.-.`.
        while replacePairs(".", ".", with: "-", in: &scalars) {}
        replacePairs("@", "{", with: "-", in: &scalars)
        var parts = scalars.split(separator: "/", omittingEmptySubsequences: true).map { part -> String in
            var part = Array(part)
            if part.first == "." { part[0] = "-" }
            if part.suffix(5).elementsEqual(".lock".unicodeScalars) { part.append("-") }
            if part.last == "." { part[part.count - 1] = "-" }
            return String(String.UnicodeScalarView(part))
        }
        if parts.isEmpty { parts = ["-"] }
        let joined = parts.joined(separator: "/")
        return joined == "@" ? "-" : joined
    }

    /// One left-to-right pass replacing the first of each `first second` pair, pairs not overlapping:
    /// whether any was replaced.
    @discardableResult
    private static func replacePairs(_ first: Unicode.Scalar, _ second: Unicode.Scalar, with replacement: Unicode.Scalar,
                                     in scalars: inout [Unicode.Scalar]) -> Bool {
        var index = 0
        var replaced = false
        while index + 1 < scalars.count {
            if scalars[index] == first && scalars[index + 1] == second {
                scalars[index] = replacement
                replaced = true
                index += 2
            } else {
                index += 1
            }
        }
        return replaced
    }
}
