/// Grace's `RepositoryDto` (`src/Grace.Types/Repository.Types.fs`), with Grace's defaults.
public struct Repository: Codable, Sendable, Hashable {
    public var `class` = "RepositoryDto"
    public var repositoryID: RepositoryID
    public var ownerID: OwnerID
    public var organizationID: OrganizationID
    public var repositoryName: String
    public var objectStorageProvider: ObjectStorageProvider = .azureBlobStorage
    public var storagePoolID = "default"
    public var storageAccountName = "gracevcsdevelopment"
    /// Grace sets this to the repository id on create; objects live in that container either way.
    public var storageContainerName: String
    public var repositoryType: RepositoryType = .private
    public var repositoryStatus: RepositoryStatus = .active
    public var anonymousAccess = false
    public var allowsLargeFiles = false
    public var defaultServerApiVersion = "latest"
    public var defaultBranchName = "main"
    /// Days from a logical delete to the physical one.
    public var logicalDeleteDays: Double = 30
    /// Days a Save reference lives before Grace deletes it.
    public var saveDays: Double = 7
    /// Days a Checkpoint reference lives before Grace deletes it.
    public var checkpointDays: Double = 365
    public var directoryVersionCacheDays: Double = 1
    public var diffCacheDays: Double = 1
    public var description = ""
    public var recordSaves = true
    public var createdAt: Instant
    public var initializedAt: Instant?
    public var updatedAt: Instant?
    public var deletedAt: Instant?
    public var deleteReason = ""

    public init(repositoryID: RepositoryID, ownerID: OwnerID, organizationID: OrganizationID, repositoryName: String, createdAt: Instant) {
        self.repositoryID = repositoryID
        self.ownerID = ownerID
        self.organizationID = organizationID
        self.repositoryName = repositoryName
        self.storageContainerName = repositoryID.description
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", repositoryID = "RepositoryId", ownerID = "OwnerId", organizationID = "OrganizationId"
        case repositoryName = "RepositoryName", objectStorageProvider = "ObjectStorageProvider"
        case storagePoolID = "StoragePoolId", storageAccountName = "StorageAccountName"
        case storageContainerName = "StorageContainerName", repositoryType = "RepositoryType"
        case repositoryStatus = "RepositoryStatus", anonymousAccess = "AnonymousAccess"
        case allowsLargeFiles = "AllowsLargeFiles", defaultServerApiVersion = "DefaultServerApiVersion"
        case defaultBranchName = "DefaultBranchName", logicalDeleteDays = "LogicalDeleteDays", saveDays = "SaveDays"
        case checkpointDays = "CheckpointDays", directoryVersionCacheDays = "DirectoryVersionCacheDays"
        case diffCacheDays = "DiffCacheDays", description = "Description", recordSaves = "RecordSaves"
        case createdAt = "CreatedAt", initializedAt = "InitializedAt", updatedAt = "UpdatedAt"
        case deletedAt = "DeletedAt", deleteReason = "DeleteReason"
    }
}
