import Foundation

/// A bundle's header: `# v2 git bundle`, prerequisite lines `-<id> <comment>`, reference lines
/// `<id> <refname>`, a blank line; the pack follows. Version 3 adds `@capability` lines; we read
/// it with the SHA-1 object format only.
public struct GitBundleHeader: Sendable, Hashable {
    public struct Prerequisite: Sendable, Hashable {
        public var id: GitObjectID
        public var comment: String
        public init(id: GitObjectID, comment: String) {
            self.id = id
            self.comment = comment
        }
    }

    public struct Reference: Sendable, Hashable {
        public var id: GitObjectID
        public var name: String
        public init(id: GitObjectID, name: String) {
            self.id = id
            self.name = name
        }
    }

    public var prerequisites: [Prerequisite]
    public var references: [Reference]

    public init(prerequisites: [Prerequisite], references: [Reference]) {
        self.prerequisites = prerequisites
        self.references = references
    }

    public func encode() -> [UInt8] {
        var text = "# v2 git bundle\n"
        for prerequisite in prerequisites {
            text += "-\(prerequisite.id.hex)" + (prerequisite.comment.isEmpty ? "" : " \(Self.oneLine(prerequisite.comment))") + "\n"
        }
        for reference in references { text += "\(reference.id.hex) \(reference.name)\n" }
        return Array((text + "\n").utf8)
    }

    /// Parses the header at the start of `bytes`; returns it and where the pack begins.
    public static func parse(_ bytes: Data) throws(GitFormatError) -> (header: GitBundleHeader, packOffset: Int) {
        var position = bytes.startIndex
        func line() throws(GitFormatError) -> String {
            guard let newline = bytes[position...].prefix(65_536).firstIndex(of: 0x0a) else { throw GitFormatError("the bundle's header is cut short") }
            defer { position = newline + 1 }
            return String(decoding: bytes[position..<newline], as: UTF8.self)
        }
        let signature = try line()
        guard signature == "# v2 git bundle" || signature == "# v3 git bundle" else {
            throw GitFormatError("not a git bundle (it starts with \(signature.prefix(40).debugDescription))")
        }
        var header = GitBundleHeader(prerequisites: [], references: [])
        while true {
            let text = try line()
            if text.isEmpty { break }
            if text.hasPrefix("@") {
                // Git knows two capabilities: object-format (SHA-1 is all this reads) and filter (a partial pack).
                guard signature.hasPrefix("# v3"), text == "@object-format=sha1" else {
                    throw GitFormatError("bundle capability \(text) is not supported")
                }
                continue
            }
            if text.hasPrefix("-") {
                let parts = text.dropFirst().split(separator: " ", maxSplits: 1)
                guard let id = parts.first.flatMap({ GitObjectID(hex: $0) }) else { throw GitFormatError("a malformed prerequisite line: \(text.prefix(80))") }
                header.prerequisites.append(Prerequisite(id: id, comment: parts.count > 1 ? String(parts[1]) : ""))
            } else {
                let parts = text.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let id = GitObjectID(hex: parts[0]) else { throw GitFormatError("a malformed reference line: \(text.prefix(80))") }
                header.references.append(Reference(id: id, name: String(parts[1])))
            }
        }
        return (header, position - bytes.startIndex)
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
