import Foundation
import GraceModel

/// A position in the change feed: the sequence number of the last change included and the
/// commit time of that change. A snapshot's cutoff is one of these.
public struct ChangePosition: Hashable, Sendable, Codable, CustomStringConvertible {
    /// 0 before the first change.
    public var sequence: Int64
    public var committedAt: Instant?

    public init(sequence: Int64, committedAt: Instant?) {
        self.sequence = sequence
        self.committedAt = committedAt
    }

    public var description: String { "sequence \(sequence)" + (committedAt.map { " at \($0)" } ?? "") }
}

/// One row of the change feed.
public struct ChangeRecord: Hashable, Sendable {
    public var sequence: Int64
    public var committedAt: Instant
    public var kind: EntityKind
    public var entityID: String
    public var repositoryID: RepositoryID?
    /// The entity's Grace JSON after the change; nil marks a deletion.
    public var document: String?

    public init(sequence: Int64, committedAt: Instant, kind: EntityKind, entityID: String, repositoryID: RepositoryID?, document: String?) {
        self.sequence = sequence
        self.committedAt = committedAt
        self.kind = kind
        self.entityID = entityID
        self.repositoryID = repositoryID
        self.document = document
    }
}

/// One event of the outbox, in order of `offset`.
public struct OutboxEvent: Hashable, Sendable {
    public var offset: Int64
    public var event: GraceEvent
    public var repositoryID: RepositoryID?
    /// The change-feed sequence of the operation that published it.
    public var changeSequence: Int64

    public init(offset: Int64, event: GraceEvent, repositoryID: RepositoryID?, changeSequence: Int64) {
        self.offset = offset
        self.event = event
        self.repositoryID = repositoryID
        self.changeSequence = changeSequence
    }
}

/// One Grace operation as the database applies it: all of it or none of it.
public struct GraceTransaction: Sendable {
    public var changes: [EntityChange]
    public var events: [(event: GraceEvent, repositoryID: RepositoryID?)]

    public init(changes: [EntityChange] = [], events: [(event: GraceEvent, repositoryID: RepositoryID?)] = []) {
        self.changes = changes
        self.events = events
    }
}

/// What a committed transaction was given.
public struct CommitReceipt: Hashable, Sendable {
    /// The change-feed position after the transaction; its last change.
    public var position: ChangePosition
    public var firstSequence: Int64

    public init(position: ChangePosition, firstSequence: Int64) {
        self.position = position
        self.firstSequence = firstSequence
    }
}

extension GraceEvent {
    /// An outbox row's event, read as the storage contract says both backends read it: an envelope that
    /// does not decode as its `event_type` (its tag disagrees, or it is not JSON) is an integrity failure
    /// naming the row, not a decoding error no one expects.
    public init(outboxRow offset: Int64, type: GraceEventType, envelope: String, location: String) throws {
        do {
            try self.init(type: type, envelopeJSON: Data(envelope.utf8))
        } catch {
            throw StorageFailure(.integrity, .query, key: "event_outbox/\(offset)", location: location,
                                 message: "the envelope does not decode as a \(type) event", underlying: error)
        }
    }
}
