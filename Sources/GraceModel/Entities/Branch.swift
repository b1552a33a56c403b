/// Grace's `BranchDto` (`src/Grace.Types/Branch.Types.fs`). Branch settings plus the latest
/// reference of each kind, which Grace's branch actor folds in from its Promoted, Committed,
/// Checkpointed and Saved events.
public struct Branch: Codable, Sendable, Hashable {
    public var `class` = "BranchDto"
    public var branchID: BranchID
    public var branchName: String
    /// The branch this one promotes into; nil for a repository's main branch.
    public var parentBranchID: BranchID?
    public var ownerID: OwnerID
    public var organizationID: OrganizationID
    public var repositoryID: RepositoryID
    /// The parent's promotion this branch is based on.
    public var basedOn: Reference?
    public var userID = ""
    public var assignEnabled = true
    public var promotionEnabled = true
    public var commitEnabled = true
    public var checkpointEnabled = true
    public var saveEnabled = true
    public var tagEnabled = true
    public var externalEnabled = true
    public var autoRebaseEnabled = true
    public var promotionMode: PromotionMode = .individualOnly
    public var latestReference: Reference?
    public var latestPromotion: Reference?
    public var latestCommit: Reference?
    public var latestCheckpoint: Reference?
    public var latestSave: Reference?
    public var shouldRecomputeLatestReferences = false
    public var createdAt: Instant
    public var updatedAt: Instant?
    public var deletedAt: Instant?
    public var deleteReason = ""

    public init(branchID: BranchID, branchName: String, parentBranchID: BranchID?, repository: Repository, createdAt: Instant) {
        self.branchID = branchID
        self.branchName = branchName
        self.parentBranchID = parentBranchID
        self.ownerID = repository.ownerID
        self.organizationID = repository.organizationID
        self.repositoryID = repository.repositoryID
        self.createdAt = createdAt
    }

    /// Records `reference` as the latest of its kind, as Grace's branch actor does on the matching event.
    public mutating func recordLatest(_ reference: Reference) {
        latestReference = reference
        switch reference.referenceType {
        case .promotion: latestPromotion = reference
        case .commit: latestCommit = reference
        case .checkpoint: latestCheckpoint = reference
        case .save: latestSave = reference
        case .rebase, .tag, .external: break  // a rebase moves BasedOn, which the caller sets
        }
        updatedAt = reference.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", branchID = "BranchId", branchName = "BranchName", parentBranchID = "ParentBranchId"
        case ownerID = "OwnerId", organizationID = "OrganizationId", repositoryID = "RepositoryId", basedOn = "BasedOn"
        case userID = "UserId", assignEnabled = "AssignEnabled", promotionEnabled = "PromotionEnabled"
        case commitEnabled = "CommitEnabled", checkpointEnabled = "CheckpointEnabled", saveEnabled = "SaveEnabled"
        case tagEnabled = "TagEnabled", externalEnabled = "ExternalEnabled", autoRebaseEnabled = "AutoRebaseEnabled"
        case promotionMode = "PromotionMode", latestReference = "LatestReference", latestPromotion = "LatestPromotion"
        case latestCommit = "LatestCommit", latestCheckpoint = "LatestCheckpoint", latestSave = "LatestSave"
        case shouldRecomputeLatestReferences = "ShouldRecomputeLatestReferences", createdAt = "CreatedAt"
        case updatedAt = "UpdatedAt", deletedAt = "DeletedAt", deleteReason = "DeleteReason"
    }
}
