import Foundation
import GraceModel

/// One Grace installation as the toolkit sees it: a database (with its change feed and event
/// outbox) and an object store.
public struct Deployment: Sendable {
    public let database: any GraceDatabase
    public let objects: any ObjectStore
    public let location: DeploymentLocation

    public init(database: any GraceDatabase, objects: any ObjectStore, location: DeploymentLocation) {
        self.database = database
        self.objects = objects
        self.location = location
    }
}

/// Where a deployment is. The embedded default is a folder holding `grace.sqlite` and
/// `objects/` (one sub-folder per repository container), named by a path or a `file://` URL.
public struct DeploymentLocation: Sendable, Hashable, CustomStringConvertible {
    public let folder: URL

    public static let databaseFileName = "grace.sqlite"
    public static let objectsFolderName = "objects"

    /// Parses `file:///path`, or a plain path (relative to the working directory).
    public init(parsing text: String) throws {
        switch try StorageLocation(parsing: text) {
        case let .folder(url): folder = url
        }
    }

    public init(folder: URL) { self.folder = folder.standardizedFileURL }

    public var description: String { "file://\(folder.path)" }
    public var databasePath: String { folder.appendingPathComponent(Self.databaseFileName).path }
    public var objectsFolder: URL { folder.appendingPathComponent(Self.objectsFolderName) }

    public enum OpenMode: Sendable { case create, openExisting }

    /// Opens the deployment; `.openExisting` throws `.notFound` when it is not there.
    /// `objectDurability` `.onSynchronize` is for a restore, which synchronizes before it writes the database.
    public func open(_ mode: OpenMode, now: @escaping @Sendable () -> Instant,
                     objectDurability: FileSystemObjectStore.Durability = .eachPut) throws -> Deployment {
        if mode == .openExisting {
            guard FileManager.default.fileExists(atPath: databasePath) else {
                throw StorageFailure(.notFound, .open, location: description,
                                     message: "no Grace deployment here (\(Self.databaseFileName) is missing); `grace-backup simulate --deployment \(folder.path)` creates one")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw StorageFailure(.unavailable, .open, location: description, message: "cannot create the folder", underlying: error)
            }
        }
        let database = try SQLiteGraceDatabase(path: databasePath, mode: mode == .create ? .create : .openExisting, now: now)
        let objects = try FileSystemObjectStore(root: objectsFolder, create: mode == .create, durability: objectDurability)
        return Deployment(database: database, objects: objects, location: self)
    }
}

public struct InvalidLocation: BackupFailure {
    public let text: String
    public let reason: String
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }
    public var kind: FailureKind { .invalidInput }
    public var description: String { "location \(String(reflecting: text)) \(reason)" }
}
