import Foundation

/// Where an object store is: for now a folder, named by a path or `file:///path`.
/// (`s3://bucket/prefix?endpoint=...` comes with the S3 backend.) Parsed once, at the edge.
public enum StorageLocation: Sendable, Hashable, CustomStringConvertible {
    case folder(URL)

    public init(parsing text: String) throws {
        if text.hasPrefix("file://") {
            guard let url = URL(string: text), url.isFileURL, !url.path.isEmpty else {
                throw InvalidLocation(text: text, reason: "is not a file:// URL with a path")
            }
            if let host = url.host, !host.isEmpty, host != "localhost" {
                throw InvalidLocation(text: text, reason: "names host \(host); a local folder is file:///path, with three slashes")
            }
            self = .folder(url.standardizedFileURL)
        } else if text.contains("://") {
            let scheme = text.components(separatedBy: "://")[0]
            throw InvalidLocation(text: text, reason: "uses \(scheme)://, which this version does not support yet; use a folder path or file:///path")
        } else if text.isEmpty {
            throw InvalidLocation(text: text, reason: "is empty")
        } else {
            self = .folder(URL(fileURLWithPath: text).standardizedFileURL)
        }
    }

    public var description: String {
        switch self {
        case let .folder(url): "file://\(url.path)"
        }
    }

    /// Opens the store; with `create` false, a missing folder is `.notFound`. Vaults open with
    /// `.onSynchronize`: their writers call `synchronize` before each manifest.
    public func open(create: Bool, durability: FileSystemObjectStore.Durability = .eachPut) throws -> any ObjectStore {
        switch self {
        case let .folder(url): try FileSystemObjectStore(root: url, create: create, durability: durability)
        }
    }
}
