import ArgumentParser
import GraceBackup
import GraceModel
import GraceStorage

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove the snapshots a retention policy does not keep, and the captures older than the oldest kept one.",
        discussion: """
            Per deployment, as restic counts: the newest --keep-last snapshots, and the newest snapshot of each of the \
            newest --keep-hourly hours (days, ISO weeks, months) that hold one. Captures after the oldest kept snapshot \
            stay, so any moment from it to the last captured change stays restorable. Only manifests and capture records \
            go; `prune` then removes the data nothing needs.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "Keep the newest N snapshots.") var keepLast = 0
    @Option(help: "Keep the newest snapshot of each of the last N hours that have one.") var keepHourly = 0
    @Option(help: "Keep the newest snapshot of each of the last N days that have one.") var keepDaily = 0
    @Option(help: "Keep the newest snapshot of each of the last N ISO weeks that have one.") var keepWeekly = 0
    @Option(help: "Keep the newest snapshot of each of the last N months that have one.") var keepMonthly = 0
    @Flag(help: "Print what would be forgotten and change nothing.") var dryRun = false

    var policy: RetentionPolicy { RetentionPolicy(last: keepLast, hourly: keepHourly, daily: keepDaily, weekly: keepWeekly, monthly: keepMonthly) }

    func validate() throws {
        guard [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly].allSatisfy({ $0 >= 0 }) else { throw ValidationError("--keep-* counts cannot be negative") }
        if policy.keepsNothing { throw ValidationError("give at least one --keep-* option: a policy that keeps nothing would forget every snapshot") }
    }

    func run() async throws {
        let opened = try await vault.open()
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await opened.forget(policy: policy, dryRun: dryRun, now: wallClock, progress: sink)
        }
        try global.emit(report) {
            var lines = report.kept.map { "keep   \($0.snapshot.prefix(12))  change \($0.cutoff.sequence)  \($0.cutoff.committedAt.map(\.description) ?? "-")  (\($0.reasons.joined(separator: ", ")))" }
            lines += report.forgotten.map { "\(report.dryRun ? "would forget" : "forget")  \($0.snapshot.prefix(12))  change \($0.cutoff.sequence)  \($0.cutoff.committedAt.map(\.description) ?? "-")" }
            lines.append("\(report.dryRun ? "would forget" : "forgot") \(report.forgotten.count) snapshot(s) and \(report.capturesForgotten) capture(s); kept \(report.kept.count)")
            for (deployment, earliest) in report.earliestRestorable.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(deployment): restorable from \(earliest)")
            }
            if !report.dryRun && !report.forgotten.isEmpty { lines.append("  `grace-backup prune` removes the data nothing needs now") }
            return lines.joined(separator: "\n")
        }
    }
}

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove the packs, images and segments no kept snapshot or capture needs.",
        discussion: """
            Safe beside a running snapshot or stream: a run condemns what nothing needs and deletes what an earlier run \
            condemned at least --grace ago and is still unneeded (a snapshot that reused it meanwhile keeps it). Packs \
            mostly unneeded are rewritten with the contents still needed. --now deletes at once, holding every \
            writer's lock: it fails while a snapshot or stream runs.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vault: VaultOptions
    @Option(help: "How long condemned data waits before deletion: longer than any snapshot takes. 1h, 30m, 3600s.", transform: parseInterval)
    var grace: Double = 3600
    @Flag(help: "Delete at once; refuses while a snapshot or stream holds the vault.") var now = false
    @Flag(help: "Print what is unneeded and change nothing.") var dryRun = false
    @Option(help: "Rewrite a pack when more than this share of it is unneeded, e.g. 25%.", transform: { text in
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let percent = Double(number), percent >= 0, percent <= 100 else { throw ValidationError("\"\(text)\" is not a percentage such as 25%") }
        return percent / 100
    })
    var repackUnused: Double = 0.25

    func run() async throws {
        let opened = try await vault.open()
        var options = PruneOptions()
        options.graceSeconds = grace
        options.immediately = now
        options.dryRun = dryRun
        options.repackUnusedShare = repackUnused
        let report = try await withProgress(rendering: global.renderer) { sink in
            try await Pruner(vault: opened, options: options, now: wallClock).prune(progress: sink)
        }
        try global.emit(report) {
            var lines = ["\(report.snapshots) snapshot(s) and \(report.captures) capture(s) kept need \(report.contentsNeeded) contents; "
                + "\(report.unneeded) record(s) and pack(s), \(formatBytes(report.unneededBytes)), are unneeded"]
            if report.dryRun { return (lines + ["  dry run: nothing changed"]).joined(separator: "\n") }
            if report.packsRepacked > 0 { lines.append("  repacked \(report.packsRepacked) pack(s): \(report.contentsRepacked) contents kept, \(formatBytes(report.bytesRepacked)) written") }
            lines.append("  deleted \(report.deleted), \(formatBytes(report.deletedBytes)); \(report.indexesRewritten) index record(s) rewritten")
            if report.reprieved > 0 { lines.append("  \(report.reprieved) condemned earlier are needed again and stay") }
            if let until = report.lockedUntil {
                lines.append("  kept \(report.locked), \(formatBytes(report.lockedBytes)), under Object Lock: a prune after \(until) deletes them")
            }
            if let until = report.waitUntil {
                lines.append("  condemned \(report.condemned), \(formatBytes(report.condemnedBytes)): a prune after \(until) deletes what is still unneeded")
            }
            return lines.joined(separator: "\n")
        }
    }
}
