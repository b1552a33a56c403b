import GraceModel
import GraceStorage

/// A deployment's repositories as the commands that take `--repository-id` and `--branch` need them:
/// ids, names and what each branch's export would hold.
public struct RepositoryListing: Sendable, Codable, Hashable {
    public struct Entry: Sendable, Codable, Hashable {
        public var id: RepositoryID
        public var owner: String
        public var organization: String
        public var name: String
        public var defaultBranch: String
        public var branches: [BranchEntry]
        public var createdAt: Instant
        /// Set when Grace deleted the repository logically; its rows are kept until purged.
        public var deletedAt: Instant?
    }

    public struct BranchEntry: Sendable, Codable, Hashable {
        public var id: BranchID
        public var name: String
        public var parentBranchID: BranchID?
        /// Promotions not deleted: the commits `export-bundle` makes of this branch.
        public var promotions: Int
        public var latestPromotionAt: Instant?
    }

    public var deployment: String
    public var position: ChangePosition
    public var repositories: [Entry]

    /// Read from one consistent view of the deployment; repositories by owner, organization and name,
    /// each one's branches by name. Deleted branches are left out, as an export leaves them out.
    public static func read(_ deployment: Deployment) async throws -> RepositoryListing {
        let view = try await deployment.database.openReadView(.snapshot)
        let owners = Dictionary(try await view.owners().map { ($0.ownerID, $0.ownerName) }, uniquingKeysWith: { first, _ in first })
        let organizations = Dictionary(try await view.organizations().map { ($0.organizationID, $0.organizationName) }, uniquingKeysWith: { first, _ in first })
        var entries: [Entry] = []
        for repository in try await view.repositories() {
            let promotions = Dictionary(grouping: try await view.referenceSummaries(in: repository.repositoryID, ofTypes: [.promotion]).filter { $0.deletedAt == nil },
                                        by: \.branchID)
            let branches = try await view.branches(in: repository.repositoryID).filter { $0.deletedAt == nil }.map { branch in
                let own = promotions[branch.branchID] ?? []
                return BranchEntry(id: branch.branchID, name: branch.branchName, parentBranchID: branch.parentBranchID,
                                   promotions: own.count, latestPromotionAt: own.map(\.createdAt).max())
            }
            entries.append(Entry(id: repository.repositoryID, owner: owners[repository.ownerID] ?? repository.ownerID.description,
                                 organization: organizations[repository.organizationID] ?? repository.organizationID.description,
                                 name: repository.repositoryName, defaultBranch: repository.defaultBranchName,
                                 branches: branches.sorted { ($0.name, $0.id.description) < ($1.name, $1.id.description) },
                                 createdAt: repository.createdAt, deletedAt: repository.deletedAt))
        }
        entries.sort { ($0.owner, $0.organization, $0.name, $0.id.description) < ($1.owner, $1.organization, $1.name, $1.id.description) }
        return RepositoryListing(deployment: deployment.location.description, position: view.position, repositories: entries)
    }
}
