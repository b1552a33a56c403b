import Foundation
import GraceModel

/// What to simulate. The same options and seed give the same deployment, byte for byte.
public struct SimulationOptions: Sendable {
    public var seed: UInt64 = 1
    public var repositories = 2
    /// Files across all repositories in the first commit.
    public var files = 400
    /// Stop after this many operations...
    public var operations: Int? = 200
    /// ...or after this many seconds of wall time, whichever comes first.
    public var durationSeconds: Double?
    /// Mean file size of the log-normal distribution (median is about 60% of it).
    public var meanFileSizeBytes = 25_000
    /// Share of binary files.
    public var binaryShare = 0.1
    /// Simulated seconds between operations, on average.
    public var secondsBetweenOperations = 900.0
    /// Real time instead: this many operations per wall-clock second, each stamped with the wall
    /// clock (the clock is set to it before each operation). For measuring a live backup.
    public var operationsPerSecond: Double?
    /// Called after each operation after the initial import returns, with its name (`save`,
    /// `promote`, ...): where a caller acknowledges the write.
    public var afterOperation: (@Sendable (String) async throws -> Void)?

    public init() {}
}

/// What a simulation did.
public struct SimulationReport: Sendable, Codable, Hashable {
    public var repositories = 0
    /// The ids of the repositories created, in order.
    public var repositoryIDs: [String] = []
    public var branches = 0
    public var operations: [String: Int] = [:]
    public var filesWritten = 0
    public var storedBytes: Int64 = 0
    public var referencesDeletedByRetention = 0
    public var simulatedStart: Instant
    public var simulatedEnd: Instant
}

/// Drives the reference writer with a realistic workload: source-like trees nested 2-6 deep,
/// log-normal file sizes, mostly text with some binaries, a few empty folders; then a flow of
/// saves, checkpoints, commits and promotions on child branches, and Grace's retention.
public struct Simulator: Sendable {
    let writer: GraceWriter
    let clock: SimulatedClock
    let options: SimulationOptions

    public init(writer: GraceWriter, clock: SimulatedClock, options: SimulationOptions) {
        self.writer = writer
        self.clock = clock
        self.options = options
    }

    /// A branch as the simulator tracks it: its id and the working tree it edits.
    struct BranchState {
        var branch: Branch
        var tree: WorkingTree
    }

    struct RepositoryState {
        var repository: Repository
        var main: Branch
        var children: [BranchState]
        var promotedTree: WorkingTree
    }

    public func run(progress: ProgressSink? = nil) async throws -> SimulationReport {
        var random = SeededGenerator(seed: options.seed)
        if options.operationsPerSecond != nil { clock.set(max(clock.now(), Instant(Date()))) }
        let content = ContentGenerator(options: options)
        var report = SimulationReport(simulatedStart: clock.now(), simulatedEnd: clock.now())
        let wallStart = ContinuousClock.now
        progress?.yield(.phaseStarted(.simulating, totalItems: options.operations.map { $0 + options.repositories }, totalBytes: nil))

        let owner = try await writer.createOwner(name: "owner-\(options.seed)")
        let organization = try await writer.createOrganization(name: "organization-\(options.seed)", owner: owner)
        var repositories: [RepositoryState] = []
        let filesPerRepository = max(1, options.files / max(1, options.repositories))
        for index in 0..<options.repositories {
            if options.operationsPerSecond != nil { clock.set(max(clock.now(), Instant(Date()))) } else { clock.advance(seconds: 60) }
            let (repository, main) = try await writer.createRepository(name: "repository-\(index + 1)", organization: organization)
            var tree = content.initialTree(files: filesPerRepository, using: &random)
            var first = BranchState(branch: try await writer.createBranch(name: "alice", parent: main.branchID), tree: tree)
            let recorded = try await writer.record(.commit, of: tree, on: first.branch.branchID, message: "Initial import")
            tree = WorkingTree(files: recorded.files.mapValues { .stored($0) }, emptyDirectories: tree.emptyDirectories)
            first.tree = tree
            _ = try await writer.promote(first.branch.branchID, message: "Initial import")
            report.storedBytes += recorded.uploadedBytes
            report.filesWritten += recorded.files.count
            let second = BranchState(branch: try await writer.createBranch(name: "bob", parent: main.branchID), tree: tree)
            repositories.append(RepositoryState(repository: repository, main: main, children: [first, second], promotedTree: tree))
            report.branches += 3
            progress?.yield(.advanced(items: 1, bytes: recorded.uploadedBytes))
        }
        report.repositories = repositories.count
        report.repositoryIDs = repositories.map(\.repository.repositoryID.description)

        var done = 0
        let paceStart = ContinuousClock.now
        while options.operations.map({ done < $0 }) ?? true {
            if let limit = options.durationSeconds, (ContinuousClock.now - wallStart) >= .seconds(limit) { break }
            if options.operations == nil && options.durationSeconds == nil { break }
            if let rate = options.operationsPerSecond {
                // Keep the schedule: an operation that ran long is followed by the next one at once.
                try await Task.sleep(until: paceStart + .seconds(Double(done) / rate), clock: .continuous)
                clock.set(max(clock.now(), Instant(Date())))
            } else {
                clock.advance(seconds: Double.random(in: 0.2...1.8, using: &random) * options.secondsBetweenOperations)
            }
            let repositoryIndex = Int.random(in: 0..<repositories.count, using: &random)
            let (name, bytes, files) = try await step(&repositories[repositoryIndex], content: content, random: &random, report: &report)
            report.operations[name, default: 0] += 1
            report.storedBytes += bytes
            report.filesWritten += files
            done += 1
            try await options.afterOperation?(name)
            if done % 50 == 0 {
                report.referencesDeletedByRetention += try await writer.applyRetention(asOf: clock.now())
            }
            progress?.yield(.advanced(items: 1, bytes: bytes))
        }
        report.referencesDeletedByRetention += try await writer.applyRetention(asOf: clock.now())
        report.simulatedEnd = clock.now()
        progress?.yield(.phaseFinished(.simulating, elapsedSeconds: (ContinuousClock.now - wallStart).seconds))
        return report
    }

