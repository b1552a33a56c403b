import Deflate
import Foundation
import GraceGit
import GraceModel
import GraceStorage

public struct BundleImportReport: Sendable, Codable, Hashable {
    public var repositoryID: String
    public var bundles = 0
    public var objectsVerified = 0
    /// Per branch, the commits imported (promotions on `main`, Commit references on the others).
    public var commits: [String: Int] = [:]
    public var tags: [String] = []
    /// Tags of the bundles at no commit imported as a promotion (on another branch, at a commit the
    /// repository still has, or at no commit): not made.
    public var tagsLeftOut: [String] = []
    public var filesStored = 0
    public var storedBytes: Int64 = 0
    /// Entries Grace has no word for, counted in every commit's tree that holds them: submodules are left
    /// out, symbolic links become files holding their target, executable files plain files.
    public var submodulesLeftOut = 0
    public var symbolicLinksAsFiles = 0
    public var executableBitsDropped = 0
    /// Commits exported from this repository whose reference it still has (their `Grace-Reference-Id:`
    /// trailer names it): not imported again, so re-importing a chain only adds what is missing.
    public var alreadyPresent = 0
    public var elapsedSeconds = 0.0
}

public enum BundleImportFailure: BackupFailure {
    case unreadable(file: String, detail: String)
    case missingPrerequisite(file: String, commit: String)
    case missingObject(id: String, neededBy: String, file: String)
    case unsafePath(String, commit: String)
    case noBranches(file: String)

    public var kind: FailureKind {
        switch self {
        case .unreadable, .missingObject: .integrity
        case .missingPrerequisite, .noBranches: .notFound
        case .unsafePath: .invalidInput
        }
    }

    public var description: String {
        switch self {
        case let .unreadable(file, detail): "\(file): \(detail); nothing was imported"
        case let .missingPrerequisite(file, commit):
            "\(file) builds on commit \(commit), which no bundle before it holds: give the chain from its first (full) bundle, in order; nothing was imported"
        case let .missingObject(id, neededBy, file): "\(file): object \(id), needed by \(neededBy), is in none of the bundles given; nothing was imported"
        case let .unsafePath(path, commit): "commit \(commit) holds \"\(path)\", a path Grace refuses; nothing was imported"
        case let .noBranches(file): "\(file) has no refs/heads/ branch to import"
        }
    }
}

/// Reads Git bundles (one, or a chain in order) and creates their history in a Grace repository:
/// each commit of `main` (or, without one, of its first branch by name) as a promotion, each commit of another branch
/// as a Commit reference on a child branch of that name, each tag as a Tag reference. Every bundle is
/// read whole first, its pack checksum and every object id checked, so a damaged bundle imports nothing.
public struct BundleImporter: Sendable {
    public let writer: GraceWriter
    public let deployment: Deployment
    public let clock: SimulatedClock

    public init(deployment: Deployment, writer: GraceWriter, clock: SimulatedClock) {
        self.deployment = deployment
        self.writer = writer
        self.clock = clock
    }

    /// The bundles, read and checked.
    struct Chain {
        var packs: [GitPackReader] = []
        var refs: [String: GitObjectID] = [:]

        func object(_ id: GitObjectID) throws -> (type: GitObjectType, content: [UInt8])? {
            for pack in packs.reversed() { if let found = try pack.object(id) { return found } }
            return nil
        }

        func type(of id: GitObjectID) -> GitObjectType? {
            packs.lazy.compactMap { $0.type(of: id) }.first
        }

        /// The pack that holds `id` whole when it is too large to hold in memory (`GitLargeObject`).
        func packHoldingLarge(_ id: GitObjectID) -> GitPackReader? {
            packs.last { ($0.wholeSize(of: id) ?? 0) >= GitLargeObject.bytes }
        }
    }

    static func read(_ files: [URL]) throws -> Chain {
        var chain = Chain()
        for file in files {
            let data: Data
            do {
                data = try Data(contentsOf: file, options: .alwaysMapped)
            } catch {
                throw BundleImportFailure.unreadable(file: file.path, detail: "cannot be read: \(error.localizedDescription)")
            }
            do {
                let (header, packOffset) = try GitBundleHeader.parse(data)
                for prerequisite in header.prerequisites where try chain.object(prerequisite.id) == nil {
                    throw BundleImportFailure.missingPrerequisite(file: file.path, commit: prerequisite.id.hex)
                }
                let earlier = chain
                let pack = try GitPackReader(bytes: data[(data.startIndex + packOffset)...]) { id in try earlier.object(id) }
                chain.packs.append(pack)
                for reference in header.references { chain.refs[reference.name] = reference.id }
            } catch let failure as GitFormatError {
                throw BundleImportFailure.unreadable(file: file.path, detail: failure.description)
            } catch let failure as DeflateError {
                throw BundleImportFailure.unreadable(file: file.path, detail: "an object does not inflate: \(failure)")
            }
        }
        return chain
    }

