/// Grace's `OwnerDto` (`src/Grace.Types/Owner.Types.fs`).
public struct Owner: Codable, Sendable, Hashable {
    public var `class` = "OwnerDto"
    public var ownerID: OwnerID
    public var ownerName: String
    public var ownerType: OwnerType = .public
    public var description = ""
    public var searchVisibility: SearchVisibility = .visible
    public var createdAt: Instant
    public var updatedAt: Instant?
    public var deletedAt: Instant?
    public var deleteReason = ""

    public init(ownerID: OwnerID, ownerName: String, createdAt: Instant) {
        self.ownerID = ownerID
        self.ownerName = ownerName
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", ownerID = "OwnerId", ownerName = "OwnerName", ownerType = "OwnerType"
        case description = "Description", searchVisibility = "SearchVisibility", createdAt = "CreatedAt"
        case updatedAt = "UpdatedAt", deletedAt = "DeletedAt", deleteReason = "DeleteReason"
    }
}

/// Grace's `OrganizationDto` (`src/Grace.Types/Organization.Types.fs`): an owner's shape plus its owner.
public struct Organization: Codable, Sendable, Hashable {
    public var `class` = "OrganizationDto"
    public var organizationID: OrganizationID
    public var organizationName: String
    public var ownerID: OwnerID
    public var organizationType: OrganizationType = .public
    public var description = ""
    public var searchVisibility: SearchVisibility = .visible
    public var createdAt: Instant
    public var updatedAt: Instant?
    public var deletedAt: Instant?
    public var deleteReason = ""

    public init(organizationID: OrganizationID, organizationName: String, ownerID: OwnerID, createdAt: Instant) {
        self.organizationID = organizationID
        self.organizationName = organizationName
        self.ownerID = ownerID
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", organizationID = "OrganizationId", organizationName = "OrganizationName"
        case ownerID = "OwnerId", organizationType = "OrganizationType", description = "Description"
        case searchVisibility = "SearchVisibility", createdAt = "CreatedAt", updatedAt = "UpdatedAt"
        case deletedAt = "DeletedAt", deleteReason = "DeleteReason"
    }
}
