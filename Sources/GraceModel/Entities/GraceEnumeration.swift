/// A fieldless F# union case as Grace serializes it: a string tag.
///
/// Grace's SDK writes PascalCase (`"Save"`); Cosmos DB documents may hold camelCase
/// (`"save"`), because FSharp.SystemTextJson is configured with camelCase union tags. We write
/// PascalCase and read either, so documents from both sources decode.
public protocol GraceEnumeration: RawRepresentable, CaseIterable, Codable, Sendable, Hashable
where RawValue == String {}

extension GraceEnumeration {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            let known = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not one of \(known)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum ReferenceType: String, GraceEnumeration {
    case promotion = "Promotion", commit = "Commit", checkpoint = "Checkpoint", save = "Save"
    case tag = "Tag", external = "External", rebase = "Rebase"
}

public enum OwnerType: String, GraceEnumeration { case `public` = "Public", `private` = "Private" }
public enum OrganizationType: String, GraceEnumeration { case `public` = "Public", `private` = "Private" }
public enum SearchVisibility: String, GraceEnumeration { case visible = "Visible", notVisible = "NotVisible" }
public enum RepositoryType: String, GraceEnumeration { case `private` = "Private", `public` = "Public" }
public enum RepositoryStatus: String, GraceEnumeration {
    case active = "Active", suspended = "Suspended", closed = "Closed", deleted = "Deleted"
}
public enum ObjectStorageProvider: String, GraceEnumeration {
    case awsS3 = "AWSS3", azureBlobStorage = "AzureBlobStorage", googleCloudStorage = "GoogleCloudStorage", unknown = "Unknown"
}
public enum PromotionMode: String, GraceEnumeration {
    case individualOnly = "IndividualOnly", groupOnly = "GroupOnly", hybrid = "Hybrid"
}
