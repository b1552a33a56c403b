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
/// `objects/` (one sub-folder per repository container), named by a path or a `file://` URL. Its
/// objects may live elsewhere, in a bucket say: then `deployment.json` in the folder names them.
public struct DeploymentLocation: Sendable, Hashable, CustomStringConvertible {
    public let folder: URL

    public static let databaseFileName = "grace.sqlite"
    public static let objectsFolderName = "objects"
    public static let settingsFileName = "deployment.json"

    /// Parses `file:///path`, or a plain path (relative to the working directory).
    public init(parsing text: String) throws {
        switch try StorageLocation(parsing: text) {
        case let .folder(url): folder = url
        case .s3: throw InvalidLocation(text: text, reason: "is an S3 location; a deployment is a folder holding its database (give its objects' bucket with --objects)")
        }
    }

    public init(folder: URL) { self.folder = folder.standardizedFileURL }

    public var description: String { "file://\(folder.path)" }
    public var databasePath: String { folder.appendingPathComponent(Self.databaseFileName).path }
    public var objectsFolder: URL { folder.appendingPathComponent(Self.objectsFolderName) }
    var settingsURL: URL { folder.appendingPathComponent(Self.settingsFileName) }

    /// What `deployment.json` holds: where the objects are, when not in `objects/`.
    struct Settings: Codable, Equatable {
        var objects: String
    }

    /// Where the deployment's objects are: what `deployment.json` names, else `objects/` here.
    public func objectsLocation() throws -> StorageLocation {
        guard let data = try? Data(contentsOf: settingsURL) else { return .folder(objectsFolder) }
        do {
            return try StorageLocation(parsing: try JSONDecoder().decode(Settings.self, from: data).objects)
        } catch {
            throw StorageFailure(.invalidInput, .open, location: description, message: "\(Self.settingsFileName) is not valid: \(error)")
        }
    }

    public enum OpenMode: Sendable { case create, openExisting }

    /// Opens the deployment; `.openExisting` throws `.notFound` when it is not there.
    /// - Parameters:
    ///   - objects: with `.create`, where the objects go when not in `objects/` (recorded in
    ///     `deployment.json`; an existing deployment keeps the place it recorded).
    ///   - objectDurability: `.onSynchronize` is for a restore, which synchronizes before it writes the database.
    ///   - stores: opens the objects' location; S3 needs `ObjectStoreOpener.standard` (GraceS3).
    public func open(_ mode: OpenMode, objects: StorageLocation? = nil, now: @escaping @Sendable () -> Instant,
                     objectDurability: FileSystemObjectStore.Durability = .eachPut, stores: ObjectStoreOpener = .foldersOnly) async throws -> Deployment {
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
        let recorded = try objectsLocation()
        var objectsAt = recorded
        if let objects, objects != recorded {
            guard mode == .create, !FileManager.default.fileExists(atPath: databasePath) else {
                throw InvalidLocation(text: objects.description, reason: "is not where this deployment keeps its objects (\(recorded))")
            }
            let settings = try JSONEncoder().encode(Settings(objects: objects.description))
            try settings.write(to: settingsURL, options: .atomic)
            objectsAt = objects
        }
        let database = try SQLiteGraceDatabase(path: databasePath, mode: mode == .create ? .create : .openExisting, now: now)
        let store = try await stores.open(objectsAt, create: mode == .create, durability: objectDurability)
        return Deployment(database: database, objects: store, location: self)
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