    /// Where an import goes: a repository the deployment has, or one it creates (with an owner and an
    /// organization of the same name) once every bundle has been read and checked.
    public enum Target: Sendable {
        case repository(RepositoryID)
        case newRepository(name: String)
    }

    public func run(bundles paths: [URL], into target: Target, progress: ProgressSink? = nil) async throws -> BundleImportReport {
        let started = ContinuousClock.now
        let chain = try Self.read(paths)
        var report = BundleImportReport(repositoryID: "", bundles: paths.count)
        report.objectsVerified = chain.packs.reduce(0) { $0 + $1.objectIDs.count }
        let heads = chain.refs.filter { $0.key.hasPrefix("refs/heads/") }
        guard !heads.isEmpty else { throw BundleImportFailure.noBranches(file: paths.last!.path) }
        let mainName = heads["refs/heads/main"] != nil ? "main" : heads.keys.sorted()[0].dropFirst("refs/heads/".count).description

        // Everything is read before anything is written: a missing or malformed object stops the import here.
        var histories: [(branch: String, commits: [(id: GitObjectID, commit: GitCommit.Parsed, tree: WorkingTreeFiles)])] = []
        var tagsByCommit: [GitObjectID: [String]] = [:]
        do {
            var onMain: Set<GitObjectID> = []
            for (name, tip) in heads.sorted(by: { ($0.key == "refs/heads/\(mainName)" ? 0 : 1, $0.key) < ($1.key == "refs/heads/\(mainName)" ? 0 : 1, $1.key) }) {
                var commits: [(id: GitObjectID, commit: GitCommit.Parsed, tree: WorkingTreeFiles)] = []
                var next: GitObjectID? = tip
                while let id = next, !onMain.contains(id) {
                    guard let (type, content) = try chain.object(id), type == .commit else {
                        throw BundleImportFailure.missingObject(id: id.hex, neededBy: name, file: paths.last!.path)
                    }
                    let commit = try GitCommit.parse(content)
                    commits.append((id, commit, try treeFiles(of: commit.tree, commit: id, chain: chain, file: paths.last!.path, report: &report)))
                    next = commit.parents.first
                }
                let branch = String(name.dropFirst("refs/heads/".count))
                if branch == mainName { onMain = Set(commits.map(\.id)) }
                histories.append((branch, commits.reversed()))
            }
            for (name, id) in chain.refs where name.hasPrefix("refs/tags/") {
                tagsByCommit[try Self.peeled(id, in: chain), default: []].append(String(name.dropFirst("refs/tags/".count)))
            }
        } catch let failure as GitFormatError {
            throw BundleImportFailure.unreadable(file: paths.last!.path, detail: failure.description)
        }

        let repositoryID: RepositoryID
        switch target {
        case let .repository(id):
            repositoryID = id
        case let .newRepository(name):
            let owner = try await writer.createOwner(name: name)
            let organization = try await writer.createOrganization(name: name, owner: owner)
            repositoryID = try await writer.createRepository(name: name, organization: organization).0.repositoryID
        }
        report.repositoryID = repositoryID.description
        let view = try await deployment.database.openReadView(.latest)
        guard let repository = try await view.repository(repositoryID) else {
            throw BundleExportFailure.repositoryNotFound(repositoryID, location: deployment.location.description)
        }
        let branches = try await view.branches(in: repository.repositoryID)
        guard let main = branches.first(where: { $0.branchName == repository.defaultBranchName }) else {
            throw BundleExportFailure.branchNotFound(repository.defaultBranchName, available: branches.map(\.branchName))
        }
        var known: [String: FileVersion] = [:]  // "<blob id> <path>" → the file version stored for it
        let present = Dictionary(try await view.references(in: repository.repositoryID).filter { $0.deletedAt == nil }.map { ($0.referenceID.description, $0) },
                                 uniquingKeysWith: { first, _ in first })
        progress?.yield(.phaseStarted(.importingBundle, totalItems: histories.reduce(0) { $0 + $1.commits.count }, totalBytes: nil))
        for (branchName, commits) in histories {
            let isMain = branchName == mainName
            var branchID = main.branchID
            if !isMain {
                guard !commits.isEmpty else { continue }
                if let existing = branches.first(where: { $0.branchName == branchName }) {
                    branchID = existing.branchID
                } else {
                    branchID = try await writer.createBranch(name: branchName, parent: main.branchID).branchID
                }
            }
            for (id, commit, treeFiles) in commits {
                if let referenceID = Self.graceReferenceID(in: commit.message), let reference = present[referenceID] {
                    // Exported from here and still here: its files are this reference's, which later commits reuse.
                    let stored = try await Self.files(under: reference.directoryID, in: view)
                    for (path, blob) in treeFiles { if let version = stored[path] { known["\(blob.hex) \(path)"] = version } }
                    report.alreadyPresent += 1
                    progress?.yield(.advanced(items: 1, bytes: 0))
                    continue
                }
                // Grace stamps references when it records them, so they are stamped in the order recorded, at the
                // commit's author time where that is later than the reference before (it is not, when importing
                // history made before the import started: the import's own time then).
                let authorTime = commit.authorSeconds.map { Instant(secondsSinceEpoch: $0) } ?? clock.now()
                clock.set(max(authorTime, clock.now().adding(seconds: 0.001)))
                // Each new content is stored as it is read, so that one content at a time is held, not a commit's.
                var tree = WorkingTree()
                var uploaded: Int64 = 0
                for (path, blob) in treeFiles {
                    if let stored = known["\(blob.hex) \(path)"] {
                        tree.files[path] = .stored(stored)
                        continue
                    }
                    let (version, bytes): (FileVersion, Int64)
                    if let pack = chain.packHoldingLarge(blob) {
                        (version, bytes) = try await writer.store(at: path, in: repositoryID) { piece in _ = try pack.streamContent(of: blob, piece) }
                    } else {
                        guard let (_, content) = try chain.object(blob) else {
                            throw BundleImportFailure.missingObject(id: blob.hex, neededBy: "commit \(id.hex)", file: paths.last!.path)
                        }
                        (version, bytes) = try await writer.store(content, at: path, in: repositoryID)
                    }
                    known["\(blob.hex) \(path)"] = version
                    tree.files[path] = .stored(version)
                    uploaded += bytes
                }
                let message = Self.messageWithoutGraceTrailer(commit.message)
                let recorded = isMain ? try await writer.assign(tree, to: branchID, message: message)
                    : try await writer.record(.commit, of: tree, on: branchID, message: message)
                report.filesStored += recorded.files.count
                report.storedBytes += uploaded
                report.commits[branchName, default: 0] += 1
                if isMain {
                    for tag in (tagsByCommit[id] ?? []).sorted() {
                        _ = try await writer.tag(branchID, text: tag)
                        report.tags.append(tag)
                    }
                }
                progress?.yield(.advanced(items: 1, bytes: uploaded))
            }
        }
        report.tagsLeftOut = Set(tagsByCommit.values.joined()).subtracting(report.tags).sorted()
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        progress?.yield(.phaseFinished(.importingBundle, elapsedSeconds: report.elapsedSeconds))
        return report
    }

