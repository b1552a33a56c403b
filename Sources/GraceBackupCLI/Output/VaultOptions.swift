import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GraceStorage

/// `--vault LOCATION`, parsed once at the edge.
struct VaultOptions: ParsableArguments {
    @Option(name: .customLong("vault"), help: "The vault: a folder path or file:///path.", transform: { try StorageLocation(parsing: $0) })
    var location: StorageLocation

    func open() async throws -> Vault {
        do {
            return try await Vault.open(location.open(create: false, durability: .onSynchronize))
        } catch let failure as StorageFailure where failure.reason == .notFound {
            throw VaultFailure.notAVault(location: location.description)
        }
    }
}

/// The wall clock, read at the composition root only.
let wallClock: @Sendable () -> Instant = { Instant(Date()) }
