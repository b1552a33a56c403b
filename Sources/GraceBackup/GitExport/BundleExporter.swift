import Deflate
import Foundation
import GraceGit
import GraceModel
import GraceStorage

/// What to export.
public struct BundleExportRequest: Sendable {
    public var repositoryID: RepositoryID
    /// Branch names; nil exports every branch that has a promotion.
    public var branches: [String]?
    /// Also each child branch's Commit references, as a chain based on the promotion it started from.
    public var includeCommits = false

    public init(repositoryID: RepositoryID, branches: [String]? = nil, includeCommits: Bool = false) {
        self.repositoryID = repositoryID
        self.branches = branches
        self.includeCommits = includeCommits
    }
}

/// What a receiver already has from earlier exports: the next bundle lists their tips as
/// prerequisites and leaves their objects out. Kept in the export catalog.
public struct ExportBase: Sendable {
    public struct Tree: Sendable, Hashable {
        /// nil for a directory with no file anywhere below it: left out of its parent.
        public var id: GitObjectID?
        public var name: String
    }

    /// Ref name → commit, in hexadecimal as reports show them.
    public var refs: [String: String] = [:]
    // The maps below hold the entries added or changed since the state was last written whole
    // (`written`), or, without it, every entry. Look entries up through `commit(of:)` and the others.
    /// Grace reference id → the commit made of it. Ids, not their text: a long history's state holds
    /// tens of thousands of these keys and of the trees', each a string on the heap, read on every export.
    public var commits: [ReferenceID: GitObjectID] = [:]
    /// A file content's SHA-256 (Grace's) → its blob.
    public var blobs: [String: GitObjectID] = [:]
    /// A directory version's id → its tree.
    public var trees: [DirectoryVersionID: Tree] = [:]
    /// A content's SHA-256 → the Adler-32 of its bytes, for contents the pack holds as Grace's deflate
    /// data (text) or in stored blocks (a binary that does not compress): with it, the stored bytes become
    /// a zlib stream without decompressing or hashing them (a warm full export).
    public var adlers: [String: UInt32] = [:]
    /// Objects the receiver has that the maps above do not name (read from a previous bundle).
    public var otherObjects: [GitObjectID] = []
    /// Object → the number of the newest catalog bundle whose pack holds it. Empty in a base read
    /// from a bundle file, and in states written before it was kept.
    public var holders: [GitObjectID: Int] = [:]
    /// The state as last written whole (version 3), searched where it lies: an export looks up a few
    /// of its entries, and reading them all into the maps cost more than the rest of a long history's
    /// incremental export. Nil for a base read from an older state or a bundle, or grown from nothing.
    var written: WrittenState?
    /// The keys changed since the catalog's state was last written whole, while they are counted: the
    /// next state is then written as those changes (`ExportCatalog.append`). Nil when the next state
    /// must be written whole: a base not read from a catalog, or one a full export starts from.
    var changed: ChangedKeys?

    /// Keys of the maps above, each changed at least once since a state written whole.
    struct ChangedKeys: Sendable {
        var commits = Set<ReferenceID>(), blobs = Set<String>(), trees = Set<DirectoryVersionID>(), holders = Set<GitObjectID>()

        var count: Int { commits.count + blobs.count + trees.count + holders.count }
    }

    public init() {}

    /// A base whose every entry but its refs and other objects is in `written`.
    init(written: WrittenState, refs: [String: String], otherObjects: [GitObjectID]) {
        self.written = written
        self.refs = refs
        self.otherObjects = otherObjects
    }

    /// How many entries the state has, `R` lines aside: what its changes are weighed against. With
    /// `written`, the entries changed since are counted as if new (they are few; a bound is enough).
    var entryCount: Int {
        (written?.entryCount ?? 0) + commits.count + blobs.count + trees.count + holders.count + otherObjects.count
    }

    // Entries are looked up through these: in the maps, then in the state as written.

    func commit(of reference: ReferenceID) -> GitObjectID? {
        if let id = commits[reference] { return id }
        // Looked up for every reference an export walks: only the commit is read, not the key again.
        return written?.value(of: UInt8(ascii: "C"), key: reference) { GitObjectID(hexUTF8: $0) }
    }

    /// A content's blob and, when kept, its Adler-32.
    func blob(of sha256: String) -> (id: GitObjectID, adler: UInt32?)? {
        if let id = blobs[sha256] { return (id, adler(of: sha256)) }
        return writtenBlob(sha256)
    }

    private func adler(of sha256: String) -> UInt32? {
        adlers[sha256] ?? writtenBlob(sha256)?.adler
    }

    func writtenBlob(_ sha256: String) -> (id: GitObjectID, adler: UInt32?)? {
        written?.entry(of: UInt8(ascii: "B"), key: sha256).flatMap { if case .blob(_, let id, let adler) = $0 { (id, adler) } else { nil } }
    }

    func tree(of directory: DirectoryVersionID) -> Tree? {
        if let tree = trees[directory] { return tree }
        return written?.entry(of: UInt8(ascii: "T"), key: directory).flatMap { if case .tree(_, let tree) = $0 { tree } else { nil } }
    }

    func holder(of id: GitObjectID) -> Int? {
        if let bundle = holders[id] { return bundle }
        return written?.value(of: UInt8(ascii: "H"), key: id) { field in
            ExportBase.number(field, radix: 10, maxDigits: 18).flatMap { $0 > 0 ? Int($0) : nil }
        }
    }

    /// Every holder: those of the maps, then those written that the maps do not replace.
    func forEachHolder(_ body: (GitObjectID, Int) -> Void) {
        for (id, bundle) in holders { body(id, bundle) }
        written?.forEachEntry(of: UInt8(ascii: "H")) { entry in
            if case .holder(let id, let bundle) = entry, holders[id] == nil { body(id, bundle) }
        }
    }

    /// Every commit made of a reference.
    var allCommits: [GitObjectID] {
        var ids = Array(commits.values)
        written?.forEachEntry(of: UInt8(ascii: "C")) { entry in
            if case .commit(let reference, let id) = entry, commits[reference] == nil { ids.append(id) }
        }
        return ids
    }

    /// This base with every entry in the maps and none written: what it holds, whatever form.
    func materialized() -> ExportBase {
        guard let written else { return self }
        var whole = self
        whole.written = nil
        written.forEachEntry(of: nil) { entry in
            switch entry {
            case .commit(let reference, let id): if commits[reference] == nil { whole.commits[reference] = id }
            case .blob(let sha256, let id, let adler):
                if blobs[sha256] == nil { whole.blobs[sha256] = id }
                if adlers[sha256] == nil, let adler { whole.adlers[sha256] = adler }
            case .tree(let directory, let tree): if trees[directory] == nil { whole.trees[directory] = tree }
            case .holder(let id, let bundle): if holders[id] == nil { whole.holders[id] = bundle }
            case .ref, .other: break
            }
        }
        return whole
    }

    /// After the state was written whole as `text` (`lines()`): a base searched in place searches that
    /// text now, its maps empty again; one held in maps (a follower's, `CatalogTip.heldInMaps`) stays so.
    mutating func wroteWhole(_ text: [UInt8]) {
        changed = ChangedKeys()
        guard self.written != nil else { return }
        guard let written = WrittenState(text) else { preconditionFailure("a state written whole reads back") }
        self.written = written
        commits = [:]; blobs = [:]; trees = [:]; adlers = [:]; holders = [:]
    }

    // The maps change through these during an export, so that the changes are counted.

    mutating func record(commit id: GitObjectID, of reference: ReferenceID) {
        commits[reference] = id
        changed?.commits.insert(reference)
    }

