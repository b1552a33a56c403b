import Foundation
import GraceModel

/// Objects written locked until a date: nobody (compliance) or nobody without a special permission
/// (governance) can delete or overwrite them before it, so credentials that leak cannot destroy a
/// vault's history. S3 Object Lock implements it.
public struct ObjectLockSetting: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// Who holds `s3:BypassGovernanceRetention` can still delete; others cannot.
        case governance
        /// Nobody can delete before the date, not even the account's root.
        case compliance
    }

    public var mode: Mode
    /// How long after its write (or its last extension) an object stays locked.
    public var retentionSeconds: Int64
    /// Keys under these prefixes are written unlocked: records that live minutes, such as a vault's locks.
    public var exemptPrefixes: [String]

    public init(mode: Mode, retentionSeconds: Int64, exemptPrefixes: [String] = []) {
        self.mode = mode
        self.retentionSeconds = retentionSeconds
        self.exemptPrefixes = exemptPrefixes
    }

    public func locks(_ key: ObjectKey) -> Bool { !exemptPrefixes.contains { key.rawValue.hasPrefix($0) } }
}

/// A store that can lock what it writes (S3 with Object Lock). Vaults made with `init --object-lock`
/// require one; `prune` asks it what is locked before deleting, and snapshots extend the locks of
/// what they still need.
public protocol ObjectLocking: ObjectStore {
    /// The same store, writing every object (but the exempt) locked under `setting`.
    func locking(with setting: ObjectLockSetting) -> Self
    /// When the object's lock ends; nil when it has none (or is not there).
    func lockedUntil(_ key: ObjectKey) async throws -> Instant?
    /// Moves the object's lock to end at `until`, later than now.
    func extendLock(of key: ObjectKey, until: Instant) async throws
}
