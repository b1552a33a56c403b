/// Where a relative path from data is going to be used; the stricter use adds rules.
public enum PathUse: Sendable {
    /// As a database value or an object key.
    case storage
    /// As a file or folder on disk, or an entry of a Git tree: a `.git` segment is refused too.
    case filesystem
}

/// A relative path that broke one of `SafePath`'s rules; names the path and the rule.
public struct UnsafePath: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Rule: String, Sendable, Hashable {
        case empty = "is empty"
        case absolute = "is absolute"
        case backslash = "contains a backslash (Grace stores paths with '/')"
        case nul = "contains a NUL character"
        case emptySegment = "has an empty segment"
        case dotSegment = "has a '.' or '..' segment"
        case blankSegment = "has a segment of only whitespace"
        case gitSegment = "has a '.git' segment, which Git and checkouts reserve"
        case notUTF8 = "is not valid UTF-8"
    }

    public let path: String
    public let rule: Rule

    public init(path: String, rule: Rule) {
        self.path = path
        self.rule = rule
    }

    public var description: String { "unsafe relative path \(String(reflecting: path)): it \(rule.rawValue)" }
}

/// The one validator for every relative path that comes from data (a document, an event, a
/// bundle, a folder being scanned). Grace's own checks are spread over its materializer and
/// CLI (`validateCanonicalPath`); this gathers them. The root directory `.` is allowed only
/// where a directory path is expected.
public enum SafePath {
    public static func validate(_ path: String, for use: PathUse, allowRoot: Bool = false) throws(UnsafePath) {
        if allowRoot, path == DirectoryVersion.rootPath { return }
        // One pass over the UTF-8 bytes: this runs for every file of every directory version.
        let bytes = path.utf8
        guard let first = bytes.first else { throw UnsafePath(path: path, rule: .empty) }
        if bytes.contains(0) { throw UnsafePath(path: path, rule: .nul) }
        if bytes.contains(UInt8(ascii: "\\")) { throw UnsafePath(path: path, rule: .backslash) }
        // "/x" is rooted; "C:..." is a Windows drive, rooted or drive-relative, and no Grace path.
        if first == UInt8(ascii: "/") || (bytes.count >= 2 && bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: ":") && isASCIILetter(first)) {
            throw UnsafePath(path: path, rule: .absolute)
        }
        var segmentStart = bytes.startIndex
        while true {
            let segmentEnd = bytes[segmentStart...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.endIndex
            try validateSegment(bytes[segmentStart..<segmentEnd], of: path, for: use)
            guard segmentEnd != bytes.endIndex else { return }
            segmentStart = bytes.index(after: segmentEnd)
        }
    }

    private static func validateSegment(_ segment: Substring.UTF8View.SubSequence, of path: String, for use: PathUse) throws(UnsafePath) {
        if segment.isEmpty { throw UnsafePath(path: path, rule: .emptySegment) }
        if segment.allSatisfy({ $0 == UInt8(ascii: ".") }) && segment.count <= 2 { throw UnsafePath(path: path, rule: .dotSegment) }
        if use == .filesystem, segment.count == 4,
           segment.elementsEqual(".git".utf8, by: { $0 | 0x20 == $1 | 0x20 }) {
            throw UnsafePath(path: path, rule: .gitSegment)
        }
        // Blank: only whitespace. ASCII decides most segments; only one made of non-ASCII bytes
        // and ASCII whitespace needs Unicode's answer.
        let hasVisibleASCII = segment.contains { $0 < 0x80 && !isASCIIWhitespace($0) }
        if !hasVisibleASCII, String(Substring(segment)).allSatisfy(\.isWhitespace) {
            throw UnsafePath(path: path, rule: .blankSegment)
        }
    }

    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool { byte == 32 || (9...13).contains(byte) }

    public static func isSafe(_ path: String, for use: PathUse, allowRoot: Bool = false) -> Bool {
        (try? validate(path, for: use, allowRoot: allowRoot)) != nil
    }

    /// The parent directory's path: `.` for a top-level entry.
    public static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return DirectoryVersion.rootPath }
        return String(Substring(path.utf8[..<slash]))
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool { (65...90).contains(byte) || (97...122).contains(byte) }
}