    mutating func record(blob id: GitObjectID, adler: UInt32?, of sha256: String) {
        blobs[sha256] = id
        // An Adler-32 is the content's, whatever its encoding: one known stays.
        if let adler = adler ?? (written != nil ? writtenBlob(sha256)?.adler : nil) { adlers[sha256] = adler }
        changed?.blobs.insert(sha256)
    }

    mutating func record(tree: Tree, of directory: DirectoryVersionID) {
        trees[directory] = tree
        changed?.trees.insert(directory)
    }

    mutating func record(holder bundle: Int, of id: GitObjectID) {
        holders[id] = bundle
        changed?.holders.insert(id)
    }

    /// Every object the receiver has.
    var objects: Set<GitObjectID> {
        let whole = materialized()
        var ids = Set(whole.otherObjects)
        ids.formUnion(whole.commits.values)
        ids.formUnion(whole.blobs.values)
        for tree in whole.trees.values { if let id = tree.id { ids.insert(id) } }
        return ids
    }

    /// The objects an incremental export may leave out: those held by the chain's newest full
    /// bundle (`lastFull`) or a bundle after it, so that a full bundle and the incrementals after it
    /// hold every object they need, and can be restored, or copied into one bundle, without the
    /// bundles before. Every object when that full bundle's holdings are not recorded.
    func known(forChainFrom lastFull: Int?) -> KnownObjects {
        guard let lastFull, holds(bundle: lastFull) else { return KnownObjects(objects) }
        return KnownObjects(heldFrom: lastFull)
    }

    /// Whether some object is recorded as held by bundle `number`.
    func holds(bundle number: Int) -> Bool {
        holders.values.contains(number) || (written?.holds(bundle: number) ?? false)
    }
}

public struct BundleExportReport: Sendable, Codable, Hashable {
    public var repositoryID: String
    public var position: Int64 = 0
    public var full = true
    public var prerequisites: [String] = []
    public var refs: [String: String] = [:]
    public var newCommits = 0
    public var objects = 0
    public var blobs = 0
    public var trees = 0
    public var deltas = 0
    /// Objects copied whole from earlier bundles of the catalog (counted in `objects`, not in `blobs` or `trees`).
    public var copiedObjects = 0
    public var bundleBytes: Int64 = 0
    /// The SHA-256 of the whole bundle file, lowercase hexadecimal; empty when nothing was written.
    public var bundleSHA256 = ""
    /// Tag references with no promotion of the same root before them: Git has nothing to point them at.
    public var tagsLeftOut: [String] = []
    /// Refs whose names were changed to be valid Git ref names.
    public var renamedRefs: [String: String] = [:]
    public var elapsedSeconds = 0.0
    /// Nothing new since the previous export: no bundle was written.
    public var nothingNew: Bool { !full && objects == 0 && refs.isEmpty }
}

public enum BundleExportFailure: BackupFailure {
    case repositoryNotFound(RepositoryID, location: String)
    case branchNotFound(String, available: [String])
    /// The branch has no promotion (nor, with `--include commits`, commit) to make a commit of.
    case nothingToExport(branch: String, hasCommits: Bool)
    case unsafeName(String, directory: String)
    case missingObject(key: String, path: String, location: String)
    case objectDoesNotMatch(key: String, path: String, detail: String)
    case missingDirectory(id: String, referencedBy: String)
    /// The bundle `--since` names does not read as one.
    case previousBundleDamaged(file: String, detail: String)

    public var kind: FailureKind {
        switch self {
        case .repositoryNotFound, .branchNotFound, .nothingToExport: .notFound
        case .unsafeName: .invalidInput
        case .missingObject, .objectDoesNotMatch, .missingDirectory, .previousBundleDamaged: .integrity
        }
    }

    public var description: String {
        switch self {
        case let .repositoryNotFound(id, location): "repository \(id) is not in \(location)"
        case let .branchNotFound(name, available): "branch \"\(name)\" does not exist; the repository has \(available.joined(separator: ", "))"
        case let .nothingToExport(branch, hasCommits):
            "branch \"\(branch)\" has no promotions to export" + (hasCommits ? "; --include commits exports its commits" : "")
        case let .unsafeName(name, directory): "\"\(name)\" in the directory \"\(directory)\" is not a name Git can hold (\".\", \"..\", \".git\" or a name Windows or macOS opens as \".git\", a NUL byte, or a path not directly in that directory, whose name would hold a \"/\"); nothing was written"
        case let .missingObject(key, path, location): "the content of \(path) is missing: \(key) is not in \(location); nothing was written"
        case let .objectDoesNotMatch(key, path, detail): "the content of \(path) at \(key) \(detail); nothing was written"
        case let .missingDirectory(id, referencedBy): "directory version \(id), named by \(referencedBy), is not in the database; nothing was written"
        case let .previousBundleDamaged(file, detail): "\(file), the bundle to build on, does not read as a bundle: \(detail); nothing was written"
        }
    }
}

/// Entries of earlier bundles a full bundle holds copied whole, as `git repack` reuses packed
/// objects: a catalog's chain from its newest full bundle on (`ExportCatalog`).
public struct ReusedEntries: Sendable {
    /// Every object the entries hold; the bundle leaves them out of what it writes.
    public var objects: Set<GitObjectID>
    /// Those that are commits: everything else in the entries hangs off one of them.
    public var commits: Set<GitObjectID>
    public var count: Int
    public var bytes: Int64
    /// Writes the entries, `bytes` long, into the file at an offset.
    public var write: @Sendable (_ descriptor: Int32, _ offset: UInt64) async throws -> Void

    public init(objects: Set<GitObjectID>, commits: Set<GitObjectID>, count: Int, bytes: Int64,
                write: @escaping @Sendable (_ descriptor: Int32, _ offset: UInt64) async throws -> Void) {
        self.objects = objects
        self.commits = commits
        self.count = count
        self.bytes = bytes
        self.write = write
    }
}

/// A reused commit is no longer reachable (a branch was deleted, or exported with other options):
/// the bundle would hold objects it should not, so it is written again without reusing.
public struct ReusedEntriesUnreachable: Error {}

/// Exports a Grace repository as a Git bundle: promotions become commits, directory versions
/// trees, file versions blobs (docs/git-mapping.md). Deterministic: the same history gives the same
/// object ids, so each export can build on the last. Memory stays bounded by the directory versions
/// of a window of promotions, not by the history's length or its contents: the pack streams into the
/// destination, a content of `GitLargeObject.bytes` or more streams through it (`StreamedContent`), and
/// a delta's base is kept from its own preparation only within a budget (`DeltaBaseContents`), else
/// read again from object storage. (The ids of what
/// was exported, kept for the next export, grow with the repository: about a hundred bytes an object.)
public struct BundleExporter: Sendable {
    public let deployment: Deployment
    /// A delta chain longer than this is cut with a whole object, as `git pack-objects --depth`.
    var maxDeltaDepth = 50
    /// Contents are prepared in batches of about this many bytes, a task each: most contents are a few
    /// KB, and waking a thread for each cost more than a content's own work.
    var batchBytes: Int64 = 1 << 20
    /// A window whose new contents make less than four `batchBytes` is cut into four batches, none
    /// smaller than this: a long history's window of 64 promotions of a few small files each was one
    /// batch, and its contents were prepared on one core while the others waited.
    var smallestBatchBytes: Int64 = 64 << 10
    /// How many references' directory versions an export reads ahead and holds at once.
    var directoryWindow = 64
    /// A content this large or larger is streamed into the pack, never held whole, and stored without
    /// a delta (`StreamedContent`), as git does past `core.bigFileThreshold`. Git's is 512 MiB; this is
    /// lower because up to `ObjectBuilder.concurrency` batches of contents are prepared at once, each
    /// content held whole with its stored bytes and delta.
    var streamedContentBytes = Int64(GitLargeObject.bytes)

