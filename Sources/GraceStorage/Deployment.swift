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

/// Where a deployment is.
/// - `.folder`: the embedded default, a folder holding `grace.sqlite` and `objects/` (one
///   sub-folder per repository container), named by a path or a `file://` URL. Its objects may
///   live elsewhere, in a bucket say: then `deployment.json` in the folder names them.
/// - `.postgres`: a database on a PostgreSQL server, `postgres://user@host:port/database`; the
///   database itself records where its objects are (given once, with `--objects`).
public enum DeploymentLocation: Sendable, Hashable, CustomStringConvertible {
    case folder(URL)
    /// The URL as given; opened (and checked) by the PostgreSQL backend. A password in it is never shown.
    case postgres(String)

    public static let databaseFileName = "grace.sqlite"
    public static let objectsFolderName = "objects"
    public static let settingsFileName = "deployment.json"

    /// Parses `postgres://…`, `file:///path`, or a plain path (relative to the working directory).
    public init(parsing text: String) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(text)
            return
        }
        switch try StorageLocation(parsing: text) {
        case let .folder(url): self = .folder(url)
        case .s3: throw InvalidLocation(text: text, reason: "is an S3 location; a deployment is a folder holding its database, or postgres://… (give its objects' bucket with --objects)")
        }
    }

    public init(folder: URL) { self = .folder(folder.standardizedFileURL) }

    public var description: String {
        switch self {
        case let .folder(url): "file://\(url.path)"
        case let .postgres(text): Self.hidingPassword(text)
        }
    }

    /// The folder of an embedded deployment; nil for one on a server.
    public var folder: URL? {
        if case let .folder(url) = self { url } else { nil }
    }

    /// Where an embedded deployment's database file is.
    public static func databasePath(in folder: URL) -> String { folder.appendingPathComponent(databaseFileName).path }

    /// A server URL with its password, if any, replaced by "…".
    public static func hidingPassword(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "…"
        return components.string ?? "postgres://…"
    }

    /// What `deployment.json` holds: where the objects are, when not in `objects/`.
    struct Settings: Codable, Equatable {
        var objects: String
    }

    /// Where an embedded deployment's objects are: what `deployment.json` names, else `objects/` there.
    static func objectsLocation(in folder: URL) throws -> StorageLocation {
        let settingsURL = folder.appendingPathComponent(settingsFileName)
        // Most deployments have no settings file: looked for first, as a read that fails builds an error to drop.
        guard FileManager.default.fileExists(atPath: settingsURL.path), let data = try? Data(contentsOf: settingsURL) else {
            return .folder(folder.appendingPathComponent(objectsFolderName))
        }
        do {
            return try StorageLocation(parsing: try JSONDecoder().decode(Settings.self, from: data).objects)
        } catch {
            throw StorageFailure(.invalidInput, .open, location: "file://\(folder.path)", message: "\(settingsFileName) is not valid: \(error)")
        }
    }

    /// `.readOnly` is for readers (an export): the embedded database is opened read-only, so a reader
    /// neither checkpoints other processes' commits into it nor waits on its fsyncs (four a run); a
    /// database on a server opens as `.openExisting`.
    public enum OpenMode: Sendable { case create, openExisting, readOnly }

    /// Opens the deployment; `.openExisting` and `.readOnly` throw `.notFound` when it is not there.
    /// - Parameters:
    ///   - objects: with `.create`, where the objects go (for a folder, when not in `objects/`).
    ///     Recorded with the deployment (`deployment.json`, or the server database's
    ///     `deployment_info`); an existing deployment keeps the place it recorded.
    ///   - objectDurability: `.onSynchronize` is for a restore, which synchronizes before it writes the database.
    ///   - stores: opens the objects' location; S3 needs `ObjectStoreOpener.standard` (GraceS3).
    ///   - databases: opens a database on a server; PostgreSQL needs `DatabaseOpener.standard` (GracePostgres).
    public func open(_ mode: OpenMode, objects: StorageLocation? = nil, now: @escaping @Sendable () -> Instant,
                     objectDurability: FileSystemObjectStore.Durability = .eachPut, stores: ObjectStoreOpener = .foldersOnly,
                     databases: DatabaseOpener = .embeddedOnly) async throws -> Deployment {
        let database: any GraceDatabase
        let objectsAt: StorageLocation
        switch self {
        case let .folder(folder):
            (database, objectsAt) = try openEmbedded(folder, mode, objects: objects, now: now)
        case let .postgres(text):
            let server = try await databases.open(text, create: mode == .create, now: now)
            let proposed = mode == .create ? objects?.description : nil
            guard let recordedText = try await server.objectsLocation(recording: proposed) else {
                throw StorageFailure(.invalidInput, .open, location: description, message: mode == .create
                    ? "a deployment on a server keeps its objects in a folder or bucket: give it with --objects"
                    : "the database records no objects location; `grace-backup migrate --deployment … --objects LOCATION` sets it")
            }
            let recorded = try StorageLocation(parsing: recordedText)
            if let objects, objects != recorded {
                throw InvalidLocation(text: objects.description, reason: "is not where this deployment keeps its objects (\(recorded))")
            }
            (database, objectsAt) = (server, recorded)
        }
        let store = try await stores.open(objectsAt, create: mode == .create, durability: objectDurability)
        return Deployment(database: database, objects: store, location: self)
    }

    private func openEmbedded(_ folder: URL, _ mode: OpenMode, objects: StorageLocation?,
                              now: @escaping @Sendable () -> Instant) throws -> (any GraceDatabase, StorageLocation) {
        let databasePath = Self.databasePath(in: folder)
        if mode != .create {
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
        let recorded = try Self.objectsLocation(in: folder)
        var objectsAt = recorded
        if let objects, objects != recorded {
            guard mode == .create, !FileManager.default.fileExists(atPath: databasePath) else {
                throw InvalidLocation(text: objects.description, reason: "is not where this deployment keeps its objects (\(recorded))")
            }
            let settings = try JSONEncoder().encode(Settings(objects: objects.description))
            try settings.write(to: folder.appendingPathComponent(Self.settingsFileName), options: .atomic)
            objectsAt = objects
        }
        let databaseMode: SQLiteGraceDatabase.OpenMode = switch mode {
        case .create: .create
        case .openExisting: .openExisting
        case .readOnly: .readOnly
        }
        let database = try SQLiteGraceDatabase(path: databasePath, mode: databaseMode, now: now)
        return (database, objectsAt)
    }
}

