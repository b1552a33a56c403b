import Foundation

/// Grace's `EventMetadata` (`src/Grace.Types/Common.Types.fs`).
public struct EventMetadata: Codable, Sendable, Hashable {
    public var timestamp: Instant
    /// A 12-character NanoId in Grace; it also names the operation across its events.
    public var correlationID: String
    public var principal: String
    public var properties: [String: String]

    public init(timestamp: Instant, correlationID: String, principal: String, properties: [String: String] = [:]) {
        self.timestamp = timestamp
        self.correlationID = correlationID
        self.principal = principal
        self.properties = properties
    }

    enum CodingKeys: String, CodingKey {
        case timestamp = "Timestamp", correlationID = "CorrelationId", principal = "Principal", properties = "Properties"
    }
}

/// The type name of a Grace domain event, as Grace's `graceEventType` property and our outbox
/// spell it: `ReferenceEvent.Created`, `BranchEvent.Promoted`.
public struct GraceEventType: Hashable, Sendable, Codable, CustomStringConvertible {
    public let family: Family
    /// The union case, PascalCase as in Grace's source: `Created`, `Promoted`.
    public let caseName: String

    public enum Family: String, Sendable, Codable, CaseIterable {
        case ownerEvent = "OwnerEvent", organizationEvent = "OrganizationEvent", repositoryEvent = "RepositoryEvent"
        case branchEvent = "BranchEvent", referenceEvent = "ReferenceEvent", directoryVersionEvent = "DirectoryVersionEvent"
    }

    public init(_ family: Family, _ caseName: String) {
        self.family = family
        self.caseName = caseName
    }

    /// Parses `Family.Case`; nil for an unknown family.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let family = Family(rawValue: String(parts[0])), !parts[1].isEmpty else { return nil }
        self.init(family, String(parts[1]))
    }

    public var description: String { "\(family.rawValue).\(caseName)" }
    /// FSharp.SystemTextJson's external tag for this case: camelCase.
    public var jsonTag: String { caseName.prefix(1).lowercased() + caseName.dropFirst() }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let type = GraceEventType(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a Grace event type")
        }
        self = type
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static let ownerCreated = GraceEventType(.ownerEvent, "Created")
    public static let organizationCreated = GraceEventType(.organizationEvent, "Created")
    public static let repositoryCreated = GraceEventType(.repositoryEvent, "Created")
    public static let repositoryInitialized = GraceEventType(.repositoryEvent, "Initialized")
    public static let branchCreated = GraceEventType(.branchEvent, "Created")
    public static let branchRebased = GraceEventType(.branchEvent, "Rebased")
    public static let branchPromoted = GraceEventType(.branchEvent, "Promoted")
    public static let branchCommitted = GraceEventType(.branchEvent, "Committed")
    public static let branchCheckpointed = GraceEventType(.branchEvent, "Checkpointed")
    public static let branchSaved = GraceEventType(.branchEvent, "Saved")
    public static let branchTagged = GraceEventType(.branchEvent, "Tagged")
    public static let branchAssigned = GraceEventType(.branchEvent, "Assigned")
    public static let referenceCreated = GraceEventType(.referenceEvent, "Created")
    public static let referenceLinkAdded = GraceEventType(.referenceEvent, "LinkAdded")
    public static let referencePhysicalDeleted = GraceEventType(.referenceEvent, "PhysicalDeleted")
    public static let directoryVersionCreated = GraceEventType(.directoryVersionEvent, "Created")
}

/// One Grace domain event in Grace's `{Event, Metadata}` shape, with the event body as Grace's
/// external-tag union: `{"Event": {"created": {...}}, "Metadata": {...}}`.
public struct GraceEvent: Sendable, Hashable {
    public var type: GraceEventType
    /// The union case's fields, already JSON (an object, or a single value for one-field cases).
    public var payloadJSON: Data
    public var metadata: EventMetadata

    public init(type: GraceEventType, payloadJSON: Data, metadata: EventMetadata) {
        self.type = type
        self.payloadJSON = payloadJSON
        self.metadata = metadata
    }

    public init(type: GraceEventType, payload: some Encodable, metadata: EventMetadata) throws {
        self.init(type: type, payloadJSON: try GraceJSON.encode(payload), metadata: metadata)
    }

    /// The envelope as Grace serializes it.
    public func envelopeJSON() throws -> Data {
        let metadataJSON = try GraceJSON.encode(metadata)
        var body = Data(#"{"Event":{"#.utf8)
        body += try GraceJSON.encode(type.jsonTag)
        body += Data(":".utf8) + payloadJSON + Data(#"},"Metadata":"#.utf8) + metadataJSON + Data("}".utf8)
        return body
    }

    /// Reads an envelope back; `type` comes from the outbox row, the tag inside must agree.
    public init(type: GraceEventType, envelopeJSON: Data) throws {
        guard let object = try JSONSerialization.jsonObject(with: envelopeJSON) as? [String: Any],
              let event = object["Event"] as? [String: Any], event.count == 1,
              let (tag, payload) = event.first, tag == type.jsonTag,
              let metadataObject = object["Metadata"]
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not a \(type) envelope"))
        }
        self.type = type
        self.payloadJSON = try JSONSerialization.data(withJSONObject: payload, options: [.fragmentsAllowed, .sortedKeys])
        self.metadata = try GraceJSON.decode(EventMetadata.self, from: JSONSerialization.data(withJSONObject: metadataObject))
    }
}
