import GraceModel

/// The entity types of the storage contract, each with its table.
public enum EntityKind: String, Sendable, Codable, CaseIterable {
    case owner = "Owner", organization = "Organization", repository = "Repository", branch = "Branch"
    case reference = "Reference", directoryVersion = "DirectoryVersion"

    /// Its table and id column, the same in every backend (docs/storage-contract.md). `refs`
    /// because REFERENCES is an SQL keyword.
    public var table: (name: String, idColumn: String) {
        switch self {
        case .owner: ("owners", "owner_id")
        case .organization: ("organizations", "organization_id")
        case .repository: ("repositories", "repository_id")
        case .branch: ("branches", "branch_id")
        case .reference: ("refs", "reference_id")
        case .directoryVersion: ("directory_versions", "directory_version_id")
        }
    }
}

/// One entity written by an operation: its full document after the change, or its deletion.
public enum EntityChange: Sendable, Hashable {
    case owner(Owner)
    case organization(Organization)
    case repository(Repository)
    case branch(Branch)
    case reference(Reference)
    case directoryVersion(DirectoryVersion)
    /// A physical deletion: the row goes, the change feed keeps a deletion marker.
    case deletion(EntityKind, id: String, repositoryID: RepositoryID?)

    public var kind: EntityKind {
        switch self {
        case .owner: .owner
        case .organization: .organization
        case .repository: .repository
        case .branch: .branch
        case .reference: .reference
        case .directoryVersion: .directoryVersion
        case let .deletion(kind, _, _): kind
        }
    }

    public var entityID: String {
        switch self {
        case let .owner(owner): owner.ownerID.description
        case let .organization(organization): organization.organizationID.description
        case let .repository(repository): repository.repositoryID.description
        case let .branch(branch): branch.branchID.description
        case let .reference(reference): reference.referenceID.description
        case let .directoryVersion(directory): directory.directoryVersionID.description
        case let .deletion(_, id, _): id
        }
    }

    public var repositoryID: RepositoryID? {
        switch self {
        case .owner, .organization: nil
        case let .repository(repository): repository.repositoryID
        case let .branch(branch): branch.repositoryID
        case let .reference(reference): reference.repositoryID
        case let .directoryVersion(directory): directory.repositoryID
        case let .deletion(_, _, repositoryID): repositoryID
        }
    }

    /// The columns beside the id and the document that queries use, with their values: every
    /// backend stores the same ones.
    public var indexedColumns: [(name: String, value: String?)] {
        switch self {
        case let .owner(owner): [("owner_name", owner.ownerName)]
        case let .organization(organization):
            [("owner_id", organization.ownerID.description), ("organization_name", organization.organizationName)]
        case let .repository(repository):
            [("owner_id", repository.ownerID.description), ("organization_id", repository.organizationID.description),
             ("repository_name", repository.repositoryName)]
        case let .branch(branch):
            [("repository_id", branch.repositoryID.description), ("branch_name", branch.branchName),
             ("parent_branch_id", branch.parentBranchID?.description)]
        case let .reference(reference):
            [("repository_id", reference.repositoryID.description), ("branch_id", reference.branchID.description),
             ("reference_type", reference.referenceType.rawValue), ("directory_id", reference.directoryID.description),
             ("created_at", reference.createdAt.description)]
        case let .directoryVersion(directory):
            [("repository_id", directory.repositoryID.description), ("relative_path", directory.relativePath),
             ("sha256_hash", directory.sha256Hash), ("blake3_hash", directory.blake3Hash)]
        case .deletion: []
        }
    }

    /// Grace's JSON document, or nil for a deletion.
    public func document() throws -> String? {
        let data: Data? = switch self {
        case let .owner(value): try GraceJSON.encode(value)
        case let .organization(value): try GraceJSON.encode(value)
        case let .repository(value): try GraceJSON.encode(value)
        case let .branch(value): try GraceJSON.encode(value)
        case let .reference(value): try GraceJSON.encode(value)
        case let .directoryVersion(value): try GraceJSON.encode(value)
        case .deletion: nil
        }
        return data.map { String(decoding: $0, as: UTF8.self) }
    }
}

import Foundation
