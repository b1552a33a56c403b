/// Grace's `ReferenceDto` (`src/Grace.Types/Reference.Types.fs`): a named pointer from a
/// branch to a root directory version, with that root's two hashes copied in.
public struct Reference: Codable, Sendable, Hashable {
    public var `class` = "ReferenceDto"
    public var referenceID: ReferenceID
    public var ownerID: OwnerID
    public var organizationID: OrganizationID
    public var repositoryID: RepositoryID
    public var branchID: BranchID
    /// The root directory version's id.
    public var directoryID: DirectoryVersionID
    public var sha256Hash: String
    public var blake3Hash: String
    public var referenceType: ReferenceType
    public var referenceText: String
    public var links: [ReferenceLink]
    public var createdBy: String
    public var createdAt: Instant
    public var updatedAt: Instant?
    public var deletedAt: Instant?
    public var deleteReason = ""

    public init(
        referenceID: ReferenceID, branch: Branch, root: DirectoryVersion, referenceType: ReferenceType,
        referenceText: String, links: [ReferenceLink] = [], createdBy: String, createdAt: Instant
    ) {
        self.referenceID = referenceID
        self.ownerID = branch.ownerID
        self.organizationID = branch.organizationID
        self.repositoryID = branch.repositoryID
        self.branchID = branch.branchID
        self.directoryID = root.directoryVersionID
        self.sha256Hash = root.sha256Hash
        self.blake3Hash = root.blake3Hash
        self.referenceType = referenceType
        self.referenceText = referenceText
        self.links = links
        self.createdBy = createdBy
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", referenceID = "ReferenceId", ownerID = "OwnerId", organizationID = "OrganizationId"
        case repositoryID = "RepositoryId", branchID = "BranchId", directoryID = "DirectoryId"
        case sha256Hash = "Sha256Hash", blake3Hash = "Blake3Hash", referenceType = "ReferenceType"
        case referenceText = "ReferenceText", links = "Links", createdBy = "CreatedBy", createdAt = "CreatedAt"
        case updatedAt = "UpdatedAt", deletedAt = "DeletedAt", deleteReason = "DeleteReason"
    }
}

/// Grace's `ReferenceLinkType`, an F# union with one field per case, serialized with an
/// external camelCase tag: `{"basedOn": "<referenceId>"}`.
public enum ReferenceLink: Codable, Sendable, Hashable {
    case basedOn(ReferenceID)
    case includedInPromotionSet(String)
    case promotionSetTerminal(String)

    private enum Tag: String, CodingKey { case basedOn, includedInPromotionSet, promotionSetTerminal }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Tag.self)
        if let id = try container.decodeIfPresent(ReferenceID.self, forKey: .basedOn) {
            self = .basedOn(id)
        } else if let id = try container.decodeIfPresent(String.self, forKey: .includedInPromotionSet) {
            self = .includedInPromotionSet(id)
        } else if let id = try container.decodeIfPresent(String.self, forKey: .promotionSetTerminal) {
            self = .promotionSetTerminal(id)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown ReferenceLinkType case"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Tag.self)
        switch self {
        case let .basedOn(id): try container.encode(id, forKey: .basedOn)
        case let .includedInPromotionSet(id): try container.encode(id, forKey: .includedInPromotionSet)
        case let .promotionSetTerminal(id): try container.encode(id, forKey: .promotionSetTerminal)
        }
    }
}

extension Reference {
    /// The root directory's hashes as the reference carries them.
    public var hashes: FileHashes { FileHashes(sha256: sha256Hash, blake3: blake3Hash) }
}

/// What an export reads of a reference: which it is, where, its root, its kind, its text and its
/// times. The rest of the document (four more ids, two hashes, links) is skipped unread: an export
/// reads every promotion of the repository, and whole `Reference`s, decoded and copied through its
/// sorting and grouping, were most of an incremental export's own time on a 5,000-promotion history.
public struct ReferenceSummary: Decodable, Sendable, Hashable {
    public var referenceID: ReferenceID
    public var branchID: BranchID
    /// The root directory version's id.
    public var directoryID: DirectoryVersionID
    public var referenceType: ReferenceType
    public var referenceText: String
    public var createdAt: Instant
    public var deletedAt: Instant?

    public init(_ reference: Reference) {
        referenceID = reference.referenceID
        branchID = reference.branchID
        directoryID = reference.directoryID
        referenceType = reference.referenceType
        referenceText = reference.referenceText
        createdAt = reference.createdAt
        deletedAt = reference.deletedAt
    }

    enum CodingKeys: String, CodingKey {
        case referenceID = "ReferenceId", branchID = "BranchId", directoryID = "DirectoryId", referenceType = "ReferenceType"
        case referenceText = "ReferenceText", createdAt = "CreatedAt", deletedAt = "DeletedAt"
    }
}
