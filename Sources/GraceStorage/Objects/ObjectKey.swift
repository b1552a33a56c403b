import GraceModel

/// The name of an object in an `ObjectStore`: `/`-separated segments, none empty, `.` or `..`,
/// no NUL. Parsed once at the edge so no layer below builds keys from strings.
public struct ObjectKey: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String

    public init(_ text: String) throws(InvalidObjectKey) {
        guard !text.isEmpty else { throw InvalidObjectKey(key: text, rule: "is empty") }
        // One pass, no copy: a key is parsed for every content an export or a check reads.
        var segmentLength = 0, dots = 0
        func endSegment() throws(InvalidObjectKey) {
            guard segmentLength > 0 else { throw InvalidObjectKey(key: text, rule: "has an empty segment") }
            guard dots != segmentLength || dots > 2 else { throw InvalidObjectKey(key: text, rule: "has a '.' or '..' segment") }
            segmentLength = 0
            dots = 0
        }
        for byte in text.utf8 {
            switch byte {
            case 0: throw InvalidObjectKey(key: text, rule: "contains NUL")
            case UInt8(ascii: "/"): try endSegment()
            default:
                segmentLength += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        try endSegment()
        rawValue = text
    }

    /// The key of a file version's bytes in a Grace deployment: the repository's container, then
    /// Grace's blob name.
    public static func fileVersion(_ file: FileVersion, in repositoryID: RepositoryID) throws -> ObjectKey {
        try SafePath.validate(file.relativePath, for: .storage)
        return try ObjectKey("\(ObjectName.container(for: repositoryID))/\(ObjectName.wholeFileContent(relativePath: file.relativePath, hashes: file.hashes))")
    }

    public var description: String { rawValue }

    // Keys are bytes: String's ==, < and hash treat canonically equivalent Unicode spellings
    // (NFC and NFD) as equal, and two such keys are two different objects.
    public static func == (lhs: ObjectKey, rhs: ObjectKey) -> Bool { lhs.rawValue.utf8.elementsEqual(rhs.rawValue.utf8) }
    public func hash(into hasher: inout Hasher) { for byte in rawValue.utf8 { hasher.combine(byte) } }
    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool { lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try ObjectKey(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// A folder-like prefix: empty (everything) or segments ending in `/`.
    public struct Prefix: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public static let all = Prefix(uncheckedRawValue: "")

        public init(_ text: String) throws(InvalidObjectKey) {
            guard !text.isEmpty else { self = .all; return }
            let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
            rawValue = try ObjectKey(trimmed).rawValue + "/"
        }

        private init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }

        public var description: String { rawValue.isEmpty ? "(all)" : rawValue }
    }
}

public struct InvalidObjectKey: BackupFailure {
    public let key: String
    public let rule: String
    public var kind: FailureKind { .invalidInput }
    public var description: String { "invalid object key \(String(reflecting: key)): it \(rule)" }
}

/// What a store knows about one stored object.
public struct ObjectSummary: Hashable, Sendable {
    public let key: ObjectKey
    /// Stored length in bytes (compressed length for Grace's gzip-compressed text).
    public let sizeBytes: Int64
    public let lastModified: Instant?

    public init(key: ObjectKey, sizeBytes: Int64, lastModified: Instant?) {
        self.key = key
        self.sizeBytes = sizeBytes
        self.lastModified = lastModified
    }
}