    typealias WorkingTreeFiles = [(path: String, blob: GitObjectID)]

    /// Every file below `tree`, by repository-relative path; submodules are left out.
    private func treeFiles(of tree: GitObjectID, commit: GitObjectID, chain: Chain, file: String, report: inout BundleImportReport) throws -> WorkingTreeFiles {
        var result: WorkingTreeFiles = []
        var pending: [(id: GitObjectID, prefix: String)] = [(tree, "")]
        while let (id, prefix) = pending.popLast() {
            guard let (type, content) = try chain.object(id), type == .tree else {
                throw BundleImportFailure.missingObject(id: id.hex, neededBy: "commit \(commit.hex)", file: file)
            }
            for entry in try GitTree.decode(content) {
                let path = prefix + String(decoding: entry.name, as: UTF8.self)
                switch entry.mode {
                case .directory: pending.append((entry.id, path + "/"))
                case .submodule: report.submodulesLeftOut += 1
                case .file, .executable, .symlink:
                    if entry.mode == .symlink { report.symbolicLinksAsFiles += 1 }
                    if entry.mode == .executable { report.executableBitsDropped += 1 }
                    do {
                        try SafePath.validate(path, for: .filesystem)
                    } catch {
                        throw BundleImportFailure.unsafePath(path, commit: commit.hex)
                    }
                    // Checked here, before anything is written, not when the content is stored.
                    guard chain.type(of: entry.id) == .blob else {
                        throw BundleImportFailure.missingObject(id: entry.id.hex, neededBy: "\(path) in commit \(commit.hex)", file: file)
                    }
                    result.append((path, entry.id))
                }
            }
        }
        return result
    }

    /// An annotated tag's commit (through tags of tags); any other object as it is.
    /// Ends: a tag's id hashes the id it names, so tags cannot name each other in a loop.
    static func peeled(_ id: GitObjectID, in chain: Chain) throws -> GitObjectID {
        var id = id
        while chain.type(of: id) == .tag, let (_, content) = try chain.object(id) { id = try GitAnnotatedTag.target(content) }
        return id
    }

    static func graceReferenceID(in message: String) -> String? {
        message.split(separator: "\n").last { $0.hasPrefix("Grace-Reference-Id: ") }.map { String($0.dropFirst("Grace-Reference-Id: ".count)) }
    }

    /// Every file version below a root directory version, by path.
    static func files(under root: DirectoryVersionID, in view: any GraceReadView) async throws -> [String: FileVersion] {
        var files: [String: FileVersion] = [:]
        var pending = [root]
        while let id = pending.popLast() {
            guard let directory = try await view.directoryVersion(id) else { continue }
            pending += directory.directories
            for file in directory.files { files[file.relativePath] = file }
        }
        return files
    }

    /// A commit message without the `Grace-Reference-Id:` trailer an export added: the import makes new references.
    static func messageWithoutGraceTrailer(_ message: String) -> String {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.isEmpty || last.hasPrefix("Grace-Reference-Id: ") { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}
