import ArgumentParser
import GraceBackup
import GraceStorage

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a vault: where snapshots live.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions

    func run() async throws {
        let created = try await Vault.initialize(in: stores.open(vault.location, create: true, durability: .onSynchronize), now: wallClock())
        try global.emit(created.config) { "created vault \(created.config.vaultID) in \(created.location)" }
    }
}