    public init(deployment: Deployment) { self.deployment = deployment }

    /// Writes the bundle to `destination` and returns what it holds and the base the next export builds on.
    /// With `full`, the bundle holds everything (no prerequisites) and `base` serves only as a cache of
    /// ids, which spares reading most contents again.
    /// `destination` must be open for reading and writing (`FileHandle(forUpdating:)`) and empty.
    ///
    /// In a catalog, `number` is the bundle's number in its chain (recorded as the holder of each
    /// object the bundle holds) and `lastFull` the chain's newest full bundle (see
    /// `ExportBase.known(forChainFrom:)`). A full bundle `reusing` entries of earlier bundles holds
    /// them copied whole and writes only what they lack; it throws `ReusedEntriesUnreachable`, having
    /// written a part, when one of their commits is no longer reachable (the caller starts again without).
    ///
    /// `base` is taken, not borrowed: the export adds to its maps in place, and a caller that kept
    /// them would have each copied whole (tens of thousands of entries) by the first addition.
    public func export(_ request: BundleExportRequest, base: consuming ExportBase?, full: Bool = false, number: Int? = nil, lastFull: Int? = nil,
                       reusing: ReusedEntries? = nil, destination: FileHandle,
                       progress: ProgressSink? = nil) async throws -> (report: BundleExportReport, next: ExportBase) {
        precondition(reusing == nil || full, "only a full bundle reuses entries")
        let started = ContinuousClock.now
        let view = try await deployment.database.openReadView(.snapshot)
        guard let repository = try await view.repository(request.repositoryID) else {
            throw BundleExportFailure.repositoryNotFound(request.repositoryID, location: deployment.location.description)
        }
        let branches = try await view.branches(in: repository.repositoryID).filter { $0.deletedAt == nil }
        let references = try await view.referenceSummaries(in: repository.repositoryID, ofTypes: [.promotion, .tag] + (request.includeCommits ? [.commit] : []))
            .filter { $0.deletedAt == nil }
        let owner = try await view.owners().first { $0.ownerID == repository.ownerID }
        var selected = branches
        if let names = request.branches {
            selected = try names.map { name in
                guard let branch = branches.first(where: { $0.branchName == name }) else {
                    throw BundleExportFailure.branchNotFound(name, available: branches.map(\.branchName).sorted())
                }
                return branch
            }
        }
        // Each branch's references of each type in the order they were made, sorted once: the walk asks often.
        let inOrder = references.sorted { ($0.createdAt, $0.referenceID) < ($1.createdAt, $1.referenceID) }
        let byBranchAndType = Dictionary(grouping: inOrder) { BranchAndType(branch: $0.branchID, type: $0.referenceType) }
        func ordered(_ type: ReferenceType, on branch: Branch) -> [ReferenceSummary] {
            byBranchAndType[BranchAndType(branch: branch.branchID, type: type)] ?? []
        }
        // A branch asked for by name that would give no ref is refused, as `git bundle create` refuses an
        // empty bundle; --all-branches passes over such branches.
        if request.branches != nil, let empty = selected.first(where: { branch in
            ordered(.promotion, on: branch).isEmpty && !(request.includeCommits && branch.parentBranchID != nil && !ordered(.commit, on: branch).isEmpty)
        }) {
            // Without --include commits no commit was read: one more read, on the way out, says whether to suggest it.
            let commits = request.includeCommits ? [] : try await view.referenceSummaries(in: repository.repositoryID, ofTypes: [.commit])
            throw BundleExportFailure.nothingToExport(branch: empty.branchName, hasCommits: commits.contains { $0.branchID == empty.branchID && $0.deletedAt == nil })
        }
        var report = BundleExportReport(repositoryID: repository.repositoryID.description, position: view.position.sequence, full: base == nil || full)
        progress?.yield(.phaseStarted(.exportingBundle, totalItems: nil, totalBytes: nil))

        // The refs first, each naming the Grace reference whose commit it will point at: the bundle's
        // header then has a known length and goes before the pack, which is written in place.
        // In the order they were made, so that a ref keeps its name as later ones come (GitRefName.uniqueNames).
        var planned: [(prefix: String, name: String, reference: ReferenceID)] = []
        var tags: [(tag: ReferenceSummary, promotion: ReferenceID)] = []
        for branch in selected.sorted(by: { ($0.createdAt, $0.branchID) < ($1.createdAt, $1.branchID) }) {
            let promotions = ordered(.promotion, on: branch)
            if let last = promotions.last { planned.append(("refs/heads/", branch.branchName, last.referenceID)) }
            if request.includeCommits, branch.parentBranchID != nil, promotions.isEmpty, let last = ordered(.commit, on: branch).last {
                planned.append(("refs/heads/", branch.branchName, last.referenceID))
            }
            for tag in ordered(.tag, on: branch) {
                guard let promotion = promotions.last(where: { $0.createdAt <= tag.createdAt && $0.directoryID == tag.directoryID }) else {
                    report.tagsLeftOut.append(tag.referenceText)
                    continue
                }
                tags.append((tag, promotion.referenceID))
            }
        }
        // A later tag of the same text wins, as a moved tag would.
        planned += tags.sorted { ($0.tag.createdAt, $0.tag.referenceID) < ($1.tag.createdAt, $1.tag.referenceID) }
            .map { ("refs/tags/", $0.tag.referenceText, $0.promotion) }
        var named: [String: ReferenceID] = [:]
        var defaultBranchRef: String?
        for ((prefix, name, reference), ref) in zip(planned, GitRefName.uniqueNames(for: planned.map { ($0.prefix, $0.name) })) {
            if ref != prefix + name { report.renamedRefs[prefix + name] = ref }
            named[ref] = reference
            if prefix == "refs/heads/" && name == repository.defaultBranchName { defaultBranchRef = ref }
        }
        // HEAD names the default branch, as `git bundle create --all` does, so a clone checks it out; without
        // it, the one branch exported (`git clone` of a bundle with no HEAD checks nothing out).
        let branchRefs = named.keys.filter { $0.hasPrefix("refs/heads/") }
        if let head = defaultBranchRef ?? (branchRefs.count == 1 ? branchRefs.first : nil) { named["HEAD"] = named[head] }
        // The receiver has every earlier tip; Git needs those the new commits build on, and the rest cost a line.
        let baseRefs = base?.refs ?? [:]
        let prerequisites = full ? [] : Set(baseRefs.values.compactMap { GitObjectID(hex: $0) }).sorted()
        report.prerequisites = prerequisites.map(\.hex)
        func header(_ ids: [String: GitObjectID]) -> [UInt8] {
            GitBundleHeader(prerequisites: prerequisites.map { .init(id: $0, comment: "") },
                            references: named.keys.sorted().map { .init(id: ids[$0] ?? GitObjectID(bytes: Array(repeating: 0, count: 20)), name: $0) }).encode()
        }
        let placeholder = header([:])
        try destination.write(contentsOf: placeholder)
        let writer = try GitPackWriter(writingTo: destination, reserving: reusing.map { ($0.bytes, $0.count) } ?? (0, 0))
        let known = if let reusing { KnownObjects(reusing.objects) } else if full { KnownObjects([]) } else { base?.known(forChainFrom: lastFull) ?? KnownObjects([]) }
        let fromNothing = base == nil
        // A full bundle's state is written whole: counting its changes would be work for nothing.
        let builder = ObjectBuilder(view: view, objects: deployment.objects, repositoryID: repository.repositoryID, pack: writer, base: (consume base) ?? ExportBase(),
                                    countingChanges: !full, known: known, number: number, maxDeltaDepth: maxDeltaDepth,
                                    batchBytes: min(batchBytes, smallestBatchBytes)...batchBytes, streamedContentBytes: streamedContentBytes,
                                    progress: progress)

        // Promotions, oldest first, chained per branch; a child branch's commits hang off the promotion it
        // started from, so that promotion and those before it on the child's parent are chained too.
        var promotionCommits: [ReferenceID: GitObjectID] = [:]
        let children = request.includeCommits ? selected.filter { $0.parentBranchID != nil && ordered(.promotion, on: $0).isEmpty } : []
        // Each branch's promotions make a chain of their own, so only a child's parent is reached from its
        // commits: a parent not asked for is chained up to the newest promotion a child started from.
        let selectedIDs = Set(selected.map(\.branchID))
        var startingPoints: [BranchID: Set<ReferenceID>] = [:]
        for child in children {
            guard let parentID = child.parentBranchID, !selectedIDs.contains(parentID), let start = child.basedOn?.referenceID else { continue }
            startingPoints[parentID, default: []].insert(start)
        }
        func chainedPromotions(of branch: Branch) -> ArraySlice<ReferenceSummary> {
            let promotions = ordered(.promotion, on: branch)
            guard !selectedIDs.contains(branch.branchID) else { return promotions[...] }
            let starts = startingPoints[branch.branchID] ?? []
            return promotions[..<((promotions.lastIndex { starts.contains($0.referenceID) }).map { $0 + 1 } ?? 0)]
        }
        let chained = branches.filter { selectedIDs.contains($0.branchID) || startingPoints[$0.branchID] != nil }
            .sorted { ($0.parentBranchID == nil ? 0 : 1, $0.branchName) < ($1.parentBranchID == nil ? 0 : 1, $1.branchName) }
        // Directory versions are read ahead for a window of references at a time (a query per level of
        // the repository across the window), and forgotten after it: a long history's would not fit.
        let walk = chained.flatMap { chainedPromotions(of: $0) } + children.flatMap { ordered(.commit, on: $0) }
        var walked = 0
        func commit(for reference: ReferenceSummary, parent: GitObjectID?) async throws -> GitObjectID {
            if walked % directoryWindow == 0 {
                try await builder.prepareWindow(Array(walk[walked..<min(walked + directoryWindow, walk.count)]))
            }
            walked += 1
            return try await builder.commit(for: reference, parent: parent, owner: owner)
        }
        for branch in chained {
            var parent: GitObjectID?
            for promotion in chainedPromotions(of: branch) {
                parent = try await commit(for: promotion, parent: parent)
                promotionCommits[promotion.referenceID] = parent
            }
        }
        for branch in children {
            var parent = branch.basedOn.flatMap { promotionCommits[$0.referenceID] }
            for reference in ordered(.commit, on: branch) { parent = try await commit(for: reference, parent: parent) }
        }

        try await builder.writePlannedContents()
        // Every reused object hangs off a reused commit: those commits still reachable, so is everything reused.
        if let reusing, !reusing.commits.isSubset(of: builder.reachedCommits) { throw ReusedEntriesUnreachable() }

        var ids: [String: GitObjectID] = [:]
        for (name, reference) in named {
            guard let id = builder.state.commit(of: reference) else {
                preconditionFailure("every planned ref names a reference the export made a commit of")
            }
            ids[name] = id
        }
        var next = builder.state
        next.refs = ids.mapValues(\.hex)
        if let reusing, let number { for id in reusing.objects { next.record(holder: number, of: id) } }
        report.refs = full || fromNothing ? next.refs : next.refs.filter { baseRefs[$0.key] != $0.value }
        report.newCommits = builder.newCommits
        report.objects = writer.count
        report.blobs = builder.newBlobs
        report.trees = builder.newTrees
        report.deltas = builder.deltas
        report.copiedObjects = reusing?.count ?? 0
        if report.nothingNew {
            report.elapsedSeconds = (ContinuousClock.now - started).seconds
            return (report, next)
        }
        // The header is final before the pack is hashed, so one read of the pages hashes the pack
        // for its trailer and the whole bundle for the report.
        let final = header(ids)
        precondition(final.count == placeholder.count, "a bundle header's length does not depend on its ids")
        try destination.seek(toOffset: 0)
        try destination.write(contentsOf: final)
        if let reusing { try await reusing.write(destination.fileDescriptor, writer.reservedOffset) }
        let sha256 = try writer.finish(alsoHashingFromStart: true).sha256FromStart ?? []
        report.bundleSHA256 = Hex.encode(sha256)
        report.bundleBytes = Int64(try destination.offset())
        progress?.yield(.phaseFinished(.exportingBundle, elapsedSeconds: (ContinuousClock.now - started).seconds))
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        return (report, next)
    }
}

