import Foundation

/// What a store can tell about how safe its objects are: read by `doctor`.
public struct StorePosture: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable { case folder, s3 }
    public var kind: Kind
    /// Where the bytes physically are, to tell whether two copies share a failure: an S3
    /// endpoint and region, or a folder's host.
    public var place: String
    /// Whether overwrites and deletes keep the version before (nil: cannot tell).
    public var versioning: Bool?
    /// Whether objects can be locked against deletion (S3 Object Lock).
    public var objectLock: Bool?
    /// The bucket's default encryption (`AES256`, `aws:kms`), nil when none is set or it cannot tell.
    public var defaultEncryption: String?
    /// Multipart uploads begun and never completed nor aborted (billed, invisible).
    public var unfinishedUploads: Int?

    public init(kind: Kind, place: String, versioning: Bool? = nil, objectLock: Bool? = nil, defaultEncryption: String? = nil, unfinishedUploads: Int? = nil) {
        self.kind = kind
        self.place = place
        self.versioning = versioning
        self.objectLock = objectLock
        self.defaultEncryption = defaultEncryption
        self.unfinishedUploads = unfinishedUploads
    }
}

/// A store that reports its posture.
public protocol PostureReporting: Sendable {
    func posture() async throws -> StorePosture
}

extension FileSystemObjectStore: PostureReporting {
    /// A folder keeps no versions and cannot lock; its encryption is the disk's, which it cannot see.
    public func posture() async throws -> StorePosture {
        StorePosture(kind: .folder, place: "host \(ProcessInfo.processInfo.hostName)", versioning: false, objectLock: false)
    }
}
