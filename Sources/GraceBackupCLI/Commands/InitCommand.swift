import ArgumentParser
import GraceBackup
import GraceS3
import GraceStorage

extension ObjectLockSetting.Mode: ExpressibleByArgument {}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a vault: where snapshots live.",
        discussion: """
            With --object-lock, the vault is immutable for --retention: an s3:// location whose bucket is created with \
            Object Lock (or already has it), every record written locked, and every snapshot extending the locks of \
            the older records it still needs. Nobody with the vault's credentials can delete its history before then \
            (in governance mode, only holders of s3:BypassGovernanceRetention). prune keeps locked data and says when \
            it can go.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "Lock every record: governance or compliance (S3 Object Lock).") var objectLock: ObjectLockSetting.Mode?
    @Option(help: "With --object-lock, how long each record stays locked: 30d, 12h.", transform: parseInterval) var retention: Double?

    func validate() throws {
        if objectLock != nil {
            guard let retention else { throw ValidationError("--object-lock needs --retention, such as 30d") }
            guard retention >= 86_400 else { throw ValidationError("--retention must be at least 1d: S3 locks by the day or longer in practice") }
            guard case .s3 = vault.location else { throw ValidationError("--object-lock needs an s3:// vault: a folder cannot lock its files") }
        } else if retention != nil {
            throw ValidationError("--retention applies with --object-lock")
        }
    }

    func run() async throws {
        let store: any ObjectStore
        if case let .s3(location) = vault.location, objectLock != nil {
            let bucket = try await S3ObjectStore.open(location, create: true, objectLock: true)
            guard try await bucket.objectLockEnabled() else {
                throw StorageFailure(.invalidInput, .open, location: bucket.location,
                                     message: "bucket \(bucket.bucket) exists without Object Lock; use a new bucket, which init creates with it")
            }
            store = bucket
        } else {
            store = try await stores.open(vault.location, create: true, durability: .onSynchronize)
        }
        let lock = objectLock.flatMap { mode in retention.map { (mode: mode, retentionSeconds: Int64($0)) } }
        let created = try await Vault.initialize(in: store, now: wallClock(), objectLock: lock)
        try global.emit(created.config) {
            var text = "created vault \(created.config.vaultID) in \(created.location)"
            if let setting = created.config.objectLock {
                text += "\n  every record is locked (\(setting.mode.rawValue)) for \(setting.retentionSeconds / 86_400) day(s) after its write or last extension"
            }
            return text
        }
    }
}
