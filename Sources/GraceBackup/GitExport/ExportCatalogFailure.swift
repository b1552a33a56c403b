import GraceStorage

/// What can go wrong with a bundle export catalog, each naming what and where. Not a vault's
/// failures: a catalog has no lock to remove and no `verify`, and its advice differs.
public enum ExportCatalogFailure: BackupFailure, Equatable {
    /// Another export of the catalog got there first: it recorded the number this one was to take, or
    /// moved the chain on far enough, while this one read it, that the state it read is gone.
    case overtaken(what: String, location: String)
    /// A file of the catalog is missing, or is not what its record says.
    case damaged(key: String, detail: String, location: String)
    /// A record of a format version this grace-backup does not know.
    case unsupportedFormat(key: String, version: Int, location: String)

    public var kind: FailureKind {
        switch self {
        case .overtaken: .locked
        case .damaged: .integrity
        case .unsupportedFormat: .unsupported
        }
    }

    public var description: String {
        switch self {
        case let .overtaken(what, location): "\(location): \(what); this export recorded nothing, and the next one exports what is new since"
        case let .damaged(key, detail, location): "catalog file \(key) in \(location) is damaged: \(detail)"
        case let .unsupportedFormat(key, version, location): "\(key) in \(location) is an export record of version \(version), which this grace-backup cannot read: upgrade grace-backup"
        }
    }
}
