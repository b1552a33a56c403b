import Foundation

/// Opens the store a `StorageLocation` names. Folders open here; S3 needs the S3 backend, which
/// lives in its own target (GraceS3) with the HTTP stack and supplies `ObjectStoreOpener.standard`.
/// The composition root (the command line) passes that one down; libraries and tests that only
/// use folders take `.foldersOnly`.
public struct ObjectStoreOpener: Sendable {
    let openS3: (@Sendable (S3Location, _ create: Bool) async throws -> any ObjectStore)?

    public init(s3: @escaping @Sendable (S3Location, _ create: Bool) async throws -> any ObjectStore) { openS3 = s3 }
    private init() { openS3 = nil }

    public static let foldersOnly = ObjectStoreOpener()

    /// Opens the store; with `create` false, a missing folder or bucket is `.notFound`.
    /// `durability` applies to folders: vaults open with `.onSynchronize` (their writers call
    /// `synchronize` before each manifest); S3 makes each write durable when it returns.
    public func open(_ location: StorageLocation, create: Bool, durability: FileSystemObjectStore.Durability = .eachPut) async throws -> any ObjectStore {
        switch location {
        case let .folder(url):
            return try FileSystemObjectStore(root: url, create: create, durability: durability)
        case let .s3(s3):
            guard let openS3 else {
                throw StorageFailure(.unsupported, .open, location: location.description, message: "this program was built without the S3 backend")
            }
            return try await openS3(s3, create)
        }
    }
}
