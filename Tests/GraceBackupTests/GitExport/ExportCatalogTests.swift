import Deflate
import Foundation
@testable import GraceBackup
import GraceGit
import GraceBackupTesting
import GraceModel
import GraceStorage
import Testing

/// A catalog's full export copies the entries of its chain (the newest full bundle and the
/// incrementals after it) instead of building them again, and must hold exactly what a full
/// export built from nothing holds.
struct ExportCatalogTests {
    /// A simulated deployment, its repository, and an empty catalog for it; the caller removes the fixture.
    static func start(files: Int, operations: Int) async throws -> (VaultFixture, RepositoryID, ExportCatalog) {
        let fixture = try await VaultFixture(files: files, operations: operations)
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let store = try FileSystemObjectStore(root: fixture.root.appendingPathComponent("catalog"), create: true)
        return (fixture, repository, ExportCatalog(store: store, repositoryID: repository))
    }

    static func bundleFile(_ fixture: VaultFixture, _ record: BundleExportRecord) -> URL {
        fixture.root.appendingPathComponent("catalog").appendingPathComponent(record.bundle)
    }

    /// Every object reachable in a clone of `bundle`, and `git fsck --strict`'s whole output (dangling objects included).
    static func cloneObjects(_ bundle: URL, into folder: URL) async throws -> (objects: Set<String>, fsck: String) {
        try await GitTool.run(["clone", "-q", "--mirror", bundle.path, folder.path])
        let objects = Set(try await GitTool.run(["rev-list", "--objects", "--all"], in: folder).split(separator: "\n").map { String($0.prefix(40)) })
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict"], in: folder)
        // No warning and no error, whatever the caller checks of the rest: a dangling object is not a fault of its
        // own, nor a HEAD naming a branch a bundle without the default branch does not hold (a notice).
        #expect(fsck.status == 0 && fsck.output.split(separator: "\n").allSatisfy { $0.hasPrefix("dangling ") || $0.hasPrefix("notice: HEAD points to an unborn branch") },
                "\(fsck.output)")
        return (objects, fsck.output)
    }

    /// Every object in the bundle's pack, reachable or not.
    static func packedObjects(_ bundle: URL, in folder: URL) async throws -> Set<String> {
        try await GitTool.run(["init", "-q", "--bare", folder.path])
        try await GitTool.run(["bundle", "unbundle", bundle.path], in: folder)
        let packs = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("objects/pack").path).filter { $0.hasSuffix(".idx") }
        var objects = Set<String>()
        for pack in packs {
            let verbose = try await GitTool.run(["verify-pack", "-v", folder.appendingPathComponent("objects/pack/\(pack)").path], in: folder)
            for line in verbose.split(separator: "\n") where line.count > 41 && line.dropFirst(40).first == " " && line.prefix(40).allSatisfy(\.isHexDigit) {
                objects.insert(String(line.prefix(40)))
            }
        }
        return objects
    }

    @Test func aFullExportCopiesTheChainAndHoldsWhatAFullExportFromNothingHolds() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 120, operations: 40)
        defer { fixture.remove() }
        let request = BundleExportRequest(repositoryID: repository)
        let (_, first) = try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now())
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 2)
        let (_, second) = try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now())
        #expect(second?.full == false)

        let (report, consolidated) = try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now())
        let record = try #require(consolidated)
        #expect(record.number == 3 && record.full && record.prerequisites.isEmpty)
        // The entries of bundles 1 and 2 are in bundle 3 byte for byte.
        let bundle = try Data(contentsOf: Self.bundleFile(fixture, record))
        for earlier in [try #require(first), try #require(second)] {
            let entries = try Data(contentsOf: Self.bundleFile(fixture, earlier)).dropLast(20).suffix(4096)
            #expect(bundle.range(of: entries) != nil, "bundle \(earlier.number)'s entries are copied")
        }

        // The same objects as a full export from nothing, all reachable, and the same refs.
        let scratch = fixture.root.appendingPathComponent("scratch")
        let fresh = scratch.appendingPathComponent("fresh.bundle")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let (freshReport, _) = try await BundleExportTests.export(fixture, request, base: nil, to: fresh)
        #expect(report.refs == freshReport.refs && report.objects == freshReport.objects)
        // Nothing changed since bundle 2: every object is copied, none built.
        #expect(report.copiedObjects == (first?.objects ?? 0) + (second?.objects ?? 0) && report.copiedObjects == report.objects)
        let copied = try await Self.cloneObjects(Self.bundleFile(fixture, record), into: scratch.appendingPathComponent("copied"))
        let built = try await Self.cloneObjects(fresh, into: scratch.appendingPathComponent("built"))
        #expect(copied.objects == built.objects && copied.fsck.isEmpty, "\(copied.fsck)")
        #expect(try await Self.packedObjects(Self.bundleFile(fixture, record), in: scratch.appendingPathComponent("packed")) == built.objects)

        // The chain goes on from the new full bundle: it and the next incremental restore the latest promotion.
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        let (_, fourth) = try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now())
        let clone = scratch.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "-b", "main", Self.bundleFile(fixture, record).path, clone.path])
        try await GitTool.run(["fetch", "-q", Self.bundleFile(fixture, try #require(fourth)).path, "main:refs/remotes/origin/main"], in: clone)
        try await GitTool.run(["merge", "-q", "--ff-only", "origin/main"], in: clone)
        let promotion = try await BundleExportTests.latestPromotion(fixture, repository: repository)
        #expect(try BundleExportTests.checkout(clone) == (try await BundleExportTests.graceTree(fixture, root: promotion.directoryID)))

        // New promotions not yet in any bundle: a full export copies bundles 3 and 4 and builds the rest after them.
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 2)
        let (mixed, fifth) = try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now())
        #expect(mixed.copiedObjects == record.objects + (fourth?.objects ?? 0) && mixed.objects > mixed.copiedObjects && mixed.deltas > 0)
        let latest = scratch.appendingPathComponent("latest.bundle")
        _ = try await BundleExportTests.export(fixture, request, base: nil, to: latest)
        let rebuilt = try await Self.cloneObjects(latest, into: scratch.appendingPathComponent("rebuilt"))
        let mixedClone = try await Self.cloneObjects(Self.bundleFile(fixture, try #require(fifth)), into: scratch.appendingPathComponent("mixed"))
        #expect(mixedClone.objects == rebuilt.objects && mixedClone.fsck.isEmpty, "\(mixedClone.fsck)")
        let checkout = scratch.appendingPathComponent("checkout")
        try await GitTool.run(["clone", "-q", "-b", "main", Self.bundleFile(fixture, try #require(fifth)).path, checkout.path])
        let newest = try await BundleExportTests.latestPromotion(fixture, repository: repository)
        #expect(try BundleExportTests.checkout(checkout) == (try await BundleExportTests.graceTree(fixture, root: newest.directoryID)))
    }

    @Test func entriesWithCommitsNoLongerExportedAreBuiltAgainNotCopied() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 60, operations: 20)
        defer { fixture.remove() }
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 2)
        // The first export holds the child branches' commits too; the full one does not ask for them.
        _ = try await catalog.exportNext(from: fixture.deployment, BundleExportRequest(repositoryID: repository, includeCommits: true), now: fixture.clock.now())
        let request = BundleExportRequest(repositoryID: repository)
        let (report, full) = try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now())
        let record = try #require(full)
        #expect(report.refs.keys.allSatisfy { !$0.hasPrefix("refs/heads/edit-") } && report.copiedObjects == 0)

        let scratch = fixture.root.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let fresh = scratch.appendingPathComponent("fresh.bundle")
        _ = try await BundleExportTests.export(fixture, request, base: nil, to: fresh)
        let built = try await Self.cloneObjects(fresh, into: scratch.appendingPathComponent("built"))
        #expect(try await Self.packedObjects(Self.bundleFile(fixture, record), in: scratch.appendingPathComponent("packed")) == built.objects,
                "no object of the child branches' commits in the full bundle")
    }

    @Test func theChainFromItsNewestFullBundleRestoresWithoutTheBundlesBefore() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 60, operations: 20)
        defer { fixture.remove() }
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 2)
        let withCommits = BundleExportRequest(repositoryID: repository, includeCommits: true)
        // The child branches' commits go into bundle 1, out of full bundle 2, and back in bundle 3.
        _ = try await catalog.exportNext(from: fixture.deployment, withCommits, now: fixture.clock.now())
        let full = try #require(try await catalog.exportNext(from: fixture.deployment, BundleExportRequest(repositoryID: repository), full: true,
                                                             now: fixture.clock.now()).1)
        let (report, incremental) = try await catalog.exportNext(from: fixture.deployment, withCommits, now: fixture.clock.now())
        #expect(report.refs.keys.contains { $0.hasPrefix("refs/heads/edit-") })
        let clone = fixture.root.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "--mirror", Self.bundleFile(fixture, full).path, clone.path])
        try await GitTool.run(["fetch", "-q", Self.bundleFile(fixture, try #require(incremental)).path, "refs/heads/*:refs/heads/*"], in: clone)
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict"], in: clone)
        #expect(fsck.status == 0 && fsck.output.isEmpty, "\(fsck.output)")
        #expect(Set(try await GitTool.run(["for-each-ref", "--format=%(refname)"], in: clone).split(separator: "\n").map(String.init))
            .isSuperset(of: report.refs.keys.filter { $0 != "HEAD" }))
    }

    /// A follower's catalog gains a record a promotion: an export reads the newest record and its state,
    /// never the chain before them; a follower handing on its tip reads only the look for a newer record, and
    /// an export given a tip read just before it reads nothing more.
    @Test func anExportReadsTheNewestRecordNotTheChainAndAFollowerOnlyLooksForANewerOne() async throws {
        let (fixture, repository, plain) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        let metered = MeteredObjectStore(plain.store)
        let catalog = ExportCatalog(store: metered, repositoryID: repository)
        let request = BundleExportRequest(repositoryID: repository)
        func gets(_ export: () async throws -> BundleExportRecord?) async throws -> (Int, BundleExportRecord) {
            let before = metered.requests
            let record = try #require(try await export())
            return (metered.requests.since(before).gets, record)
        }
        var records: [BundleExportRecord] = []
        var counted: [Int] = []
        for round in 0..<5 {
            if round > 0 { try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1) }
            let (count, record) = try await gets { try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1 }
            counted.append(count)
            records.append(record)
        }
        /// The state, and its changes when the record names them.
        func stateReads(_ record: BundleExportRecord) -> Int { record.stateChanges == nil ? 1 : 2 }
        // The first export: latest.json and record 1, both absent. Each later one: latest.json, the record after it (absent), the state.
        #expect(counted == [2] + records.dropLast().map { 2 + stateReads($0) })
        #expect(records.dropFirst().contains { $0.stateChanges != nil }, "a promotion's changes are a few of the state's entries")

        var tip: CatalogTip?
        for round in 0..<3 {
            try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
            let (count, record) = try await gets {
                try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now(), continuing: &tip).1
            }
            #expect(count == (round == 0 ? 2 + stateReads(records.last!) : 1), "round \(round): with a tip, only the look for a record after it")
            #expect(tip?.record == record)
            records.append(record)
        }
        // Another exporter writes the next record: the tip is stale, and the follower reads the catalog again.
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        records.append(try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1))
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        let (count, after) = try await gets { try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now(), continuing: &tip).1 }
        #expect(count == 3 + stateReads(records.last!) && after.number == records.last!.number + 1)
        #expect(after.prerequisites == Array(Set(records.last!.allRefs.values)).sorted())
        records.append(after)

        // A tip read just before the export, as the command reads it while the deployment opens: the
        // export reads nothing more.
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        let beforeTip = metered.requests
        var readAhead = try await catalog.tip()
        #expect(metered.requests.since(beforeTip).gets == 2 + stateReads(records.last!))
        let (exportReads, ahead) = try await gets {
            try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now(), continuing: &readAhead).1
        }
        #expect(exportReads == 0 && ahead.number == records.last!.number + 1)
        records.append(ahead)

        // The whole chain, fetched in order, is the latest promotion.
        let clone = fixture.root.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "-b", "main", Self.bundleFile(fixture, records[0]).path, clone.path])
        for record in records.dropFirst() {
            try await GitTool.run(["fetch", "-q", Self.bundleFile(fixture, record).path, "main:refs/remotes/origin/main"], in: clone)
        }
        try await GitTool.run(["merge", "-q", "--ff-only", "origin/main"], in: clone)
        let promotion = try await BundleExportTests.latestPromotion(fixture, repository: repository)
        #expect(try BundleExportTests.checkout(clone) == (try await BundleExportTests.graceTree(fixture, root: promotion.directoryID)))
        #expect(records.map(\.number) == Array(1...records.count) && records.allSatisfy { $0.lastFull == 1 })
    }

    /// `latest.json` is written after the record it copies: an export that stopped between the two
    /// leaves it behind (or absent), and the record after it is still found; a damaged one is passed over.
    @Test func aRecordNewerThanLatestJSONIsFound() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        let request = BundleExportRequest(repositoryID: repository)
        var records: [BundleExportRecord] = []
        for round in 0..<3 {
            if round > 0 { try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1) }
            records.append(try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1))
        }
        let latest = try ObjectKey("\(repository)/latest.json")
        try await catalog.store.put(latest, bytes: Array(try GraceJSON.encode(records[0])))
        #expect(try await catalog.newestRecord() == records[2])
        try await catalog.store.delete(latest)
        #expect(try await catalog.newestRecord() == records[2])
        try await catalog.store.put(latest, bytes: Array("{\"format\": \"something else\"}".utf8))
        #expect(try await catalog.newestRecord() == records[2], "a damaged copy: the records are read")
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        let next = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        #expect(next.number == 4 && next.prerequisites == Array(Set(records[2].allRefs.values)).sorted())
    }

    /// Records written before `lastFull` was kept: the chain's newest full bundle is found by reading the records.
    @Test func theNewestFullBundleOfARecordWithoutItIsFoundInTheRecords() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        let request = BundleExportRequest(repositoryID: repository)
        _ = try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now())
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        _ = try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now())
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        var third = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        #expect(third.lastFull == 2)
        third.lastFull = nil
        #expect(try await catalog.lastFull(asOf: third) == 2)
    }

    @Test func theStateReadsBackWhatItWrote() async throws {
        func id(_ byte: UInt8) -> GitObjectID { GitObjectID(bytes: Array(repeating: byte, count: 20)) }
        func guid<Kind>(_ last: String) -> GraceID<Kind> { GraceID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1\(last)")! }
        var state = ExportBase()
        state.refs = ["refs/heads/main": id(1).hex, "HEAD": id(1).hex]
        state.commits = [guid("0a"): id(1), guid("0b"): id(2)]
        state.blobs = [String(repeating: "a", count: 64): id(3), String(repeating: "b", count: 64): id(4)]
        state.adlers = [String(repeating: "a", count: 64): 0xdead_beef, String(repeating: "b", count: 64): 0]
        state.trees = [guid("d1"): .init(id: id(5), name: "a name with  spaces "), guid("d2"): .init(id: nil, name: "empty"), guid("ff"): .init(id: id(6), name: "")]
        state.otherObjects = [id(7)]
        state.holders = [id(1): 1, id(3): 2, id(5): 1_234_567]
        let written = String(decoding: state.lines(), as: UTF8.self)
        // Numbers as `String(_:radix:)` writes them, which earlier versions wrote and read.
        for line in ["B \(String(repeating: "a", count: 64)) \(id(3)) deadbeef", "B \(String(repeating: "b", count: 64)) \(id(4)) 0",
                     "H \(id(5)) 1234567", "H \(id(1)) 1", "C 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e10a \(id(1))",
                     "T 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1d1 \(id(5)) a name with  spaces ", "T 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1d2 - empty"] {
            #expect(written.split(separator: "\n").contains(Substring(line)), "\(line)")
        }
        // Sorted by their bytes, so that an entry is found where it lies, never read into maps.
        let body = written.split(separator: "\n").dropFirst().map { Array($0.utf8) }
        #expect(body == body.sorted { $0.lexicographicallyPrecedes($1) } && body.count == 13, "\(written)")
        // The same entries in maps of other sizes (which iterate in another order) write the same bytes:
        // two exports of one position store one state under one name.
        var resized = state
        resized.holders = Dictionary(minimumCapacity: 1_000); resized.trees = Dictionary(minimumCapacity: 1_000)
        resized.blobs = Dictionary(minimumCapacity: 1_000); resized.commits = Dictionary(minimumCapacity: 1_000)
        for (key, value) in state.holders.reversed() { resized.holders[key] = value }
        for (key, value) in state.trees.reversed() { resized.trees[key] = value }
        for (key, value) in state.blobs.reversed() { resized.blobs[key] = value }
        for (key, value) in state.commits.reversed() { resized.commits[key] = value }
        #expect(resized.lines() == state.lines())
        let read = try #require(await ExportBase.reading(lines: state.lines()))
        #expect(read.commits.isEmpty && read.blobs.isEmpty && read.trees.isEmpty && read.holders.isEmpty, "looked up, not read")
        let whole = read.materialized()
        #expect(whole.refs == state.refs && whole.commits == state.commits && whole.blobs == state.blobs && whole.adlers == state.adlers)
        #expect(whole.trees == state.trees && whole.otherObjects == state.otherObjects && whole.holders == state.holders)
        #expect(read.commit(of: guid("0a")) == id(1) && read.commit(of: guid("0b")) == id(2) && read.tree(of: guid("d2")) == .init(id: nil, name: "empty"))
        #expect(read.blob(of: String(repeating: "a", count: 64))! == (id(3), 0xdead_beef) && read.holder(of: id(5)) == 1_234_567)
        #expect(read.tree(of: guid("d1"))?.name == "a name with  spaces " && read.tree(of: guid("ff")) == .init(id: id(6), name: ""))
        // Absent keys: before the first, between two, after the last, and of another kind.
        #expect(read.commit(of: guid("00")) == nil && read.commit(of: guid("0c")) == nil && read.commit(of: guid("ff")) == nil)
        #expect(read.holder(of: id(2)) == nil && read.holder(of: id(0)) == nil && read.holder(of: id(9)) == nil)
        #expect(read.blob(of: String(repeating: "a", count: 63)) == nil && read.blob(of: String(repeating: "a", count: 65)) == nil)
        #expect(read.entryCount == state.entryCount && read.holds(bundle: 2) && !read.holds(bundle: 3))
        // Entries recorded over a state read back are merged into its lines: the same bytes as the same
        // entries written from maps.
        var changed = read
        changed.record(commit: id(8), of: guid("0b"))
        changed.record(commit: id(9), of: guid("0c"))
        changed.record(blob: id(10), adler: nil, of: String(repeating: "a", count: 64))
        changed.record(tree: .init(id: id(11), name: "new"), of: guid("00"))
        changed.record(holder: 7, of: id(0))
        changed.record(holder: 8, of: id(5))
        #expect(changed.lines() == changed.materialized().lines())
        #expect(changed.commit(of: guid("0b")) == id(8) && changed.blob(of: String(repeating: "a", count: 64))! == (id(10), 0xdead_beef), "an Adler-32 known stays")
        let rewritten = try #require(await ExportBase.reading(lines: changed.lines()))
        #expect(rewritten.holder(of: id(5)) == 8 && rewritten.holder(of: id(0)) == 7 && rewritten.tree(of: guid("00"))?.name == "new")
        #expect(rewritten.materialized().commits == changed.materialized().commits)
        // A state of version 2 (lines in any order) is still read, into maps, on two cores.
        var lines = written.split(separator: "\n")
        lines.removeFirst()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            let shuffled = (["grace-backup-export-state 2"] + lines.shuffled(using: &generator)).joined(separator: "\n") + "\n"
            let reread = try #require(await ExportBase.reading(lines: Array(shuffled.utf8)))
            #expect(reread.written?.entryCount == nil && reread.commits == state.commits && reread.blobs == state.blobs && reread.trees == state.trees && reread.holders == state.holders, "\(shuffled)")
        }
        // A line of version 3 that does not parse is taken as absent: the export builds that object again.
        let unparsed = try #require(await ExportBase.reading(lines: Array("grace-backup-export-state 3\nC 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e10a nothex\n".utf8)))
        #expect(unparsed.commit(of: guid("0a")) == nil)
        #expect(written.hasPrefix(ExportBase.stateHeader + "\n"))
        // Version 1, without holders, still reads (ids in either case, as Grace's Guids parse); anything malformed does not.
        let version1 = "grace-backup-export-state 1\nC 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E10A \(id(1))\nB \(String(repeating: "c", count: 64)) \(id(2)) ff\n"
            + "T 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1d1 \(id(3)) n m\n"
        let old = try #require(await ExportBase.reading(lines: Array(version1.utf8)))
        #expect(old.trees[guid("d1")]?.name == "n m" && old.commits[guid("0a")] == id(1) && old.adlers.values.first == 0xff && old.holders.isEmpty)
        for broken in ["", "grace-backup-export-state 4\n", "grace-backup-export-state 3\nX a b\n", "grace-backup-export-state 3\nA a b\n",
                       "grace-backup-export-state 3\nC a b\nD c d\nH e f\n", "grace-backup-export-state 3\nC a b", "grace-backup-export-state 2\nC 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e10a nothex\n",
                       "grace-backup-export-state 2\nC ref-a \(id(1))\n", "grace-backup-export-state 2\nT dir \(id(1)) name\n", "grace-backup-export-state 2\nX a b\n",
                       "grace-backup-export-state 2\nH \(id(1)) 0\n", "grace-backup-export-state 2\nB sha \(id(1)) zz\n",
                       "grace-backup-export-state 2\nH \(id(1)) -1\n", "grace-backup-export-state 2\nH \(id(1)) 12x\n",
                       "grace-backup-export-state 2\nH \(id(1)) \n", "grace-backup-export-state 2\nB sha \(id(1)) 1ffffffff\n", "grace-backup-export-state 2\nB x\n"] {
            #expect(await ExportBase.reading(lines: Array(broken.utf8)) == nil, "\(broken)")
        }
    }

    @Test func aGzippedStateOfAnOlderCatalogIsStillRead() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        let request = BundleExportRequest(repositoryID: repository)
        var record = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        let state = try await catalog.store.getBytes(try ObjectKey(try #require(record.state)))
        #expect(state.starts(with: Array("grace-backup-export-state 3\n".utf8)))
        // As the first catalogs wrote states: gzipped, under `state/<number>.gz`, which the record does not name.
        let gzipped = try ObjectKey("\(repository)/state/00000001.gz")
        try await catalog.store.put(gzipped, bytes: try Deflater.compress(state, format: .gzip, level: 6))
        try await catalog.store.delete(try ObjectKey(try #require(record.state)))
        record.state = nil
        record.lastFull = nil
        for copy in ["exports/00000001.json", "latest.json"] {
            try await catalog.store.put(try ObjectKey("\(repository)/\(copy)"), bytes: Array(try GraceJSON.encode(record)))
        }
        let base = try await catalog.base(after: record).materialized()
        #expect(base.holders.count > 0 && base.commits.count > 0)
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        // A full export reads it to copy the first bundle, and its sweep of files no record names keeps
        // it: the record names it by naming none.
        let (report, _) = try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now())
        #expect(report.full && report.newCommits == 1 && report.copiedObjects > 0, "\(report)")
        #expect(try await catalog.store.head(gzipped) != nil, "the state of the record before the newest stays")
    }

    /// A catalog written before states were sorted: its state of version 2 is read into maps, the
    /// changes over it keep record version 2, and the next state written whole is version 3.
    @Test func aCatalogOfAnEarlierVersionIsContinued() async throws {
        var (fixture, repository, catalog) = try await Self.start(files: 30, operations: 6)
        defer { fixture.remove() }
        catalog.changesShare = 4
        let request = BundleExportRequest(repositoryID: repository)
        var first = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        // As version 2 wrote it: the same lines under its header, in another order, named by its SHA-256.
        let sorted = try await catalog.store.getBytes(try ObjectKey(try #require(first.state)))
        let lines = String(decoding: sorted, as: UTF8.self).split(separator: "\n").dropFirst()
        let older = Array((["grace-backup-export-state 2"] + lines.reversed()).joined(separator: "\n").utf8) + [UInt8(ascii: "\n")]
        let olderKey = "\(repository)/state/00000001-\(Vault.sha256Hex(older).prefix(16)).txt"
        try await catalog.store.put(try ObjectKey(olderKey), bytes: older)
        (first.state, first.version) = (olderKey, 1)
        for copy in ["exports/00000001.json", "latest.json"] {
            try await catalog.store.put(try ObjectKey("\(repository)/\(copy)"), bytes: Array(try GraceJSON.encode(first)))
        }
        let firstBase = try await catalog.base(after: first)
        #expect(firstBase.written == nil && firstBase.commits.count > 0, "read into maps")
        var versions: [Int] = [], states: [String] = []
        for round in 1...6 {
            try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
            let record = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
            versions.append(record.version)
            states.append(String(decoding: try await catalog.store.getBytes(try ObjectKey(try #require(record.state))).prefix(27), as: UTF8.self))
            #expect(try await catalog.base(after: record).materialized().commits.count == firstBase.commits.count + round, "one commit more a promotion")
        }
        // Changes over the older state, then a state written whole (sorted), and changes over that.
        #expect(versions.first == 2 && states.first == "grace-backup-export-state 2" && versions.contains(3), "\(versions) \(states)")
        for (version, state) in zip(versions, states) {
            #expect(version == (state == "grace-backup-export-state 3" ? 3 : 2), "\(versions) \(states)")
        }
    }

    /// A state is searched where it lies, its lines not all read: a byte changed in storage is found
    /// by the SHA-256 its name carries, before an export trusts it.
    @Test func aStateWhoseBytesAreNotTheOnesItsNameGivesIsRefused() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 20, operations: 4)
        defer { fixture.remove() }
        let record = try #require(try await catalog.exportNext(from: fixture.deployment, BundleExportRequest(repositoryID: repository), now: fixture.clock.now()).1)
        let key = try ObjectKey(try #require(record.state))
        var bytes = try await catalog.store.getBytes(key)
        _ = try await catalog.base(after: record)
        // One hexadecimal digit of an id changed: still a state that reads, with a wrong entry.
        let digit = try #require(bytes.indices.last { bytes[$0] == UInt8(ascii: "a") })
        bytes[digit] = UInt8(ascii: "b")
        try await catalog.store.put(key, bytes: bytes)
        await #expect {
            _ = try await catalog.base(after: record)
        } throws: { error in
            "\(error)".contains("SHA-256") && "\(error)".contains(key.rawValue)
        }
    }

    /// An export writes what changed since the last state written whole, not the state: the changes
    /// read back over that state give what the export held, until they pass their share. An export
    /// that reads the state each time (searching it in place) and a follower that holds it in maps
    /// write the same files.
    @Test func aStateIsWrittenAsItsChangesWhileTheyAreFewAndReadsBackTheSame() async throws {
        var (fixture, repository, catalog) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        catalog.changesShare = 4  // changes while they are at most a quarter of the state's entries
        // A second follower whose state is held in maps (as `export-bundle --follow` holds it), not
        // searched in place: the same bundles and states, byte for byte.
        var inMaps = ExportCatalog(store: try FileSystemObjectStore(root: fixture.root.appendingPathComponent("catalog-in-maps"), create: true),
                                   repositoryID: repository)
        inMaps.changesShare = 4
        let request = BundleExportRequest(repositoryID: repository)
        var tip: CatalogTip?, mapsTip: CatalogTip?
        var records: [BundleExportRecord] = []
        for round in 0..<8 {
            if round > 0 { try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1) }
            // The first reads the catalog's state each time, as a new process does, and searches it in place.
            tip = nil
            let record = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now(), continuing: &tip).1)
            let other = try #require(try await inMaps.exportNext(from: fixture.deployment, request, now: fixture.clock.now(), continuing: &mapsTip).1)
            #expect(mapsTip?.base.written == nil, "a base held in maps stays so, even when its state is written whole; round \(round)")
            // As a follower started on a catalog finds it: the state read to be searched, then held in maps.
            if round == 0 { mapsTip = try await inMaps.tip() }
            #expect(round > 0 || mapsTip?.base.written != nil)
            mapsTip = mapsTip?.heldInMaps()
            #expect(mapsTip?.base.written == nil && (round == 0 || tip?.base.written != nil), "round \(round)")
            #expect(other.bundle == record.bundle && other.state == record.state && other.stateChanges == record.stateChanges, "round \(round)")
            records.append(record)
            let held = try #require(tip?.base).materialized()
            let read = try await catalog.base(after: record).materialized()
            #expect(read.refs == held.refs && read.commits == held.commits && read.blobs == held.blobs && read.adlers == held.adlers, "round \(round)")
            #expect(read.trees == held.trees && read.holders == held.holders, "round \(round)")
            #expect(record.version == 3)
            if let changes = record.stateChanges {
                let text = try await catalog.store.getBytes(try ObjectKey(changes))
                #expect(text.starts(with: Array("\(ExportBase.changesHeader) \(try #require(record.state))\n".utf8)))
                #expect(text.count < (try await catalog.store.getBytes(try ObjectKey(record.state!))).count, "changes are shorter than the state")
            }
        }
        // Changes accumulate from the last whole state until they pass their share; then the state is written whole again.
        let kinds = records.map { $0.stateChanges == nil ? "whole" : "changes" }
        #expect(kinds.first == "whole" && kinds.contains("changes") && kinds.dropFirst().drop { $0 == "whole" }.contains("whole"), "\(kinds)")
        for (earlier, later) in zip(records, records.dropFirst()) where later.stateChanges != nil {
            #expect(later.state == earlier.state, "changes build on the last state written whole")
        }
        // Changes are never applied to another state than the one they name.
        let changed = try #require(records.last { $0.stateChanges != nil })
        var elsewhere = changed
        elsewhere.state = "\(repository)/state/00000099-copy.txt"
        try await catalog.store.put(try ObjectKey(elsewhere.state!), bytes: try await catalog.store.getBytes(try ObjectKey(try #require(changed.state))))
        _ = try await catalog.base(after: changed)
        await #expect {
            _ = try await catalog.base(after: elsewhere)
        } throws: { error in
            "\(error)".contains("not the changes of export state")
        }
    }

    @Test func onlyTheStateFilesOfTheNewestTwoRecordsAreKept() async throws {
        var (fixture, repository, catalog) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        catalog.changesShare = 1  // every export after the first writes its changes since the first's state
        let request = BundleExportRequest(repositoryID: repository)
        var records: [BundleExportRecord] = []
        for round in 0..<4 {
            if round > 0 { try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1) }
            records.append(try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1))
        }
        #expect(records.dropFirst().allSatisfy { $0.state == records[0].state && $0.stateChanges != nil })
        var states: [String] = []
        for try await summary in catalog.store.list(under: try ObjectKey.Prefix("\(repository)/state")) { states.append(summary.key.rawValue) }
        #expect(Set(states) == Set(records.suffix(2).flatMap(catalog.statePaths)), "the first's state, and the newest two's changes")
        // An export that read the records before two others landed finds its state gone: it lost the race.
        await #expect {
            _ = try await catalog.base(after: records[1])
        } throws: { error in
            if case ExportCatalogFailure.overtaken = error { return true }
            return false
        }
        // The newest state's changes missing, with nothing after them, are damage.
        try await catalog.store.delete(try ObjectKey(try #require(records[3].stateChanges)))
        await #expect {
            _ = try await catalog.base(after: records[3])
        } throws: { error in
            "\(error)".contains("missing")
        }
    }

    @Test func filesNoRecordNamesAreSweptAndARaceLoserKeepsTheWinnersFiles() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 40, operations: 10)
        defer { fixture.remove() }
        let request = BundleExportRequest(repositoryID: repository)
        let first = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        // What an export 2 killed before its record leaves, and what an export 9 under way has written so far.
        let bundle = try await catalog.store.getBytes(try ObjectKey(first.bundle))
        let crashed = ["\(repository)/bundles/00000002-0000000000000000.bundle", "\(repository)/state/00000002-0000000000000000.txt"]
        let underWay = "\(repository)/bundles/00000009-1111111111111111.bundle"
        for key in crashed + [underWay] { try await catalog.store.put(try ObjectKey(key), bytes: bundle) }
        func stored() async throws -> Set<String> {
            var keys = Set<String>()
            for folder in ["bundles", "state"] {
                for try await summary in catalog.store.list(under: try ObjectKey.Prefix("\(repository)/\(folder)")) { keys.insert(summary.key.rawValue) }
            }
            return keys
        }

        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        let second = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        #expect(try await stored().isSuperset(of: crashed), "an incremental export between sweeps lists nothing")
        try await BundleExportTests.promoteEdits(fixture, repository: repository, rounds: 1)
        let third = try #require(try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now()).1)
        let recorded = Set([first.bundle, second.bundle, third.bundle] + [second, third].flatMap(catalog.statePaths))
        #expect(try await stored() == recorded.union([underWay]), "a full export sweeps what no record names, up to its number")

        // An export that lost the race for number 3 with the same bytes (same position) must not delete the winner's files.
        let copy = fixture.root.appendingPathComponent("loser.bundle")
        try Data(try await catalog.store.getBytes(try ObjectKey(third.bundle))).write(to: copy)
        var report = BundleExportReport(repositoryID: repository.description)
        report.bundleSHA256 = third.bundleSHA256
        report.bundleBytes = third.bundleBytes
        var next = try await catalog.base(after: third)
        await #expect {
            _ = try await catalog.append(bundle: copy, report: report, next: &next, after: second, number: 3, lastFull: 3, now: fixture.clock.now())
        } throws: { error in
            if case ExportCatalogFailure.overtaken = error { return true }
            return false
        }
        #expect(try await stored() == recorded.union([underWay]), "the winner's bundle and state are still there")
    }

    @Test func aDamagedBundleInTheChainIsNamedNotCopied() async throws {
        let (fixture, repository, catalog) = try await Self.start(files: 60, operations: 20)
        defer { fixture.remove() }
        let request = BundleExportRequest(repositoryID: repository)
        let first = try #require(try await catalog.exportNext(from: fixture.deployment, request, now: fixture.clock.now()).1)
        let file = Self.bundleFile(fixture, first)
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: file)
        await #expect {
            _ = try await catalog.exportNext(from: fixture.deployment, request, full: true, now: fixture.clock.now())
        } throws: { error in
            "\(error)".contains(first.bundle) && "\(error)".contains("SHA-256")
        }
        #expect(try await catalog.records().count == 1, "nothing recorded")
    }
}
