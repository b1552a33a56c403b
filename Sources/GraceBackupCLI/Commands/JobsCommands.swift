import ArgumentParser
import Foundation
import GraceBackup
import GraceModel
import GracePostgres
import GraceStorage

/// The job table lives in a PostgreSQL deployment: only a server lets several workers share it.
func openServerDeployment(_ options: DeploymentOptions) async throws -> (Deployment, PostgresGraceDatabase) {
    guard case .postgres = options.location else {
        throw ValidationError("jobs and workers need a PostgreSQL deployment (--deployment postgres://…): an embedded one has a single writer")
    }
    let opened = try await options.open(.openExisting)
    guard let server = opened.database as? PostgresGraceDatabase else {
        preconditionFailure("a postgres:// deployment opens a PostgresGraceDatabase")
    }
    return (opened, server)
}

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Add and list the jobs that `grace-backup worker`s share (PostgreSQL deployments).",
        subcommands: [JobsAddCommand.self, JobsListCommand.self])
}

struct JobsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Queue a snapshot of the deployment, or the next Git bundle of repositories.",
        discussion: "A job of the same kind and scope already queued is not added twice; one added while its twin runs waits for it.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Argument(help: "snapshot or export-bundle.") var kind: JobKind
    @Option(name: .customLong("repository-id"), help: "export-bundle: a repository (repeat for several).", transform: parseRepositoryID)
    var repositoryIDs: [RepositoryID] = []
    @Flag(help: "export-bundle: every repository of the deployment.") var allRepositories = false
    @Option(help: "Attempts before the job is marked failed.") var maxAttempts = 5

    func validate() throws {
        switch kind {
        case .snapshot:
            if !repositoryIDs.isEmpty || allRepositories { throw ValidationError("a snapshot job covers the whole deployment: drop --repository-id and --all-repositories") }
        case .exportBundle:
            guard repositoryIDs.isEmpty == allRepositories else { throw ValidationError("give --repository-id ID (one or more) or --all-repositories") }
        }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
    }

    struct Added: Encodable {
        let id: Int64
        let kind: JobKind
        let scope: String
        let added: Bool
    }

    func run() async throws {
        let (opened, server) = try await openServerDeployment(deployment)
        var specs: [JobSpec] = []
        switch kind {
        case .snapshot:
            specs = [try await BackupJobs.snapshot(of: opened)]
        case .exportBundle:
            let ids = allRepositories ? try await opened.database.openReadView(.latest).repositories().map(\.repositoryID) : repositoryIDs
            specs = try ids.map { try BackupJobs.exportBundle(of: $0) }
        }
        var added: [Added] = []
        for spec in specs {
            let (id, isNew) = try await server.jobQueue.enqueue(spec, maxAttempts: maxAttempts)
            added.append(Added(id: id, kind: spec.kind, scope: spec.scope, added: isNew))
        }
        try global.emit(added) {
            added.map { "job \($0.id): \($0.kind.rawValue) \($0.scope)\($0.added ? "" : " (already queued)")" }.joined(separator: "\n")
        }
    }
}

extension JobKind: ExpressibleByArgument {}

struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the deployment's jobs, oldest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Flag(help: "Only jobs queued or running.") var open = false

    func run() async throws {
        let (_, server) = try await openServerDeployment(deployment)
        let jobs = try await server.jobQueue.jobs(openOnly: open)
        try global.emit(jobs) {
            if jobs.isEmpty { return "no jobs" }
            return jobs.map { job in
                var line = "\(job.id)\t\(job.state.rawValue)\t\(job.kind.rawValue)\t\(job.scope)\tattempts \(job.attempts)/\(job.maxAttempts)"
                if let owner = job.leaseOwner { line += "\t\(owner)" }
                if let error = job.lastError { line += "\tlast error: \(error)" }
                return line
            }.joined(separator: "\n")
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run jobs from a PostgreSQL deployment's job table, sharing them with other workers.",
        discussion: """
            Each job runs on one worker at a time under a lease the worker renews every --heartbeat seconds; when a \
            worker dies, its job goes to another once the lease (--lease seconds) expires, and is redone there: every \
            job's work is idempotent, so each is done exactly once in effect. --follow-promotions also reads the event \
            stream in the consumer group `export-on-promotion` (shared by every worker that follows) and queues the next \
            bundle of each repository with a new promotion or tag. Prints one JSON line per finished job with --json. \
            docs/workers.md says more.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Option(help: "The vault snapshot jobs write to.", transform: { try StorageLocation(parsing: $0) }) var vault: StorageLocation?
    @Option(help: "Where export-bundle jobs keep each repository's chain of bundles (a folder, file:// or s3:// location).",
            transform: { try StorageLocation(parsing: $0) })
    var bundles: StorageLocation?
    @Option(help: "This worker's name in the job table; host and process id by default.") var name: String?
    @Option(help: "Seconds a claimed job stays this worker's without a heartbeat.") var lease: Double = 30
    @Option(help: "Seconds between heartbeats (at most a third of --lease is wise).") var heartbeat: Double?
    @Option(help: "Seconds between looks for a job when there is none.") var poll: Double = 1
    @Flag(help: "Exit when no job is left to claim, instead of waiting for more.") var exitWhenIdle = false
    @Flag(help: "Queue the next bundle of every repository with a new promotion or tag (needs --bundles).") var followPromotions = false

    func validate() throws {
        guard lease > 0, poll > 0 else { throw ValidationError("--lease and --poll must be positive") }
        if let heartbeat, !(heartbeat > 0 && heartbeat < lease) { throw ValidationError("--heartbeat must be positive and shorter than --lease") }
        if followPromotions && bundles == nil { throw ValidationError("--follow-promotions queues bundle exports: give --bundles") }
        if followPromotions && exitWhenIdle { throw ValidationError("--follow-promotions runs until stopped; drop --exit-when-idle") }
    }

    func run() async throws {
        let (opened, server) = try await openServerDeployment(deployment)
        let target: Vault? = if let vault { try await VaultOptions.open(vault) } else { nil }
        let bundleStore: (any ObjectStore)? = if let bundles { try await stores.open(bundles, create: true, durability: .onSynchronize) } else { nil }
        let jobs = BackupJobs(deployment: opened, vault: target, bundles: bundleStore, now: wallClock)
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        var worker = JobWorker(queue: server.jobQueue, name: workerName) { lease in try await jobs.perform(lease) }
        worker.lease = .seconds(lease)
        worker.heartbeat = .seconds(heartbeat ?? lease / 3)
        worker.poll = .seconds(poll)
        let json = global.json, exitWhenIdle = self.exitWhenIdle
        let configured = worker
        writeLine("worker \(workerName): running jobs of \(opened.location)")
        let stop = StopSignal()
        let finished = try await withThrowingTaskGroup(of: [JobWorker.Finished]?.self) { group in
            group.addTask {
                try await configured.run(exitWhenIdle: exitWhenIdle, unavailable: { failure, pause in
                    writeLine("worker \(workerName): \(failure); trying again in \(pause)")
                }) { outcome in
                    if json { printJSONLine(outcome) } else { writeLine(Self.describe(outcome)) }
                }
            }
            group.addTask {
                while !stop.isSet { try await Task.sleep(for: .milliseconds(200)) }
                return nil
            }
            if followPromotions {
                let consumers = PostgresConsumerGroup("export-on-promotion", member: workerName, database: server)
                group.addTask {
                    try await consumers.consume(lease: .seconds(lease), poll: .seconds(poll)) { events in
                        // Promotions (promoted from a child, or assigned: import-bundle, simulate --from-git) and tags
                        // are what a bundle's refs are made of.
                        let promoted = Set(events.filter { [.branchPromoted, .branchAssigned, .branchTagged].contains($0.event.type) }.compactMap(\.repositoryID))
                        for repositoryID in promoted.sorted(by: { $0.description < $1.description }) {
                            _ = try await server.jobQueue.enqueue(try BackupJobs.exportBundle(of: repositoryID), maxAttempts: 5)
                        }
                    }
                    return nil
                }
            }
            // The first to end (idle, a signal, or a failure) ends the worker; a job in hand is cancelled
            // and, its lease unrenewed, goes to another worker.
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
        if exitWhenIdle { writeLine("worker \(workerName): no job left; \(finished.count) run") }
    }

    static func describe(_ outcome: JobWorker.Finished) -> String {
        let what = "job \(outcome.jobID) (\(outcome.kind.rawValue) \(outcome.scope), attempt \(outcome.attempt))"
        return switch outcome.outcome {
        case .done: "\(what) done in \(decimal(outcome.seconds, places: 2)) s: \(outcome.result ?? "")"
        case .failed: "\(what) failed: \(outcome.error ?? ""); it will be retried unless out of attempts"
        case .leaseLost: "\(what) stopped: its lease went to another worker, which redoes it"
        }
    }
}
