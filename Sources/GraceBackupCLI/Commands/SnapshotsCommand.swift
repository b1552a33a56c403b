import ArgumentParser
import Foundation
import GraceBackup
import GraceStorage

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "List the snapshots in a vault, oldest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions

    func run() async throws {
        let records = try await vault.open().snapshots()
        try global.emit(records.map(SnapshotSummary.init)) {
            guard !records.isEmpty else { return "no snapshots" }
            return (["ID            cutoff                            created                         segments  new objects"]
                + records.map { record in
                    let cutoff = "\(record.manifest.cutoff.sequence) @ \(record.manifest.cutoff.committedAt.map(\.description) ?? "-")"
                    return "\(record.shortID)  \(cutoff.padding(toLength: 32, withPad: " ", startingAt: 0))  \(record.manifest.createdAt.description.prefix(30).padding(toLength: 30, withPad: " ", startingAt: 0))  \(String(record.manifest.segments.count).padding(toLength: 8, withPad: " ", startingAt: 0))  \(record.manifest.newObjects) (\(formatBytes(record.manifest.newObjectBytes)))"
                }).joined(separator: "\n")
        }
    }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one snapshot: cutoff, counts, bytes, parent, how long it took.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Argument(help: "Snapshot id, or a unique prefix of at least 4 digits.") var snapshot: String

    func run() async throws {
        let record = try await vault.open().snapshot(snapshot)
        try global.emit(SnapshotSummary(record)) { Self.describe(record) }
    }

    static func describe(_ record: SnapshotRecord) -> String {
        let manifest = record.manifest
        let counts = manifest.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return """
            snapshot \(record.id)
              deployment \(manifest.deployment)
              cutoff     change \(manifest.cutoff)
              created    \(manifest.createdAt) in \(decimal(manifest.elapsedSeconds, places: 2)) s
              parent     \(manifest.parent.map { String($0.prefix(12)) } ?? "none (full image)")
              database   image \(formatBytes(manifest.image.sizeBytes)) + \(manifest.segments.count) segment(s) \(formatBytes(manifest.segments.reduce(0) { $0 + $1.sizeBytes }))
              entities   \(counts)
              objects    \(manifest.newObjects) new (\(formatBytes(manifest.newObjectBytes)))
            """
    }
}

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "What changed between two snapshots: repositories, branches and references added and removed.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Argument(help: "The earlier snapshot.") var from: String
    @Argument(help: "The later snapshot.") var to: String

    func run() async throws {
        let opened = try await vault.open()
        let difference = try await SnapshotDiff.between(try await opened.snapshot(from), and: try await opened.snapshot(to), in: opened)
        try global.emit(difference) {
            difference.entries.isEmpty ? "no repositories, branches or references added or removed"
                : difference.entries.map { "\($0.change == .added ? "+" : "-") \($0.kind.rawValue) \($0.id)  \($0.name)" }.joined(separator: "\n")
        }
    }
}
