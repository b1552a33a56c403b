/// Grace's `DirectoryVersion` (`src/Grace.Types/DirectoryVersion.Types.fs`): one directory at
/// one moment, child directories by id and files inline.
public struct DirectoryVersion: Codable, Sendable, Hashable {
    public var `class` = "DirectoryVersion"
    public var directoryVersionID: DirectoryVersionID
    public var ownerID: OwnerID
    public var organizationID: OrganizationID
    public var repositoryID: RepositoryID
    /// `.` for the root; otherwise no leading or trailing `/`, e.g. `src/foo`.
    public var relativePath: String
    public var sha256Hash: String
    public var blake3Hash: String
    public var directories: [DirectoryVersionID]
    public var files: [FileVersion]
    /// The sum of the sizes of the files directly in this directory; subdirectories are not included.
    public var size: Int64
    /// Computed lazily by Grace; -1 until then.
    public var recursiveSize: Int64 = -1
    public var createdAt: Instant
    public var hashesValidated: Bool
    public var deletedAt: Instant?
    public var deleteReason = ""

    public init(
        directoryVersionID: DirectoryVersionID, repository: Repository, relativePath: String, hashes: FileHashes,
        directories: [DirectoryVersionID], files: [FileVersion], size: Int64, createdAt: Instant
    ) {
        self.directoryVersionID = directoryVersionID
        self.ownerID = repository.ownerID
        self.organizationID = repository.organizationID
        self.repositoryID = repository.repositoryID
        self.relativePath = relativePath
        self.sha256Hash = hashes.sha256
        self.blake3Hash = hashes.blake3
        self.directories = directories
        self.files = files
        self.size = size
        self.createdAt = createdAt
        self.hashesValidated = true
    }

    public var hashes: FileHashes { FileHashes(sha256: sha256Hash, blake3: blake3Hash) }

    /// Grace's root path.
    public static let rootPath = "."

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", directoryVersionID = "DirectoryVersionId", ownerID = "OwnerId"
        case organizationID = "OrganizationId", repositoryID = "RepositoryId", relativePath = "RelativePath"
        case sha256Hash = "Sha256Hash", blake3Hash = "Blake3Hash", directories = "Directories", files = "Files"
        case size = "Size", recursiveSize = "RecursiveSize", createdAt = "CreatedAt"
        case hashesValidated = "HashesValidated", deletedAt = "DeletedAt", deleteReason = "DeleteReason"
    }
}