/// Objects the receiver has or the pack holds: those of a set, and with `heldFrom`, those the state's
/// holders give a bundle of that number or later, which is every object the export writes into a
/// catalog too. A follower's export of one promotion built a set of every object the chain holds (a
/// fifth of its time on 20,000 files) to look up a few hundred.
struct KnownObjects {
    private(set) var objects: Set<GitObjectID>
    let heldFrom: Int?

    init(_ objects: Set<GitObjectID>) {
        self.objects = objects
        heldFrom = nil
    }

    init(heldFrom: Int) {
        objects = []
        self.heldFrom = heldFrom
    }

    func contains(_ id: GitObjectID, in state: ExportBase) -> Bool {
        if objects.contains(id) { return true }
        guard let heldFrom, let holder = state.holder(of: id) else { return false }
        return holder >= heldFrom
    }

    /// Adds `id`; false when it was known.
    mutating func insert(_ id: GitObjectID, in state: ExportBase) -> Bool {
        !contains(id, in: state) && objects.insert(id).inserted
    }
}

/// Builds Git objects from Grace's, writing each new one to the pack once: blobs with a delta
/// against the previous version of the same path when that saves at least half, trees likewise.
final class ObjectBuilder {
    let view: any GraceReadView
    let objects: any ObjectStore
    let repositoryID: RepositoryID
    let pack: GitPackWriter
    let progress: ProgressSink?
    private(set) var state: ExportBase
    /// Objects the receiver has or this pack holds.
    private var known: KnownObjects
    private var lastBlob: [String: (offset: Int64, file: FileVersion, depth: Int)] = [:]
    /// Where a content was last planned under each file name, whatever its folder: a delta base for a
    /// file moved. Each with the number of the reference it was planned under (see `plannedReferences`).
    /// Paths, not file versions: the base is the newest content at that path, and a path costs a pointer.
    private var newestByName: [String: (path: String, reference: Int)] = [:]
    /// The last contents planned in each folder under each extension: delta bases for a file renamed or copied.
    private var recentByFolder: [String: RecentByExtension] = [:]
    /// How many references' contents have been planned: contents new in the same one are not tried as
    /// each other's bases.
    private var plannedReferences = 0
    private var lastTree: [String: (offset: Int64, content: [UInt8], depth: Int)] = [:]
    /// The file entries of the tree last built at each folder path, each with the content it names:
    /// a promotion's root lists every file at the root again, and an entry unchanged since the
    /// previous version is taken as it was (its name checked and its blob found already).
    private var lastFileEntries: [String: [FileEntry]] = [:]
    typealias FileEntry = (relativePath: String, sha256: String, entry: GitTreeEntry)
    /// The folder whose tree was written last under each folder name, and the number of the reference
    /// it was written for (see `builtReferences`): a delta base for a folder moved or renamed.
    private var lastTreeByName: [String: (path: String, reference: Int)] = [:]
    /// How many references' trees have been built.
    private var builtReferences = 0
    private var directories: [DirectoryVersionID: DirectoryVersion] = [:]
    /// Contents read, hashed and delta-encoded at once: most of an export's work, spread over the cores.
    static let concurrency = 2 * max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// How many batches a window of few new contents is cut into (`BundleExporter.smallestBatchBytes`).
    static let smallWindowBatches: Int64 = 4
    /// The window's batches of contents being prepared, in the order planned (at most `concurrency`), and
    /// those not started yet: `blob` writes up to a content's batch when a tree asks for it, so the trees
    /// of one promotion are built while the contents of the next are still being prepared.
    private var preparing: [Task<[PreparedContent], any Error>] = []
    private var unstarted: ArraySlice<[BlobWork]> = []
    /// Each content of the window not written yet, and the number of its batch; how many are written.
    private var batchOfContent: [String: Int] = [:]
    private var batchesWritten = 0
    private var deltaBases = DeltaBaseContents(wanted: [:])
    private(set) var newBlobs = 0, newTrees = 0, newCommits = 0, deltas = 0
    /// Every commit of this export's references, written or known.
    private(set) var reachedCommits = Set<GitObjectID>()
    let number: Int?
    let maxDeltaDepth: Int
    /// How many bytes of contents a batch holds at least and at most (`BundleExporter.batchBytes`).
    let batchBytes: ClosedRange<Int64>
    /// Contents this large or larger are streamed (`BundleExporter.streamedContentBytes`).
    let streamedContentBytes: Int64

