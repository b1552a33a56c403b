import GraceStorage

/// What can go wrong with a vault and its records, each naming what and where.
public enum VaultFailure: BackupFailure, Equatable {
    case notAVault(location: String)
    case alreadyAVault(location: String)
    case unsupportedFormat(location: String, found: String)
    case snapshotNotFound(String, location: String)
    case ambiguousSnapshot(String, matches: [String])
    case noSnapshots(location: String)
    case recordDamaged(key: String, detail: String)
    case objectDamaged(key: String, detail: String)
    case locked(by: String, location: String)
    case targetNotEmpty(String)

    public var kind: FailureKind {
        switch self {
        case .notAVault, .snapshotNotFound, .noSnapshots: .notFound
        case .alreadyAVault, .ambiguousSnapshot, .targetNotEmpty: .invalidInput
        case .unsupportedFormat: .unsupported
        case .recordDamaged, .objectDamaged: .integrity
        case .locked: .locked
        }
    }

    public var description: String {
        switch self {
        case let .notAVault(location): "\(location) is not a grace-backup vault (no config.json); `grace-backup init --vault \(location)` creates one"
        case let .alreadyAVault(location): "\(location) is already a vault; nothing was changed"
        case let .unsupportedFormat(location, found): "\(location) has vault format \(found), which this grace-backup cannot read: upgrade grace-backup"
        case let .snapshotNotFound(id, location): "snapshot \(id) is not in \(location); `grace-backup snapshots --vault \(location)` lists what is"
        case let .ambiguousSnapshot(prefix, matches): "snapshot id \(prefix) matches \(matches.count) snapshots (\(matches.prefix(3).joined(separator: ", "))...): give more digits"
        case let .noSnapshots(location): "\(location) holds no snapshot yet; `grace-backup snapshot` takes one"
        case let .recordDamaged(key, detail): "vault record \(key) is damaged: \(detail); run `grace-backup verify`"
        case let .objectDamaged(key, detail): "vault object \(key) is damaged: \(detail); run `grace-backup verify --read-data`"
        case let .locked(by, location): "\(location) is locked by \(by); if that process is gone, `grace-backup unlock --vault \(location)` removes its lock"
        case let .targetNotEmpty(location): "\(location) already holds a deployment; restore into an empty folder, or pass --in-place to roll it back"
        }
    }
}
