import Crypto
import Foundation
import GraceModel
import GraceStorage

/// The vault's config record, `config.json`, written once by `init`. Format: docs/formats/vault.md.
public struct VaultConfig: Codable, Sendable, Hashable {
    public static let formatName = "grace-backup-vault"
    public static let currentVersion = 1

    public var format = VaultConfig.formatName
    public var version = VaultConfig.currentVersion
    public var vaultID: String
    public var createdAt: Instant
    /// Set by `init --object-lock`: every record but the locks is written locked (docs/formats/vault.md).
    public var objectLock: ObjectLockSetting?
}

/// Where snapshots live: a folder or a bucket prefix, through the `ObjectStore` contract, so the
/// same code runs on both. Content-addressed: a file version's bytes are stored once, identified
/// by the BLAKE3 of its uncompressed bytes, however many snapshots hold them; small contents are
/// packed together, so a snapshot writes a few large files instead of one per file version.
///
/// Layout (docs/formats/vault.md): `config.json`, `packs/<sha256>`, `index/<sha256>`,
/// `images/<sha256>`, `segments/<sha256>`, `snapshots/<sha256>.json`, `locks/<id>.json`,
/// `drills/<sha256>.json`. Every record but the config and locks is named by the SHA-256 of its bytes, so
/// truncation and tampering show on read; contents are checked against both of Grace's hashes.
public struct Vault: Sendable {
    public let store: any ObjectStore
    public let config: VaultConfig

    static let configKey = try! ObjectKey("config.json")

    /// Lock records live minutes; locking them would only pile up versions nobody needs.
    static let lockExemptPrefixes = ["locks/"]

    /// Creates a vault in an empty store. Refuses a store that already holds one. With
    /// `objectLock`, the store must be able to lock (S3 with Object Lock), and locks everything.
    public static func initialize(in store: any ObjectStore, now: Instant, ids: IDGenerator = .random,
                                  objectLock: (mode: ObjectLockSetting.Mode, retentionSeconds: Int64)? = nil) async throws -> Vault {
        if try await store.head(configKey) != nil { throw VaultFailure.alreadyAVault(location: store.location) }
        let id: RepositoryID = ids.make()
        var config = VaultConfig(vaultID: id.description, createdAt: now)
        var store = store
        if let objectLock {
            let setting = ObjectLockSetting(mode: objectLock.mode, retentionSeconds: objectLock.retentionSeconds, exemptPrefixes: lockExemptPrefixes)
            store = try locking(store, with: setting)
            config.objectLock = setting
        }
        // Created, not put: of two `init`s racing on one location, one makes the vault.
        guard try await store.create(configKey, bytes: Array(try GraceJSON.encode(config))) else {
            throw VaultFailure.alreadyAVault(location: store.location)
        }
        try await store.synchronize()
        return Vault(store: store, config: config)
    }

    /// Opens the vault in `store`: `.notFound` when there is none, `.unsupported` for a newer format.
    public static func open(_ store: any ObjectStore) async throws -> Vault {
        guard try await store.head(configKey) != nil else { throw VaultFailure.notAVault(location: store.location) }
        let bytes = try await store.getBytes(configKey)
        guard let config = try? GraceJSON.decode(VaultConfig.self, from: Data(bytes)), config.format == VaultConfig.formatName else {
            throw VaultFailure.recordDamaged(key: configKey.rawValue, detail: "not a grace-backup vault config")
        }
        guard config.version <= VaultConfig.currentVersion else {
            throw VaultFailure.unsupportedFormat(location: store.location, found: String(config.version))
        }
        if let setting = config.objectLock { return Vault(store: try locking(store, with: setting), config: config) }
        return Vault(store: store, config: config)
    }

    static func locking(_ store: any ObjectStore, with setting: ObjectLockSetting) throws -> any ObjectStore {
        guard let lockable = store as? any ObjectLocking else {
            throw StorageFailure(.unsupported, .open, location: store.location,
                                 message: "Object Lock needs a store that can lock objects: an s3:// location in a bucket made with Object Lock")
        }
        return lockable.locking(with: setting)
    }

    public var location: String { store.location }

    // MARK: - Sealed records

    /// Stores `bytes` under `<folder>/<sha256 of bytes><suffix>` and returns the key and the hash.
    /// Writing the same bytes twice is harmless: same key, same content.
    func putSealed(_ bytes: [UInt8], in folder: String, suffix: String = "") async throws -> (key: ObjectKey, sha256: String) {
        let sha256 = Self.sha256Hex(bytes)
        let key = try ObjectKey("\(folder)/\(sha256)\(suffix)")
        // No `head` first: nearly every record is new, and rewriting the same bytes is harmless.
        try await store.put(key, bytes: bytes)
        return (key, sha256)
    }

    /// Reads a sealed record and checks its bytes against the hash in its name (or `expected`).
    func getSealed(_ key: ObjectKey, expectedSHA256: String? = nil) async throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try await store.getBytes(key)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            throw VaultFailure.recordDamaged(key: key.rawValue, detail: "it is missing")
        }
        let name = key.rawValue.split(separator: "/").last.map { String($0.split(separator: ".")[0]) } ?? ""
        let expected = expectedSHA256 ?? name
        let actual = Self.sha256Hex(bytes)
        guard actual == expected else {
            throw VaultFailure.recordDamaged(key: key.rawValue, detail: "its SHA-256 is \(actual), expected \(expected) (truncated or modified)")
        }
        return bytes
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }
}
