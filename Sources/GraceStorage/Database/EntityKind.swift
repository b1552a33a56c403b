import GraceModel

/// The entity types of the storage contract, each with its table.
public enum EntityKind: String, Sendable, Codable, CaseIterable {
    case owner = "Owner", organization = "Organization", repository = "Repository", branch = "Branch"
    case reference = "Reference", directoryVersion = "DirectoryVersion"
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
