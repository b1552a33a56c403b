import Foundation
import GraceModel
import GraceStorage

/// A lock record, `locks/<id>.json`: who holds the vault, for what, until when.
public struct VaultLockRecord: Codable, Sendable, Hashable, CustomStringConvertible {
    public var id: String
    public var hostname: String
    public var processID: Int32
    public var purpose: String
    /// What the lock excludes: locks of the same scope only; nil means `snapshot`.
    public var scope: String?
    public var createdAt: Instant
    public var expiresAt: Instant

    public init(id: String, hostname: String, processID: Int32, purpose: String, createdAt: Instant, expiresAt: Instant) {
        self.id = id
        self.hostname = hostname
        self.processID = processID
        self.purpose = purpose
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public var description: String { "\(purpose) (pid \(processID) on \(hostname), since \(createdAt), lock \(id))" }

    /// Stale: expired, or held by a process of this host that no longer exists (killed).
    public func isStale(now: Instant, hostname currentHost: String) -> Bool {
        if expiresAt < now { return true }
        return hostname == currentHost && kill(processID, 0) != 0 && errno == ESRCH
    }
}

/// An exclusive lock on a vault. S3 has no atomic create-if-absent everywhere, so the lock is
/// written first and the others are read after: two writers that race both see each other and
/// both back off, which is safe. A stale lock (expired, or its process is gone) is ignored
/// and removed.
public struct VaultLock: Sendable {
    public let record: VaultLockRecord
    let key: ObjectKey
    let vault: Vault

    /// How long a lock lives: a snapshot refreshes nothing, so a lock outlives any snapshot of a
    /// deployment we test; a crashed holder's lock is recognized by its process id on this host.
    public static let lifetimeSeconds = 6 * 3600.0

    /// Takes the vault's lock, removing stale ones (each reported on `progress`); throws `.locked`
    /// naming the holder when a live lock exists.
    /// Locks of different `scope`s do not exclude each other: a `stream` runs beside snapshots.
    public static func acquire(in vault: Vault, purpose: String, scope: String = "snapshot", now: @Sendable () -> Instant, progress: ProgressSink? = nil) async throws -> VaultLock {
        let host = ProcessInfo.processInfo.hostName
        let id: RepositoryID = IDGenerator.random.make()
        var record = VaultLockRecord(id: id.description, hostname: host, processID: getpid(), purpose: purpose,
                                     createdAt: now(), expiresAt: now().adding(seconds: lifetimeSeconds))
        record.scope = scope
        let key = try ObjectKey("locks/\(record.id).json")
        try await vault.store.put(key, bytes: Array(try GraceJSON.encode(record)))
        let lock = VaultLock(record: record, key: key, vault: vault)
        for other in try await vault.locks() where other.record.id != record.id && (other.record.scope ?? "snapshot") == scope {
            if other.record.isStale(now: now(), hostname: host) {
                progress?.yield(.note("removed a stale lock: \(other.record)"))
                try? await vault.store.delete(other.key)  // another process may be removing it too
                continue
            }
            try await lock.release()
            throw VaultFailure.locked(by: other.record.description, location: vault.location)
        }
        return lock
    }

    public func release() async throws {
        do {
            try await vault.store.delete(key)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            // Already removed (by `unlock`): the lock is released either way.
        }
    }
}

extension Vault {
    /// Every lock record in the vault.
    public func locks() async throws -> [VaultLock] {
        var locks: [VaultLock] = []
        for try await summary in store.list(under: try ObjectKey.Prefix("locks")) {
            guard let bytes = try? await store.getBytes(summary.key) else { continue }  // released while listing
            guard let record = try? GraceJSON.decode(VaultLockRecord.self, from: Data(bytes)) else {
                throw VaultFailure.recordDamaged(key: summary.key.rawValue, detail: "not a lock record")
            }
            locks.append(VaultLock(record: record, key: summary.key, vault: self))
        }
        return locks
    }
}
