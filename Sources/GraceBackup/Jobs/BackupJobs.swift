import Foundation
import GraceModel
import GraceStorage

/// What each kind of job does, written so that running it twice has the effect of running it
/// once: a worker that dies after the work but before recording it leaves the job to be redone.
/// - `snapshot` asks for a snapshot at or after a change-feed position; one already in the vault
///   satisfies it.
/// - `export-bundle` exports what is new since the catalog's last export; a second run finds
///   nothing new, and two racing runs cannot both add an export (`ExportCatalog.append`).
public struct BackupJobs: Sendable {
    public let deployment: Deployment
    public let vault: Vault?
    public let bundles: (any ObjectStore)?
    public let now: @Sendable () -> Instant

    public init(deployment: Deployment, vault: Vault?, bundles: (any ObjectStore)?, now: @escaping @Sendable () -> Instant) {
        self.deployment = deployment
        self.vault = vault
        self.bundles = bundles
        self.now = now
    }

    struct SnapshotParameters: Codable { var atLeast: Int64 }
    struct ExportParameters: Codable {
        var branches: [String]?
        var includeCommits: Bool?
    }

    /// A snapshot of everything committed up to now.
    public static func snapshot(of deployment: Deployment) async throws -> JobSpec {
        let position = try await deployment.database.openReadView(.latest).position.sequence
        return JobSpec(kind: .snapshot, scope: JobSpec.wholeDeployment, parameters: try Self.json(SnapshotParameters(atLeast: position)))
    }

    /// The next bundle of a repository's chain: every branch unless `branches` narrows it.
    public static func exportBundle(of repositoryID: RepositoryID, branches: [String]? = nil) throws -> JobSpec {
        JobSpec(kind: .exportBundle, scope: repositoryID.description, parameters: try Self.json(ExportParameters(branches: branches)))
    }

    public struct Result: Codable, Sendable {
        public var snapshot: String?
        /// True when a snapshot that satisfies the job was already in the vault.
        public var alreadyTaken: Bool?
        public var export: Int?
        public var nothingNew: Bool?
        public var position: Int64
    }

    public func perform(_ job: JobLease) async throws -> String {
        switch job.spec.kind {
        case .snapshot:
            guard let vault else { throw JobFailure.needs("a vault (--vault)", job.spec.kind) }
            let parameters = try Self.decode(SnapshotParameters.self, job.spec.parameters, job)
            let mine = try await vault.snapshots().filter { $0.manifest.deployment == deployment.location.description }
            if let taken = mine.last(where: { $0.manifest.cutoff.sequence >= parameters.atLeast }) {
                return try Self.json(Result(snapshot: taken.id, alreadyTaken: true, position: taken.manifest.cutoff.sequence))
            }
            let record = try await Snapshotter(deployment: deployment, vault: vault, now: now).snapshot()
            return try Self.json(Result(snapshot: record.id, alreadyTaken: false, position: record.manifest.cutoff.sequence))
        case .exportBundle:
            guard let bundles else { throw JobFailure.needs("a bundle location (--bundles)", job.spec.kind) }
            guard let repositoryID = RepositoryID(job.spec.scope) else { throw JobFailure.badScope(job.spec.scope, job.spec.kind) }
            let parameters = try Self.decode(ExportParameters.self, job.spec.parameters, job)
            let request = BundleExportRequest(repositoryID: repositoryID, branches: parameters.branches, includeCommits: parameters.includeCommits ?? false)
            let (report, record) = try await ExportCatalog(store: bundles, repositoryID: repositoryID).exportNext(from: deployment, request, now: now())
            return try Self.json(Result(export: record?.number, nothingNew: record == nil, position: report.position))
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try GraceJSON.encode(value), as: UTF8.self)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, _ text: String, _ job: JobLease) throws -> Value {
        do {
            return try GraceJSON.decode(type, from: text)
        } catch {
            throw JobFailure.badParameters(job.jobID, "\(error)")
        }
    }
}

public enum JobFailure: BackupFailure {
    case needs(String, JobKind)
    case badScope(String, JobKind)
    case badParameters(Int64, String)

    public var kind: FailureKind { .invalidInput }
    public var description: String {
        switch self {
        case let .needs(what, kind): "a \(kind.rawValue) job needs \(what) on the worker"
        case let .badScope(scope, kind): "a \(kind.rawValue) job's scope \"\(scope)\" is not a repository id"
        case let .badParameters(id, detail): "job \(id) has parameters this grace-backup cannot read: \(detail)"
        }
    }
}
