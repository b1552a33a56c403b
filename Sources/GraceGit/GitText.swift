/// Trimming of commit messages and signature names, on Unicode scalars as Foundation's
/// `trimmingCharacters(in:)` trims, without its bridge to NSString: the bridge's first use walks the
/// runtime's conformance records, about half a millisecond of every export.
public enum GitText {
    /// `text` without the leading and trailing scalars `isTrimmed` accepts.
    public static func trimming(_ text: String, _ isTrimmed: (Unicode.Scalar) -> Bool) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }), let last = scalars.lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// Foundation's `CharacterSet.whitespaces`: the space separators (Unicode category Zs), tab, and
    /// the zero width space (a space separator in Unicode before 4.0.1, and still in Foundation's set).
    public static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\u{200B}" || scalar.properties.generalCategory == .spaceSeparator
    }

    /// Foundation's `CharacterSet.whitespacesAndNewlines`: the above, U+000A to U+000D, U+0085, and
    /// the line and paragraph separators.
    public static func isSpaceOrNewline(_ scalar: Unicode.Scalar) -> Bool {
        isSpace(scalar) || ("\n"..."\r").contains(scalar) || scalar == "\u{85}"
            || scalar.properties.generalCategory == .lineSeparator || scalar.properties.generalCategory == .paragraphSeparator
    }
}