/// A Grace database on a server: it records, once, where its deployment's objects are.
public protocol ServerGraceDatabase: GraceDatabase {
    /// The recorded objects location; when none is recorded yet and `proposed` is given, records
    /// it first. Concurrent first opens agree: the first record wins.
    func objectsLocation(recording proposed: String?) async throws -> String?
}

/// Opens a deployment's database when it is on a server. PostgreSQL lives in its own target
/// (GracePostgres), which supplies `DatabaseOpener.standard`; the command line passes it down,
/// as it does `ObjectStoreOpener.standard`.
public struct DatabaseOpener: Sendable {
    let openPostgres: (@Sendable (_ url: String, _ create: Bool, _ now: @escaping @Sendable () -> Instant) async throws -> any ServerGraceDatabase)?

    public init(postgres: @escaping @Sendable (_ url: String, _ create: Bool, _ now: @escaping @Sendable () -> Instant) async throws -> any ServerGraceDatabase) {
        openPostgres = postgres
    }
    private init() { openPostgres = nil }

    public static let embeddedOnly = DatabaseOpener()

    /// Opens the database; with `create`, migrates its schema first.
    public func open(_ url: String, create: Bool, now: @escaping @Sendable () -> Instant) async throws -> any ServerGraceDatabase {
        guard let openPostgres else {
            throw StorageFailure(.unsupported, .open, location: DeploymentLocation.hidingPassword(url), message: "this program was built without the PostgreSQL backend")
        }
        return try await openPostgres(url, create, now)
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