    /// - Parameters:
    ///   - known: objects the receiver has, left out; `base` beyond them only caches ids.
    ///   - number: the bundle's number in its catalog chain, recorded as the holder of what it writes.
    ///   - countingChanges: false when the state will be written whole, whatever `base` counted.
    init(view: any GraceReadView, objects: any ObjectStore, repositoryID: RepositoryID, pack: GitPackWriter, base: consuming ExportBase,
         countingChanges: Bool, known: KnownObjects, number: Int?, maxDeltaDepth: Int, batchBytes: ClosedRange<Int64>,
         streamedContentBytes: Int64, progress: ProgressSink?) {
        self.view = view
        self.objects = objects
        self.repositoryID = repositoryID
        self.pack = pack
        self.progress = progress
        state = base
        // Objects known from a bundle read with `--since` go, which a state's changes cannot say.
        if !countingChanges || !state.otherObjects.isEmpty { state.changed = nil }
        state.otherObjects = []
        self.known = known
        self.number = number
        self.maxDeltaDepth = maxDeltaDepth
        self.batchBytes = batchBytes
        self.streamedContentBytes = streamedContentBytes
    }

    /// An export that failed leaves no preparation running.
    deinit {
        for task in preparing { task.cancel() }
    }

    private func isKnown(_ id: GitObjectID) -> Bool { known.contains(id, in: state) }

    /// Records that this bundle holds `id`.
    private func wrote(_ id: GitObjectID) {
        if let number { state.record(holder: number, of: id) }
    }

    func commit(for reference: ReferenceSummary, parent: GitObjectID?, owner: Owner?) async throws -> GitObjectID {
        if let done = state.commit(of: reference.referenceID), isKnown(done) {
            reachedCommits.insert(done)
            return done
        }
        builtReferences += 1
        let tree = try await self.tree(reference.directoryID, referencedBy: "reference \(reference.referenceID)").id ?? GitObjectID.emptyTree
        if tree == .emptyTree && !isKnown(.emptyTree) {
            _ = try [UInt8]().withUnsafeBytes { try pack.add(.tree, content: $0) }
            _ = known.insert(.emptyTree, in: state)
            wrote(.emptyTree)
        }
        let name = owner?.ownerName ?? "grace"
        let signature = GitSignature(name: name, email: "\(owner?.ownerID.description ?? "unknown")@grace.invalid",
                                     secondsSinceEpoch: reference.createdAt.wholeSecondsSinceEpoch)
        var text = GitText.trimming(reference.referenceText, GitText.isSpaceOrNewline)
        if text.isEmpty { text = reference.referenceType.rawValue }
        let message = "\(text)\n\nGrace-Reference-Id: \(reference.referenceID)\n"
        let content = GitCommit(tree: tree, parents: parent.map { [$0] } ?? [], author: signature, committer: signature, message: message).encode()
        let id = GitObjectID.of(.commit, content: content)
        if known.insert(id, in: state) {
            _ = try content.withUnsafeBytes { try pack.add(.commit, content: $0) }
            wrote(id)
            newCommits += 1
        }
        state.record(commit: id, of: reference.referenceID)
        reachedCommits.insert(id)
        return id
    }

    /// The tree of a directory version, nil when no file lies anywhere below it.
    /// - Parameter parent: the path of the directory version listing this one; nil for a reference's root.
    func tree(_ directoryID: DirectoryVersionID, in parent: String? = nil, referencedBy: String) async throws -> (id: GitObjectID?, name: String) {
        if treeIsKnown(directoryID), let done = state.tree(of: directoryID) { return (done.id, done.name) }
        let directory = try await self.directory(directoryID, referencedBy: referencedBy)
        var entries: [GitTreeEntry] = []
        let previous = lastFileEntries.removeValue(forKey: directory.relativePath) ?? []
        var fileEntries: [FileEntry] = []
        fileEntries.reserveCapacity(directory.files.count)
        let files = directory.files
        for index in files.indices {
            // Same place, same path, same content: the entry written before (its blob is known, as this
            // export wrote it or found it known, and stays known). By index: a copy of a file version
            // retains each of its strings.
            if index < previous.count, previous[index].sha256 == files[index].sha256Hash, previous[index].relativePath == files[index].relativePath {
                fileEntries.append(previous[index])
            } else {
                let file = files[index]
                let name = try Self.entryName(file.relativePath, in: directory.relativePath)
                fileEntries.append((file.relativePath, file.sha256Hash, GitTreeEntry(mode: .file, name: Array(name.utf8), id: try await blob(file))))
            }
            entries.append(fileEntries[fileEntries.count - 1].entry)
        }
        lastFileEntries[directory.relativePath] = fileEntries
        for child in directory.directories {
            let (id, name) = try await tree(child, in: directory.relativePath, referencedBy: "directory version \(directory.relativePath)")
            if let id { entries.append(GitTreeEntry(mode: .directory, name: Array(name.utf8), id: id)) }
        }
        let name = directory.relativePath == DirectoryVersion.rootPath ? ""
            : try Self.entryName(directory.relativePath, in: parent ?? SafePath.parent(of: directory.relativePath))
        guard !entries.isEmpty else {
            state.record(tree: .init(id: nil, name: name), of: directoryID)
            return (nil, name)
        }
        let content = GitTree.encode(entries)
        let id = GitObjectID.of(.tree, content: content)
        if known.insert(id, in: state) {
            let path = directory.relativePath
            var depth = 0
            var offset: Int64?
            // The previous version at the same path; for a folder new to the pack, the newest tree of a
            // folder of the same name written for an earlier reference (a folder moved or renamed).
            let previous = lastTree[path] ?? lastTreeByName[name].flatMap { $0.reference < builtReferences ? lastTree[$0.path] : nil }
            if let previous, previous.depth < maxDeltaDepth,
               let delta = previous.content.withUnsafeBytes({ b in content.withUnsafeBytes { GitDelta.encode(base: b, target: $0, limit: content.count / 2) } }) {
                offset = try pack.addDelta(baseOffset: previous.offset, delta: delta)
                depth = previous.depth + 1
                deltas += 1
            }
            let written = try offset ?? content.withUnsafeBytes { try pack.add(.tree, content: $0) }
            lastTree[path] = (written, content, depth)
            lastTreeByName[name] = (path, builtReferences)
            wrote(id)
            newTrees += 1
        }
        state.record(tree: .init(id: id, name: name), of: directoryID)
        return (id, name)
    }

