import Foundation

/// The kind of entity an identifier names; the phantom parameter keeps an `OwnerID` from
/// being passed where a `RepositoryID` is expected.
public protocol GraceEntityKind: Sendable {}

public enum OwnerKind: GraceEntityKind {}
public enum OrganizationKind: GraceEntityKind {}
public enum RepositoryKind: GraceEntityKind {}
public enum BranchKind: GraceEntityKind {}
public enum ReferenceKind: GraceEntityKind {}
public enum DirectoryVersionKind: GraceEntityKind {}

/// A Grace identifier: a `System.Guid`, written as a lowercase hyphenated string.
public struct GraceID<Kind: GraceEntityKind>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// Parses the hyphenated form in any case; returns nil for anything else.
    public init?(_ text: String) {
        guard text.utf8.count == 36, let uuid = UUID(uuidString: text) else { return nil }
        self.uuid = uuid
    }

    public var description: String { uuid.uuidString.lowercased() }

    public static func < (lhs: GraceID, rhs: GraceID) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = GraceID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a Guid")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public typealias OwnerID = GraceID<OwnerKind>
public typealias OrganizationID = GraceID<OrganizationKind>
public typealias RepositoryID = GraceID<RepositoryKind>
public typealias BranchID = GraceID<BranchKind>
public typealias ReferenceID = GraceID<ReferenceKind>
public typealias DirectoryVersionID = GraceID<DirectoryVersionKind>
