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
        guard !path.isEmpty else { throw UnsafePath(path: path, rule: .empty) }
        if path.utf8.contains(0) { throw UnsafePath(path: path, rule: .nul) }
        if path.contains("\\") { throw UnsafePath(path: path, rule: .backslash) }
        let bytes = Array(path.utf8)
        // "/x" is rooted; "C:..." is a Windows drive, rooted or drive-relative, and no Grace path.
        if bytes[0] == UInt8(ascii: "/") || (bytes.count >= 2 && bytes[1] == UInt8(ascii: ":") && isASCIILetter(bytes[0])) {
            throw UnsafePath(path: path, rule: .absolute)
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw UnsafePath(path: path, rule: .emptySegment) }
            if segment == "." || segment == ".." { throw UnsafePath(path: path, rule: .dotSegment) }
            if segment.allSatisfy(\.isWhitespace) { throw UnsafePath(path: path, rule: .blankSegment) }
            if use == .filesystem, segment.lowercased() == ".git" { throw UnsafePath(path: path, rule: .gitSegment) }
        }
    }

    public static func isSafe(_ path: String, for use: PathUse, allowRoot: Bool = false) -> Bool {
        (try? validate(path, for: use, allowRoot: allowRoot)) != nil
    }

    /// The parent directory's path: `.` for a top-level entry.
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return DirectoryVersion.rootPath }
        return String(path[..<slash])
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool { (65...90).contains(byte) || (97...122).contains(byte) }
}