    /// Whether the tree of a directory version is known to the receiver (or is no tree at all).
    private func treeIsKnown(_ id: DirectoryVersionID) -> Bool {
        guard let done = state.tree(of: id) else { return false }
        return done.id.map(isKnown) ?? true
    }

    /// Reads the directory versions below a window of references, level by level across all of them
    /// (a query per level of the repository, not per level of each promotion), and prepares and writes
    /// every content below them the receiver does not have (`prepareBlobs`). The window before's
    /// directory versions are dropped first: those of trees already built are not needed again
    /// (`treeIsKnown`), and any other is read again when asked for.
    func prepareWindow(_ references: [ReferenceSummary]) async throws {
        // The window before is written whole first: planning finds delta bases in what the pack holds.
        try await writePlannedContents()
        // Freed on another core: a window of promotions whose roots list a thousand files each holds
        // hundreds of thousands of strings, 60 ms of freeing that this one would otherwise wait for.
        let finished = directories
        directories = [:]
        Task.detached(priority: .utility) { withExtendedLifetime(finished) {} }
        let roots = references
            .filter { reference in !(state.commit(of: reference.referenceID).map(isKnown) ?? false) }
            .map { (id: $0.directoryID, referencedBy: "reference \($0.referenceID)") }
        var visited = Set<DirectoryVersionID>()
        _ = try await unknownDirectories(below: roots, visited: &visited)
        try await prepareBlobs(under: roots)
    }

    /// The directory versions below `roots` (roots included) whose trees the receiver does not have,
    /// level by level, each level read in one query (those already read are not read again), leaving
    /// out those in `visited` and adding those found.
    private func unknownDirectories(below roots: [(id: DirectoryVersionID, referencedBy: String)],
                                    visited: inout Set<DirectoryVersionID>) async throws -> [DirectoryVersion] {
        var found: [DirectoryVersion] = []
        var level = roots
        while !level.isEmpty {
            let pending = level.filter { visited.insert($0.id).inserted && !treeIsKnown($0.id) }
            try await loadDirectories(pending)
            level = pending.flatMap { item in
                let directory = directories[item.id]!
                found.append(directory)
                return directory.directories.map { (id: $0, referencedBy: "directory version \(directory.directoryVersionID) (\(directory.relativePath))") }
            }
        }
        return found
    }

    private func directory(_ id: DirectoryVersionID, referencedBy: String) async throws -> DirectoryVersion {
        if directories[id] == nil { try await loadDirectories([(id, referencedBy)]) }
        return directories[id]!
    }

    /// Reads the directory versions not read yet, in one query; a missing one is named with what names it.
    private func loadDirectories(_ wanted: [(id: DirectoryVersionID, referencedBy: String)]) async throws {
        let missing = wanted.filter { directories[$0.id] == nil }
        guard !missing.isEmpty else { return }
        for directory in try await view.directoryVersions(missing.map(\.id)) { directories[directory.directoryVersionID] = directory }
        if let absent = missing.first(where: { directories[$0.id] == nil }) {
            throw BundleExportFailure.missingDirectory(id: absent.id.description, referencedBy: absent.referencedBy)
        }
    }

    /// A content to prepare: its file version, the content to delta it against (`deltaBase`), and what
    /// an earlier export recorded of it.
    typealias BlobWork = (file: FileVersion, base: FileVersion?, cached: (id: GitObjectID, adler: UInt32)?)

    /// A content of the window as its batch's task leaves it for the pack writer.
    enum PreparedContent: Sendable {
        case held(PreparedBlob)
        /// Too large to hold: the writer streams it in (`StreamedContent`).
        case streamed(FileVersion)
    }

    private func isStreamed(_ file: FileVersion) -> Bool { file.size >= streamedContentBytes }

    /// What one content becomes in the pack, worked out away from the pack writer.
    struct PreparedBlob: Sendable {
        /// Everything compressed already: the pack writer only appends.
        enum Payload: Sendable {
            /// Against the content of `base`, written before it (where in the pack is known only then).
            case delta(base: FileVersion, size: Int, stream: [UInt8])
            case whole(size: Int, stream: [UInt8])
        }

        var file: FileVersion
        var id: GitObjectID
        var size: Int
        var payload: Payload
        /// The Adler-32 of a content the pack holds as Grace's deflate data or in stored blocks, for the
        /// cache (one deflated here is deflated again next time, to the same bytes).
        var adler: UInt32?
    }

    /// A content's blob id and Adler-32 from an earlier export, when both are known.
    static func cached(_ file: FileVersion, in state: ExportBase) -> (id: GitObjectID, adler: UInt32)? {
        guard let (id, adler) = state.blob(of: file.sha256Hash), let adler else { return nil }
        return (id, adler)
    }

    /// Plans every content below `roots` the receiver does not have and starts reading, checking,
    /// hashing and (against an earlier content, `deltaBase`) delta-encoding them, several at once and
    /// across promotions. They are written in the order planned (a promotion's after the one before,
    /// each directory's files together) as the trees ask for them, and the rest before the next window:
    /// that order makes the pack the same bytes on every run, and puts a delta's base before it; where
    /// the base goes is known only then. Memory holds at most `concurrency` batches of about
    /// `batchBytes`, prepared or waiting their turn.
    private func prepareBlobs(under roots: [(id: DirectoryVersionID, referencedBy: String)]) async throws {
        var work: [BlobWork] = []
        var seen = Set<String>()
        var visited = Set<DirectoryVersionID>()
        // The newest version planned at each path this window, and how deep a delta chain it may end.
        var planned: [String: (file: FileVersion, depth: Int)] = [:]
        // The files of the version planned last at each folder path: a promotion's root lists every file
        // at the root again, and one unchanged since that version was seen with it.
        var previousFiles: [String: [FileVersion]] = [:]
        for root in roots {
            plannedReferences += 1
            for directory in try await unknownDirectories(below: [root], visited: &visited) {
                // Taken out while the folder's files are planned: one lookup of its path, not one per file.
                var recent = recentByFolder.removeValue(forKey: directory.relativePath) ?? [:]
                let files = directory.files
                let previous = previousFiles.updateValue(files, forKey: directory.relativePath) ?? []
                // By index, copying a file version only when its content is new: a copy retains each of its strings.
                // A name Git cannot hold is refused here when its content is new, and by `tree` otherwise.
                for index in files.indices {
                    if index < previous.count, previous[index].sha256Hash == files[index].sha256Hash { continue }
                    guard seen.insert(files[index].sha256Hash).inserted else { continue }
                    let file = files[index]
                    if let id = state.blob(of: file.sha256Hash)?.id, isKnown(id) { continue }
                    let name = try Self.entryName(file.relativePath, in: directory.relativePath)
                    let suffix = Self.fileExtension(name)
                    let base = isStreamed(file) ? nil : deltaBase(for: file, named: name, recent: recent[suffix] ?? [], planned: planned)
                    // A chain's depth is bounded by planning every delta as if it succeeds: one that does not
                    // only makes the chain shorter.
                    planned[file.relativePath] = (file, base.map { $0.depth + 1 } ?? 0)
                    newestByName[name] = (file.relativePath, plannedReferences)
                    Self.remember(file.relativePath, reference: plannedReferences, in: &recent[suffix, default: []])
                    work.append((file, base?.file, Self.cached(file, in: state)))
                }
                recentByFolder[directory.relativePath] = recent
            }
        }
        // A few batches at least, none smaller than the smallest. As many whatever the machine: where a
        // batch ends decides when its contents are written, so the pack's order, and a bundle must be
        // the same bytes wherever it is made.
        let total = work.reduce(0) { $0 + $1.file.size }
        let perBatch = min(batchBytes.upperBound, max(batchBytes.lowerBound, total / Self.smallWindowBatches))
        var batches: [[BlobWork]] = [[]]
        var bytes: Int64 = 0
        for item in work {
            if bytes >= perBatch { batches.append([]); bytes = 0 }
            batches[batches.count - 1].append(item)
            batchOfContent[item.file.sha256Hash] = batches.count - 1
            bytes += item.file.size
        }
        var wanted: [String: Int] = [:]
        for item in work { if let base = item.base { wanted[base.sha256Hash, default: 0] += 1 } }
        deltaBases = DeltaBaseContents(wanted: wanted)
        batchesWritten = 0
        unstarted = batches[...]
        for _ in 0..<Self.concurrency { startPreparing() }
    }

