import Deflate
import GraceModel

/// How a caller should react to a failure. The CLI maps it to an exit code (docs/exit-codes.md),
/// a server to an HTTP status. Add cases; never renumber what the CLI publishes.
public enum FailureKind: String, Sendable, Codable, CaseIterable {
    /// Something named does not exist: a location, an entity, an object.
    case notFound
    /// Data exists but is wrong: a hash or size that does not match, a truncated or corrupt object.
    case integrity
    /// A store could not be reached or refused the operation; trying later may help.
    case unavailable
    /// Another process holds what this one needs.
    case locked
    /// The input or a document breaks a rule: a bad flag, an unsafe path, a malformed document.
    case invalidInput
    /// Grace data this toolkit does not handle yet, such as manifest-backed large files.
    case unsupported
    /// Backups exist but are older than their configured bound (status): for monitoring.
    case outdated
    /// The backups themselves are at risk: none to restore, a failed drill, protection that is not there (doctor).
    case atRisk
    case cancelled
}

/// Every error the library throws on purpose: it says what failed and where, and how to react.
public protocol BackupFailure: Error, CustomStringConvertible, Sendable {
    var kind: FailureKind { get }
}

extension UnsafePath: BackupFailure {
    public var kind: FailureKind { .invalidInput }
}

extension DeflateError: BackupFailure {
    public var kind: FailureKind { .integrity }
}
