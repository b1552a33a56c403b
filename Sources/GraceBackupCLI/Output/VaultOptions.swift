import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GracePostgres
import GraceS3
import GraceStorage

/// `--vault LOCATION`, parsed once at the edge.
struct VaultOptions: ParsableArguments {
    @Option(name: .customLong("vault"), help: "The vault: a folder path, file:///path or s3://bucket/prefix?endpoint=URL&region=NAME.", transform: { try StorageLocation(parsing: $0) })
    var location: StorageLocation

    func open() async throws -> Vault { try await Self.open(location) }

    static func open(_ location: StorageLocation) async throws -> Vault {
        do {
            return try await Vault.open(stores.open(location, create: false, durability: .onSynchronize))
        } catch let failure as StorageFailure where failure.reason == .notFound && failure.operation == .open && location.isFolder {
            throw VaultFailure.notAVault(location: location.description)
        }
    }
}

/// The wall clock, read at the composition root only.
let wallClock: @Sendable () -> Instant = { Instant(Date()) }

/// Every backend this program has: folders and S3 for objects and vaults, SQLite and PostgreSQL for databases.
let stores = ObjectStoreOpener.standard
let databases = DatabaseOpener.standard