    /// Starts preparing the next batch of the window, if any is left, on another core.
    private func startPreparing() {
        guard let batch = unstarted.popFirst() else { return }
        let objects = self.objects, repositoryID = self.repositoryID, bases = deltaBases, streamedContentBytes = self.streamedContentBytes
        preparing.append(Task {
            try await ObjectBuilder.prepare(batch, objects: objects, repositoryID: repositoryID, bases: bases, streamedContentBytes: streamedContentBytes)
        })
    }

    private static func prepare(_ batch: [BlobWork], objects: any ObjectStore, repositoryID: RepositoryID,
                                bases: DeltaBaseContents, streamedContentBytes: Int64) async throws -> [PreparedContent] {
        let deflater = try Deflater(.zlib, level: GitPackWriter.compressionLevel)
        var prepared: [PreparedContent] = []
        for (file, base, cached) in batch {
            if file.size >= streamedContentBytes {
                prepared.append(.streamed(file))
                continue
            }
            prepared.append(.held(try await prepare(file, base: base, cached: cached, objects: objects, repositoryID: repositoryID, deflater: deflater, bases: bases)))
        }
        return prepared
    }

    /// Writes the window's next batch, in the order planned; false when every batch is written. A delta
    /// whose base is not the pack's newest entry at its path is written whole when its tree asks for it.
    private func writeNextBatch() async throws -> Bool {
        guard !preparing.isEmpty else { return false }
        let prepared: [PreparedContent]
        let next = preparing.removeFirst()
        do {
            // Not a child task: the export's cancellation is passed on by hand.
            prepared = try await withTaskCancellationHandler { try await next.value } onCancel: { next.cancel() }
        } catch {
            for task in preparing { task.cancel() }
            preparing = []
            unstarted = []
            throw error
        }
        startPreparing()
        for content in prepared {
            switch content {
            case let .held(blob):
                _ = try write(blob)
                batchOfContent[blob.file.sha256Hash] = nil
            case let .streamed(file):
                try await writeStreamed(file)
                batchOfContent[file.sha256Hash] = nil
            }
        }
        batchesWritten += 1
        return true
    }

    /// Writes every content of the window not written yet.
    func writePlannedContents() async throws {
        while try await writeNextBatch() {}
    }

    /// The content a new one is delta-encoded against, and the depth of its chain: the previous version at
    /// the same path; for a path new to the pack, the newest content of the same name elsewhere (a file
    /// moved), else the closest in size, within a quarter, of the last `similarWindow` contents of the
    /// same extension in the same folder, deleted ones included (a file renamed or copied). Like git's
    /// window of similar names and sizes, with one attempt instead of ten, and only against contents
    /// of an earlier reference: a failed attempt costs a base read, and tried between the contents of
    /// one promotion it made a first export of 20,000 unrelated files 22% slower for nothing.
    private func deltaBase(for file: FileVersion, named name: String, recent: [(path: String, reference: Int)],
                           planned: [String: (file: FileVersion, depth: Int)]) -> (file: FileVersion, depth: Int)? {
        // The pack's newest content at a path (where it is written is known by then), with room for one more delta.
        func newest(at path: String) -> (file: FileVersion, depth: Int)? {
            guard let newest = planned[path] ?? lastBlob[path].map({ ($0.file, $0.depth) }), newest.depth < maxDeltaDepth, !isStreamed(newest.file) else { return nil }
            return newest
        }
        guard file.size >= Int64(Self.smallestDelta) else { return nil }
        if planned[file.relativePath] != nil || lastBlob[file.relativePath] != nil { return newest(at: file.relativePath) }
        guard plannedReferences > 1 else { return nil }  // nothing of an earlier reference to try
        if let moved = newestByName[name], moved.reference < plannedReferences, let entry = newest(at: moved.path) { return entry }
        var closest: (file: FileVersion, depth: Int)?
        for (path, reference) in recent where reference < plannedReferences {
            guard let entry = newest(at: path), abs(entry.file.size - file.size) <= file.size / 4 else { continue }
            if closest.map({ abs(entry.file.size - file.size) < abs($0.file.size - file.size) }) ?? true { closest = entry }
        }
        return closest
    }

    /// Adds a path to a folder's recent ones of an extension (once; the oldest goes past `similarWindow`).
    private static func remember(_ path: String, reference: Int, in recent: inout [(path: String, reference: Int)]) {
        if let index = recent.firstIndex(where: { $0.path == path }) { recent.remove(at: index) }
        recent.append((path, reference))
        if recent.count > similarWindow { recent.removeFirst() }
    }

    /// How many contents of one extension in one folder are delta candidates for a new path.
    static let similarWindow = 16

    /// The last contents planned in a folder under each extension, each with its reference's number.
    typealias RecentByExtension = [Substring: [(path: String, reference: Int)]]

    /// A name's extension from its last dot; a name without one, or a dot file's, is its own.
    static func fileExtension(_ name: String) -> Substring {
        guard let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex else { return name[...] }
        return name[dot...]
    }

    /// Contents smaller than this are stored whole: a delta would save nothing worth its base.
    static let smallestDelta = 64