    /// One operation on one repository: mostly saves, then checkpoints, commits, promotions,
    /// tags and the odd new branch.
    private func step(_ state: inout RepositoryState, content: ContentGenerator, random: inout SeededGenerator,
                      report: inout SimulationReport) async throws -> (String, Int64, Int) {
        let childIndex = Int.random(in: 0..<state.children.count, using: &random)
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.02 {
            let name = "feature-\(state.children.count - 1)"
            let branch = try await writer.createBranch(name: name, parent: state.main.branchID)
            state.children.append(BranchState(branch: branch, tree: state.promotedTree))
            report.branches += 1
            return ("branch", 0, 0)
        }
        if roll < 0.03 {
            _ = try await writer.tag(state.main.branchID, text: "v\(report.operations["tag", default: 0] + 1).0")
            return ("tag", 0, 0)
        }
        var child = state.children[childIndex]
        if roll < 0.10 {
            // Promote: bring the child up to date first if another child promoted meanwhile,
            // then commit what it has and promote that.
            let current = try await writer.rebaseIfBehind(child.branch.branchID)
            if current.rebased { child.tree = state.promotedTree }
            content.edit(&child.tree, using: &random)
            let recorded = try await writer.record(.commit, of: child.tree, on: child.branch.branchID, message: "Commit before promotion")
            child.tree.files = recorded.files.mapValues { .stored($0) }
            _ = try await writer.promote(child.branch.branchID, message: "Promotion \(report.operations["promote", default: 0] + 1)")
            state.promotedTree = child.tree
            state.children[childIndex] = child
            return ("promote", recorded.uploadedBytes, recorded.files.count)
        }
        let type: ReferenceType = roll < 0.20 ? .commit : roll < 0.32 ? .checkpoint : .save
        let changed = content.edit(&child.tree, using: &random)
        let recorded = try await writer.record(type, of: child.tree, on: child.branch.branchID, message: "\(type.rawValue) of \(changed) files")
        child.tree.files = recorded.files.mapValues { .stored($0) }
        state.children[childIndex] = child
        return (type.rawValue.lowercased(), recorded.uploadedBytes, changed)
    }
}

extension GraceWriter {
    /// Rebases `childID` when its parent has promoted since it was based.
    func rebaseIfBehind(_ childID: BranchID) async throws -> (branch: Branch, rebased: Bool) {
        let child = try await requireBranch(childID)
        guard let parentID = child.parentBranchID else { return (child, false) }
        let parent = try await requireBranch(parentID)
        if child.basedOn?.referenceID == parent.latestPromotion?.referenceID { return (child, false) }
        _ = try await rebase(childID)
        return (try await requireBranch(childID), true)
    }
}
