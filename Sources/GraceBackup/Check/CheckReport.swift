import GraceModel
import GraceStorage

/// What `check` found: counts of what it examined and every problem, each naming the entity,
/// the path and the expected and actual values.
public struct CheckReport: Sendable, Codable, Hashable {
    public var deployment: String
    /// The change-feed position the check read at.
    public var position: ChangePosition
    public var repositories = 0
    public var branches = 0
    public var references = 0
    public var directoryVersions = 0
    /// Distinct objects read back and hashed.
    public var objects = 0
    /// Uncompressed bytes hashed.
    public var bytesHashed: Int64 = 0
    public var elapsedSeconds: Double = 0
    public var problems: [CheckProblem] = []

    public var isClean: Bool { problems.isEmpty }

    public init(deployment: String, position: ChangePosition) {
        self.deployment = deployment
        self.position = position
    }
}

public struct CheckProblem: Sendable, Codable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, Hashable {
        case documentUndecodable, unsafePath, referenceDangling, referenceHashMismatch
        case childMissing, childPathMismatch, sizeMismatch, directoryHashMismatch, malformedHash
        case objectMissing, objectUndecodable, objectSizeMismatch, objectHashMismatch, objectUnreadable, unsupported
    }

    public var kind: Kind
    /// `DirectoryVersion <id>`, `Reference <id>`, or an object key.
    public var entity: String
    public var path: String?
    public var expected: String?
    public var actual: String?
    public var message: String

    public init(_ kind: Kind, entity: String, path: String? = nil, expected: String? = nil, actual: String? = nil, message: String) {
        self.kind = kind
        self.entity = entity
        self.path = path
        self.expected = expected
        self.actual = actual
        self.message = message
    }

    public var description: String {
        var text = "\(kind.rawValue): \(entity)"
        if let path { text += " at \(String(reflecting: path))" }
        text += ": \(message)"
        if let expected, let actual { text += " (expected \(expected), found \(actual))" }
        return text
    }
}
