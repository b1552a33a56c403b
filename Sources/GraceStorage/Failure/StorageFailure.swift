/// A failure of a store operation: what was attempted, on which key, in which store, and why.
/// Shaped like NIOFileSystem's `FileSystemError`: a coarse reason plus the underlying cause.
public struct StorageFailure: BackupFailure {
    public enum Operation: String, Sendable { case put, get, head, list, delete, open, read, write, query, migrate }

    public let reason: FailureKind
    public let operation: Operation
    public let key: String?
    public let location: String
    public let message: String
    public let underlying: (any Error)?

    public init(_ reason: FailureKind, _ operation: Operation, key: String? = nil, location: String, message: String, underlying: (any Error)? = nil) {
        self.reason = reason
        self.operation = operation
        self.key = key
        self.location = location
        self.message = message
        self.underlying = underlying
    }

    public var kind: FailureKind { reason }

    public var description: String {
        var text = "\(operation.rawValue) "
        if let key { text += "\(key) " }
        text += "in \(location): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

/// Grace data this toolkit cannot handle yet; never read as something else.
public struct UnsupportedGraceData: BackupFailure {
    public let what: String
    public let whereFound: String

    public init(what: String, whereFound: String) {
        self.what = what
        self.whereFound = whereFound
    }

    public var kind: FailureKind { .unsupported }
    public var description: String { "\(whereFound): \(what) is not supported by grace-backup yet" }
}
