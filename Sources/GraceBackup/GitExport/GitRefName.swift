import GraceGit

/// Turns Grace branch names and tag texts into names `git check-ref-format` accepts: characters
/// Git forbids in a ref (control characters, space, `~ ^ : ? * [ \`) become `-`, as do `..` and
/// `@{`; a component may not start with `.` or end with `.lock` or `.`; empty components go.
/// docs/git-mapping.md lists the rules.
///
/// By Unicode scalar, as Git reads bytes: taken by character, a combining mark after a `.` or a `~`
/// made one character of the two, and the `..` or `~` Git refuses went through.
enum GitRefName {
    /// Each wanted ref's full name, in the order given (the order the refs were made): `prefix` (`refs/heads/`
    /// or `refs/tags/`) and the valid `component` of `name`, unless another ref took that name first or Git
    /// could not hold both, one being a folder of the other (`refs/tags/v1` beside `refs/tags/v1/rc`: `git clone`
    /// refuses the bundle). Such a ref is flattened (`/` becomes `-`) and takes `-` and the first eight hex digits
    /// of its original name's blob id (`git hash-object --stdin`). A ref keeps its name when later ones come, so
    /// the bundles of a chain agree; refs of one original name share a name, the later one winning.
    static func uniqueNames(for wanted: [(prefix: String, name: String)]) -> [String] {
        var holders: [String: String] = [:]
        var folders: Set<String> = []
        func isFree(_ ref: String, for original: String, prefix: String) -> Bool {
            if let holder = holders[ref] { return holder == original }
            if folders.contains(ref) { return false }
            let parts = ref.dropFirst(prefix.count).split(separator: "/")
            return !parts.indices.dropLast().contains { holders[prefix + parts[...$0].joined(separator: "/")] != nil }
        }
        return wanted.map { prefix, name in
            let original = prefix + name
            var ref = prefix + component(name)
            if !isFree(ref, for: original, prefix: prefix) {
                let flat = String(component(name).map { $0 == "/" ? "-" : $0 })
                let mark = GitObjectID.of(.blob, content: Array(name.utf8)).hex.prefix(8)
                ref = prefix + "\(flat)-\(mark)"
                var attempt = 2
                while !isFree(ref, for: original, prefix: prefix) { ref = prefix + "\(flat)-\(mark)-\(attempt)"; attempt += 1 }
            }
            holders[ref] = original
            let parts = ref.dropFirst(prefix.count).split(separator: "/")
            for end in parts.indices.dropLast() { folders.insert(prefix + parts[...end].joined(separator: "/")) }
            return ref
        }
    }

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
