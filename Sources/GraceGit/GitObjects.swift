import Foundation

/// One entry of a tree.
public struct GitTreeEntry: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable {
        case file = "100644"
        case executable = "100755"
        case symlink = "120000"
        case directory = "40000"
        case submodule = "160000"
    }

    public var mode: Mode
    /// The entry's name as bytes: Git does not normalize names, and neither do we.
    public var name: [UInt8]
    public var id: GitObjectID

    public init(mode: Mode, name: [UInt8], id: GitObjectID) {
        self.mode = mode
        self.name = name
        self.id = id
    }
}

/// Git's tree encoding: entries sorted as Git sorts them (a directory compares as its name
/// followed by `/`), each `<mode> <name>\0<20-byte id>`.
public enum GitTree {
    public static func encode(_ entries: [GitTreeEntry]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.reduce(0) { $0 + $1.name.count + 28 })
        for entry in sorted(entries) {
            bytes += entry.mode.rawValue.utf8
            bytes.append(0x20)
            bytes += entry.name
            bytes.append(0)
            entry.id.withBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Git's order: by name bytes, a directory's name compared as if it ended in `/`.
    public static func sorted(_ entries: [GitTreeEntry]) -> [GitTreeEntry] {
        entries.sorted(by: precedes)
    }

    private static func precedes(_ left: GitTreeEntry, _ right: GitTreeEntry) -> Bool {
        let common = min(left.name.count, right.name.count)
        for index in 0..<common where left.name[index] != right.name[index] { return left.name[index] < right.name[index] }
        // One name is a prefix of the other: the next byte is the longer's, or the virtual `/` (or none).
        let leftNext: UInt8? = left.name.count > common ? left.name[common] : (left.mode == .directory ? UInt8(ascii: "/") : nil)
        let rightNext: UInt8? = right.name.count > common ? right.name[common] : (right.mode == .directory ? UInt8(ascii: "/") : nil)
        switch (leftNext, rightNext) {
        case let (left?, right?): return left < right
        case (nil, _?): return true
        default: return false
        }
    }

    /// Reads a tree's entries, refusing malformed ones.
    public static func decode(_ bytes: [UInt8]) throws(GitFormatError) -> [GitTreeEntry] {
        var entries: [GitTreeEntry] = []
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: 0x20), let nul = bytes[space...].firstIndex(of: 0), nul + 21 <= bytes.count else {
                throw GitFormatError("a tree entry is cut short")
            }
            let modeText = String(decoding: bytes[index..<space], as: UTF8.self)
            guard let mode = GitTreeEntry.Mode(rawValue: modeText) else { throw GitFormatError("a tree entry has mode \(modeText)") }
            entries.append(GitTreeEntry(mode: mode, name: Array(bytes[(space + 1)..<nul]), id: GitObjectID(bytes: Array(bytes[(nul + 1)..<(nul + 21)]))))
            index = nul + 21
        }
        return entries
    }
}

/// Who and when, as a commit's author and committer lines hold it.
public struct GitSignature: Sendable, Hashable {
    public var name: String
    public var email: String
    public var secondsSinceEpoch: Int64
    /// `+0000` form.
    public var timezone: String

    public init(name: String, email: String, secondsSinceEpoch: Int64, timezone: String = "+0000") {
        self.name = name
        self.email = email
        self.secondsSinceEpoch = secondsSinceEpoch
        self.timezone = timezone
    }

    /// `name <email> seconds timezone`, with the characters Git forbids there replaced.
    var line: String {
        "\(Self.clean(name)) <\(Self.clean(email))> \(secondsSinceEpoch) \(timezone)"
    }

    /// By scalar, not by character: `\r\n` is one character, and passed whole it would end the header line.
    private static func clean(_ text: String) -> String {
        var replaced = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { replaced.append("<>\n\r\0".unicodeScalars.contains(scalar) ? "-" : scalar) }
        let cleaned = GitText.trimming(String(replaced), GitText.isSpace)
        return cleaned.isEmpty ? "unknown" : cleaned
    }
}

public struct GitCommit: Sendable, Hashable {
    public var tree: GitObjectID
    public var parents: [GitObjectID]
    public var author: GitSignature
    public var committer: GitSignature
    public var message: String

    public init(tree: GitObjectID, parents: [GitObjectID], author: GitSignature, committer: GitSignature, message: String) {
        self.tree = tree
        self.parents = parents
        self.author = author
        self.committer = committer
        self.message = message
    }

    public func encode() -> [UInt8] {
        var text = "tree \(tree.hex)\n"
        for parent in parents { text += "parent \(parent.hex)\n" }
        text += "author \(author.line)\ncommitter \(committer.line)\n\n\(message)"
        return Array(text.utf8)
    }

    /// The header fields of a commit: enough to follow history and read the message.
    public struct Parsed: Sendable, Hashable {
        public var tree: GitObjectID
        public var parents: [GitObjectID]
        public var authorLine: String
        public var committerLine: String
        public var message: String

        /// The author's seconds since the epoch.
        public var authorSeconds: Int64? {
            let parts = authorLine.split(separator: " ")
            return parts.count >= 2 ? Int64(parts[parts.count - 2]) : nil
        }

        /// The author's name (before ` <`).
        public var authorName: String {
            authorLine.range(of: " <").map { String(authorLine[..<$0.lowerBound]) } ?? authorLine
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(GitFormatError) -> Parsed {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\n\n") else { throw GitFormatError("a commit has no message separator") }
        var tree: GitObjectID?
        var parents: [GitObjectID] = []
        var author = "", committer = ""
        for line in text[..<split.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("tree ") { tree = GitObjectID(hex: line.dropFirst(5)) }
            else if line.hasPrefix("parent ") {
                guard let parent = GitObjectID(hex: line.dropFirst(7)) else { throw GitFormatError("a commit has a malformed parent") }
                parents.append(parent)
            } else if line.hasPrefix("author ") { author = String(line.dropFirst(7)) }
            else if line.hasPrefix("committer ") { committer = String(line.dropFirst(10)) }
        }
        guard let tree else { throw GitFormatError("a commit has no tree") }
        return Parsed(tree: tree, parents: parents, authorLine: author, committerLine: committer, message: String(text[split.upperBound...]))
    }
}

/// An annotated tag object: what it points at is all an import reads of it.
public enum GitAnnotatedTag {
    /// The object the tag names (its `object` header line).
    public static func target(_ bytes: [UInt8]) throws(GitFormatError) -> GitObjectID {
        let text = String(decoding: bytes.prefix(while: { $0 != 0x0A }), as: UTF8.self)
        guard text.hasPrefix("object "), let id = GitObjectID(hex: text.dropFirst(7)) else {
            throw GitFormatError("a tag does not start with its object line")
        }
        return id
    }
}

/// Bytes that do not follow Git's formats: a pack, a bundle or an object.
public struct GitFormatError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Objects this large or larger are streamed, never held whole: by the pack reader as it checks their
/// ids and by an import as it stores them, and by an export as it writes them (git's own line, its
/// `core.bigFileThreshold`, is 512 MiB; an export prepares several batches of contents at once).
public enum GitLargeObject {
    public static let bytes = 32 << 20
}