    /// - Parameters:
    ///   - deflater: at Git's level, reused for every content of a batch.
    ///   - bases: where contents deltas are planned against are left for them, and taken from.
    private static func prepare(_ file: FileVersion, base: FileVersion?, cached: (id: GitObjectID, adler: UInt32)?,
                                objects: any ObjectStore, repositoryID: RepositoryID, deflater: Deflater,
                                bases: DeltaBaseContents? = nil) async throws -> PreparedBlob {
        if base == nil, let cached {
            // Known from an earlier export: the stored bytes with the recorded checksum, neither decompressed
            // nor hashed: Grace's deflate data for text, stored blocks for a binary that does not compress.
            // A content changed since would fail the receiver's checksum and object-id checks, never pass silently.
            let stored = try await readStored(file, at: try ObjectKey.fileVersion(file, in: repositoryID), objects: objects)
            let stream = stored.withUnsafeBytes { stored -> [UInt8]? in
                if file.isBinary {
                    guard stored.count == file.size, StoredZlib.looksIncompressible(stored) else { return nil }
                    return StoredZlib.stream(stored, adler32: cached.adler)
                }
                guard GzipToZlib.uncompressedSize(gzip: stored) == UInt32(truncatingIfNeeded: file.size) else { return nil }
                return GzipToZlib.convert(gzip: stored, adler32: cached.adler)
            }
            if let stream {
                return PreparedBlob(file: file, id: cached.id, size: Int(file.size), payload: .whole(size: Int(file.size), stream: stream), adler: cached.adler)
            }
        }
        let (stored, plain) = try await read(file, objects: objects, repositoryID: repositoryID)
        bases?.keep(plain, sha256: file.sha256Hash)
        let id = GitObjectID.of(.blob, content: plain)
        if let base, plain.count >= smallestDelta {
            let kept = bases?.take(sha256: base.sha256Hash)
            let baseBytes = if let kept { kept } else { try await read(base, objects: objects, repositoryID: repositoryID).plain }
            if let delta = baseBytes.withUnsafeBytes({ b in plain.withUnsafeBytes { GitDelta.encode(base: b, target: $0, limit: plain.count / 2) } }) {
                let stream = try deflater.compress(delta)
                return PreparedBlob(file: file, id: id, size: plain.count, payload: .delta(base: base, size: delta.count, stream: stream))
            }
        }
        // Grace's gzip already holds the deflated bytes: re-wrapped, they cost no compression.
        if !file.isBinary, let converted = stored.withUnsafeBytes({ gzip in plain.withUnsafeBytes { GzipToZlib.convert(gzip: gzip, plain: $0) } }) {
            return PreparedBlob(file: file, id: id, size: plain.count, payload: .whole(size: plain.count, stream: converted),
                                adler: GzipToZlib.checksum(ofZlibStream: converted))
        }
        // Content that does not compress (images, archives, random bytes) goes in stored blocks, as zlib
        // would put it after spending most of an export's time trying.
        if plain.withUnsafeBytes({ StoredZlib.looksIncompressible($0) }) {
            let adler = plain.withUnsafeBytes { Adler32.checksum($0) }
            let stream = plain.withUnsafeBytes { StoredZlib.stream($0, adler32: adler) }
            return PreparedBlob(file: file, id: id, size: plain.count, payload: .whole(size: plain.count, stream: stream), adler: adler)
        }
        let stream = try deflater.compress(plain)
        return PreparedBlob(file: file, id: id, size: plain.count, payload: .whole(size: plain.count, stream: stream))
    }

    /// Writes a prepared content unless the pack or the receiver has it. False, with nothing written,
    /// for a delta whose base is not the pack's newest entry at the base's path: the caller writes it
    /// whole. Planning rules that out while Grace's SHA-256 of each file version names its bytes; two
    /// file versions with the same bytes under different hashes (metadata written wrong) would give
    /// the base's blob id twice, and the second is not written again.
    private func write(_ prepared: PreparedBlob) throws -> Bool {
        let path = prepared.file.relativePath
        state.record(blob: prepared.id, adler: prepared.adler, of: prepared.file.sha256Hash)
        guard !isKnown(prepared.id) else { return true }
        let offset: Int64
        var depth = 0
        switch prepared.payload {
        case let .delta(base, size, stream):
            guard let entry = lastBlob[base.relativePath], entry.file.sha256Hash == base.sha256Hash, entry.depth < maxDeltaDepth else { return false }
            offset = try pack.addDelta(baseOffset: entry.offset, size: size, zlibStream: stream)
            depth = entry.depth + 1
            deltas += 1
        case let .whole(size, stream):
            offset = try pack.add(.blob, size: size, zlibStream: stream)
        }
        _ = known.insert(prepared.id, in: state)
        lastBlob[path] = (offset, prepared.file, depth)
        wrote(prepared.id)
        newBlobs += 1
        progress?.yield(.advanced(items: 1, bytes: Int64(prepared.size)))
        return true
    }

    /// Streams a content too large to hold into the pack, unless the pack or the receiver has it.
    private func writeStreamed(_ file: FileVersion) async throws {
        let key = try ObjectKey.fileVersion(file, in: repositoryID)
        let (offset, id, adler) = try await StreamedContent.write(file, key: key, objects: objects, into: pack, progress: progress)
        state.record(blob: id, adler: adler, of: file.sha256Hash)
        guard known.insert(id, in: state) else {
            pack.discardEntry()
            return
        }
        lastBlob[file.relativePath] = (offset, file, 0)
        pack.endEntry()
        wrote(id)
        newBlobs += 1
        progress?.yield(.advanced(items: 1, bytes: 0))
    }

    /// Prepares and writes one content whole.
    private func writeWhole(_ file: FileVersion) async throws {
        if isStreamed(file) { return try await writeStreamed(file) }
        let prepared = try await Self.prepare(file, base: nil, cached: Self.cached(file, in: state), objects: objects, repositoryID: repositoryID,
                                              deflater: try Deflater(.zlib, level: GitPackWriter.compressionLevel))
        let written = try write(prepared)
        precondition(written, "a whole content needs no base")
    }

    func blob(_ file: FileVersion) async throws -> GitObjectID {
        if let batch = batchOfContent[file.sha256Hash] {
            while batchesWritten <= batch, try await writeNextBatch() {}
        }
        if let done = state.blob(of: file.sha256Hash)?.id, isKnown(done) { return done }
        // Not prepared with its directory (it should have been), or a delta whose base was not the pack's
        // newest entry at its path: the same work, one content, whole.
        try await writeWhole(file)
        return state.blob(of: file.sha256Hash)!.id
    }

    /// A file version's bytes as Grace stores them at `key`; a missing object is named.
    private static func readStored(_ file: FileVersion, at key: ObjectKey, objects: any ObjectStore) async throws -> [UInt8] {
        do {
            return try await objects.getBytes(key)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            throw BundleExportFailure.missingObject(key: key.rawValue, path: file.relativePath, location: objects.location)
        }
    }

    /// A file version's stored and plain bytes, checked against its size and BLAKE3.
    private static func read(_ file: FileVersion, objects: any ObjectStore, repositoryID: RepositoryID) async throws -> (stored: [UInt8], plain: [UInt8]) {
        let key = try ObjectKey.fileVersion(file, in: repositoryID)
        let stored = try await readStored(file, at: key, objects: objects)
        let plain: [UInt8]
        do {
            plain = try GraceBlob.plainBytes(storedBytes: stored, isBinary: file.isBinary, expectedSizeBytes: file.size)
        } catch {
            throw BundleExportFailure.objectDoesNotMatch(key: key.rawValue, path: file.relativePath, detail: "does not decode: \(error)")
        }
        guard Int64(plain.count) == file.size else {
            throw BundleExportFailure.objectDoesNotMatch(key: key.rawValue, path: file.relativePath, detail: "is \(plain.count) bytes; the file version says \(file.size)")
        }
        var hasher = Blake3Hasher()
        plain.withUnsafeBytes { hasher.update($0) }
        let blake3 = Hex.encode(hasher.finalize())
        guard blake3 == file.blake3Hash else {
            throw BundleExportFailure.objectDoesNotMatch(key: key.rawValue, path: file.relativePath, detail: "hashes to BLAKE3 \(blake3); the file version says \(file.blake3Hash)")
        }
        return (stored, plain)
    }

    /// The last component of `path`, an entry of the tree of `directory`, refused when Git cannot hold
    /// it: a name Git refuses, or a path whose parent is not `directory` (its entry's name would hold a
    /// `/`, or lose the folders between; two such entries could share a name).
    static func entryName(_ path: String, in directory: String) throws -> String {
        let utf8 = path.utf8
        let slash = utf8.lastIndex(of: UInt8(ascii: "/"))
        let name = String(slash.map { path[path.index(after: $0)...] } ?? path[...])
        let parent = slash.map { Substring(utf8[..<$0]) } ?? Substring(DirectoryVersion.rootPath)
        let unsafe = name.isEmpty || name == "." || name == ".." || name.utf8.contains(0) || GitEntryName.aliasesDotGit(name)
            || parent != directory
        guard !unsafe else { throw BundleExportFailure.unsafeName(path, directory: directory) }
        return name
    }
}

/// A branch and a type of reference: how the export looks references up.
private struct BranchAndType: Hashable {
    let branch: BranchID
    let type: ReferenceType
}
