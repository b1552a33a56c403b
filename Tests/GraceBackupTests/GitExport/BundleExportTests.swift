import Foundation
import GRDB
@testable import GraceBackup
import GraceBackupTesting
import GraceGit
import GraceModel
import GraceStorage
import Testing

struct BundleExportTests {
    /// Exports to `file`; returns the report and the base for the next export.
    static func export(_ fixture: VaultFixture, _ request: BundleExportRequest, base: ExportBase?, to file: URL) async throws -> (BundleExportReport, ExportBase) {
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forUpdating: file)
        defer { try? handle.close() }
        return try await BundleExporter(deployment: fixture.deployment).export(request, base: base, destination: handle)
    }

    /// The paths of the directory versions below `root` with no file anywhere below them.
    static func emptyDirectoryPaths(_ fixture: VaultFixture, root: DirectoryVersionID) async throws -> [String] {
        let view = try await fixture.deployment.database.openReadView(.latest)
        func visit(_ id: DirectoryVersionID, into empty: inout [String]) async throws -> Bool {
            let directory = try #require(try await view.directoryVersion(id))
            var holdsFiles = !directory.files.isEmpty
            for child in directory.directories { holdsFiles = try await visit(child, into: &empty) || holdsFiles }
            if !holdsFiles { empty.append(directory.relativePath) }
            return holdsFiles
        }
        var empty: [String] = []
        _ = try await visit(root, into: &empty)
        return empty
    }

    /// Every file of a checked-out tree, by relative path.
    static func checkout(_ folder: URL) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in enumerator {
            let relative = String(url.path.dropFirst(folder.path.count + 1))
            if relative == ".git" || relative.hasPrefix(".git/") { continue }
            if try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true { files[relative] = Array(try Data(contentsOf: url)) }
        }
        return files
    }

    /// Every file of a Grace root directory version, by relative path, with its bytes.
    static func graceTree(_ fixture: VaultFixture, root: DirectoryVersionID) async throws -> [String: [UInt8]] {
        try await graceTreeIn(fixture.deployment, root: root)
    }

    static func graceTreeIn(_ deployment: Deployment, root: DirectoryVersionID) async throws -> [String: [UInt8]] {
        let view = try await deployment.database.openReadView(.latest)
        var files: [String: [UInt8]] = [:]
        var pending = [root]
        while let id = pending.popLast() {
            let directory = try #require(try await view.directoryVersion(id))
            pending += directory.directories
            for file in directory.files {
                let stored = try await deployment.objects.getBytes(try ObjectKey.fileVersion(file, in: directory.repositoryID))
                files[file.relativePath] = try GraceBlob.plainBytes(storedBytes: stored, isBinary: file.isBinary, expectedSizeBytes: file.size)
            }
        }
        return files
    }

    static func latestPromotion(_ fixture: VaultFixture, repository: RepositoryID) async throws -> Reference {
        let view = try await fixture.deployment.database.openReadView(.latest)
        let main = try #require(try await view.branches(in: repository).first { $0.branchName == "main" })
        return try #require(try await view.references(in: repository).filter { $0.branchID == main.branchID && $0.referenceType == .promotion }.max { $0.createdAt < $1.createdAt })
    }

    /// The files of main's latest promotion, each as its bytes: a tree to change and promote again.
    static func latestTree(_ fixture: VaultFixture, repository: RepositoryID) async throws -> WorkingTree {
        var tree = WorkingTree()
        for (path, bytes) in try await graceTree(fixture, root: try await latestPromotion(fixture, repository: repository).directoryID) { tree.files[path] = .content(bytes) }
        return tree
    }

    /// Records `tree` as a commit on a new child branch of main, a minute after the last change, and promotes it.
    static func promote(_ tree: WorkingTree, _ fixture: VaultFixture, repository: RepositoryID, branch name: String,
                        recording: String, promoting: String) async throws {
        let main = try #require(try await fixture.deployment.database.openReadView(.latest).branches(in: repository).first { $0.branchName == "main" })
        let branch = try await fixture.writer.createBranch(name: name, parent: main.branchID)
        fixture.clock.advance(seconds: 60)
        _ = try await fixture.writer.record(.commit, of: tree, on: branch.branchID, message: recording)
        _ = try await fixture.writer.promote(branch.branchID, message: promoting)
    }

    /// Edits a few files of the latest promotion on a new child branch and promotes them, `rounds` times.
    static func promoteEdits(_ fixture: VaultFixture, repository: RepositoryID, rounds: Int) async throws {
        for round in 0..<rounds {
            let promotion = try await latestPromotion(fixture, repository: repository)
            let view = try await fixture.deployment.database.openReadView(.latest)
            var tree = WorkingTree()
            var pending = [promotion.directoryID]
            while let id = pending.popLast() {
                let directory = try #require(try await view.directoryVersion(id))
                pending += directory.directories
                for file in directory.files { tree.files[file.relativePath] = .stored(file) }
            }
            for path in tree.files.keys.sorted().prefix(3) {
                guard case let .stored(file) = tree.files[path]! else { continue }
                let stored = try await fixture.deployment.objects.getBytes(try ObjectKey.fileVersion(file, in: repository))
                let plain = try GraceBlob.plainBytes(storedBytes: stored, isBinary: file.isBinary, expectedSizeBytes: file.size)
                tree.files[path] = .content(plain + Array("edited in round \(round)\n".utf8))
            }
            tree.files["added/round-\(round).txt"] = .content(Array("new in round \(round)\n".utf8))
            try await Self.promote(tree, fixture, repository: repository, branch: "edit-\(round)", recording: "Edit round \(round)", promoting: "Promote round \(round)")
        }
    }

    /// An export holds the directory versions of a window of references at a time; one window or
    /// many, the same objects, and git finds nothing wrong.
    @Test func aHistoryLongerThanTheDirectoryWindowExportsTheSameObjects() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 30)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        try await Self.promoteEdits(fixture, repository: repository, rounds: 3)
        var objects: [Int: Set<String>] = [:]
        for window in [1, 2, BundleExporter(deployment: fixture.deployment).directoryWindow] {
            var exporter = BundleExporter(deployment: fixture.deployment)
            exporter.directoryWindow = window
            let file = fixture.root.appendingPathComponent("window-\(window).bundle")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forUpdating: file)
            let (report, _) = try await exporter.export(BundleExportRequest(repositoryID: repository, includeCommits: true), base: nil, destination: handle)
            try handle.close()
            #expect(report.newCommits >= 4, "more references than the smallest windows")
            objects[window] = try await ExportCatalogTests.cloneObjects(file, into: fixture.root.appendingPathComponent("clone-\(window)")).objects
        }
        #expect(Set(objects.values).count == 1 && objects[1]!.count > 10)
    }

    /// Every object in a bundle's pack, as `git verify-pack -v` reads them: its delta depth (0 for an
    /// object stored whole), the object it is a delta against, and its entry's length in the pack.
    static func packEntries(_ bundle: URL, in folder: URL) async throws -> [String: (depth: Int, base: String?, sizeInPack: Int)] {
        try await GitTool.run(["init", "-q", "--bare", folder.path])
        try await GitTool.run(["bundle", "unbundle", bundle.path], in: folder)
        let pack = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("objects/pack").path).first { $0.hasSuffix(".idx") })
        let verbose = try await GitTool.run(["verify-pack", "-v", folder.appendingPathComponent("objects/pack/\(pack)").path], in: folder)
        // "id type size size-in-pack offset", then "depth base-id" for a delta.
        var entries: [String: (depth: Int, base: String?, sizeInPack: Int)] = [:]
        for line in verbose.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5, fields[0].count == 40 else { continue }
            let sizeInPack = try #require(Int(fields[3]))
            entries[String(fields[0])] = fields.count >= 7 ? (try #require(Int(fields[5])), String(fields[6]), sizeInPack) : (0, nil, sizeInPack)
        }
        return entries
    }

    /// Contents are prepared several at once but written in the order planned: one history exported
    /// twice is the same bytes, and a delta chain stops at the depth set however the work interleaves.
    @Test func aHistoryExportsToTheSameBytesEveryTimeAndDeltaChainsStopAtTheirDepth() async throws {
        let fixture = try await VaultFixture(files: 200, operations: 20)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        try await Self.promoteEdits(fixture, repository: repository, rounds: 6)
        func export(_ name: String, maxDeltaDepth: Int) async throws -> (bytes: Data, depths: [Int], objects: Set<String>) {
            var exporter = BundleExporter(deployment: fixture.deployment)
            exporter.maxDeltaDepth = maxDeltaDepth
            exporter.batchBytes = 1  // a task per content: the order they finish in varies most
            let file = fixture.root.appendingPathComponent("\(name).bundle")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forUpdating: file)
            _ = try await exporter.export(BundleExportRequest(repositoryID: repository), base: nil, destination: handle)
            try handle.close()
            return (try Data(contentsOf: file), try await Self.packEntries(file, in: fixture.root.appendingPathComponent("\(name)-unbundled")).values.map(\.depth),
                    try await ExportCatalogTests.cloneObjects(file, into: fixture.root.appendingPathComponent("\(name)-clone")).objects)
        }
        let first = try await export("first", maxDeltaDepth: 50), second = try await export("second", maxDeltaDepth: 50)
        let sameBytes = first.bytes == second.bytes  // not in #expect: its diff of two large byte strings takes minutes
        #expect(sameBytes, "\(first.bytes.count) and \(second.bytes.count) bytes")
        // Six rounds of edits to the same files chain six deep; a depth of 2 cuts those chains with whole objects.
        #expect(first.depths.max()! >= 6)
        let shallow = try await export("shallow", maxDeltaDepth: 2)
        #expect(shallow.depths.max() == 2 && shallow.objects == first.objects)
    }

    /// A file moved to another folder and one renamed in its own, each with a line added, are stored as
    /// deltas against their old contents, as git's search of similar names and sizes would store them;
    /// so is the tree of a folder moved with a file added.
    /// An edited file is a delta against its previous version at the same path; a moved or renamed one,
    /// against its old content elsewhere.
    @Test func aMovedOrRenamedFileIsADeltaAgainstItsOldContent() async throws {
        let fixture = try await VaultFixture(files: 60, operations: 5)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let promotion = try await Self.latestPromotion(fixture, repository: repository)
        var contents = try await Self.graceTree(fixture, root: promotion.directoryID)
        // Two text files in folders, large enough that a delta against them is worth it.
        let chosen = Array(contents.keys.sorted().filter { $0.contains("/") && contents[$0]!.count >= 2_000 && !contents[$0]!.contains(0) }.prefix(3))
        try #require(chosen.count == 3)
        let (movedFrom, renamedFrom, edited) = (chosen[0], chosen[1], chosen[2])
        let name = String(movedFrom.split(separator: "/").last!)
        let movedTo = "moved-here/" + name
        let renamedTo = String(renamedFrom.dropLast(renamedFrom.split(separator: "/").last!.count)) + "Renamed-" + String(renamedFrom.split(separator: "/").last!)
        var tree = WorkingTree()
        for (path, bytes) in contents { tree.files[path] = .content(bytes) }
        tree.files[movedFrom] = nil
        tree.files[renamedFrom] = nil
        tree.files[movedTo] = .content(contents[movedFrom]! + Array("moved\n".utf8))
        tree.files[renamedTo] = .content(contents[renamedFrom]! + Array("renamed\n".utf8))
        tree.files[edited] = .content(contents[edited]! + Array("edited in place\n".utf8))
        // A folder of files only, the one of its name, away from the two files above, moved whole with one file added.
        let folders = Set(contents.keys.flatMap { path in
            let parts = path.split(separator: "/").dropLast()
            return parts.indices.map { parts[...$0].joined(separator: "/") }
        })
        func lastName(_ folder: String) -> Substring { folder.split(separator: "/").last! }
        let leaf = try #require(folders.sorted().first { folder in
            !folders.contains { $0.hasPrefix(folder + "/") } && contents.keys.filter { $0.hasPrefix(folder + "/") }.count >= 3
                && !movedFrom.hasPrefix(folder + "/") && !renamedFrom.hasPrefix(folder + "/") && !edited.hasPrefix(folder + "/")
                && folders.filter { lastName($0) == lastName(folder) }.count == 1
        })
        let folderMovedTo = "moved-here/" + leaf.split(separator: "/").last!
        for path in contents.keys where path.hasPrefix(leaf + "/") {
            tree.files[path] = nil
            tree.files[folderMovedTo + path.dropFirst(leaf.count)] = .content(contents[path]!)
        }
        tree.files[folderMovedTo + "/added.txt"] = .content(Array("added with the move\n".utf8))
        try await Self.promote(tree, fixture, repository: repository, branch: "moves", recording: "Move and rename", promoting: "Promote the move")
        contents[movedTo] = tree.files[movedTo].flatMap { if case let .content(bytes) = $0 { bytes } else { nil } }
        contents[renamedTo] = tree.files[renamedTo].flatMap { if case let .content(bytes) = $0 { bytes } else { nil } }
        let editedBefore = contents[edited]!
        contents[edited] = tree.files[edited].flatMap { if case let .content(bytes) = $0 { bytes } else { nil } }

        let file = fixture.root.appendingPathComponent("moves.bundle")
        _ = try await Self.export(fixture, BundleExportRequest(repositoryID: repository), base: nil, to: file)
        let entries = try await Self.packEntries(file, in: fixture.root.appendingPathComponent("moves-unbundled"))
        let editedOld = editedBefore.withUnsafeBytes { GitObjectID.of(.blob, content: $0).hex }
        let editedNew = try #require(contents[edited]).withUnsafeBytes { GitObjectID.of(.blob, content: $0).hex }
        #expect(entries[editedNew]?.base == editedOld, "\(edited) against its previous version")
        for (from, to) in [(movedFrom, movedTo), (renamedFrom, renamedTo)] {
            let old = contents[from]!.withUnsafeBytes { GitObjectID.of(.blob, content: $0).hex }
            let new = try #require(contents[to]).withUnsafeBytes { GitObjectID.of(.blob, content: $0).hex }
            #expect(entries[new]?.base == old, "\(to) against \(from)")
        }
        let clone = fixture.root.appendingPathComponent("moves-clone")
        _ = try await ExportCatalogTests.cloneObjects(file, into: clone)
        let movedTree = try await GitTool.run(["rev-parse", "main:" + folderMovedTo], in: clone).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(entries[movedTree]?.base != nil, "the tree of \(leaf) moved to \(folderMovedTo)")
    }

    /// Grace's metadata naming the same bytes under two SHA-256 values (written wrong somewhere) gives
    /// one blob for both, written once: a delta planned against the second is written whole instead,
    /// and git finds the bundle sound.
    @Test func aDeltaWhoseBaseTheMetadataNamedTwiceIsWrittenWhole() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 3)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let view = try await fixture.deployment.database.openReadView(.latest)
        var tree = WorkingTree()
        var pending = [try await Self.latestPromotion(fixture, repository: repository).directoryID]
        while let id = pending.popLast() {
            let directory = try #require(try await view.directoryVersion(id))
            pending += directory.directories
            for file in directory.files { tree.files[file.relativePath] = .stored(file) }
        }
        let original = try #require(tree.files.values.compactMap { entry -> FileVersion? in
            guard case let .stored(file) = entry, !file.isBinary, file.size >= 2_000 else { return nil }
            return file
        }.sorted { $0.relativePath < $1.relativePath }.first)
        let stored = try await fixture.deployment.objects.getBytes(try ObjectKey.fileVersion(original, in: repository))
        let plain = try GraceBlob.plainBytes(storedBytes: stored, isBinary: false, expectedSizeBytes: original.size)
        // The same bytes at a new path, under a SHA-256 that is not theirs (the BLAKE3 is).
        let copyPath = "copies/" + original.relativePath.split(separator: "/").last!
        var copy = FileVersion(relativePath: copyPath, hashes: FileHashes(sha256: String(repeating: "ab", count: 32), blake3: original.blake3Hash),
                               isBinary: false, size: original.size, createdAt: fixture.clock.now(), blobUri: "")
        let copyKey = try ObjectKey.fileVersion(copy, in: repository)
        copy.blobUri = copyKey.rawValue
        try await fixture.deployment.objects.put(copyKey, bytes: stored)
        let edited = plain + Array("edited after the copy\n".utf8)
        for (round, entry) in [TreeFile.stored(copy), .content(edited)].enumerated() {
            tree.files[copyPath] = entry
            try await Self.promote(tree, fixture, repository: repository, branch: "copy-\(round)", recording: "Copy round \(round)", promoting: "Promote copy round \(round)")
        }

        let file = fixture.root.appendingPathComponent("twice.bundle")
        let (report, _) = try await Self.export(fixture, BundleExportRequest(repositoryID: repository, branches: ["main"]), base: nil, to: file)
        #expect(report.deltas > 0)
        let entries = try await Self.packEntries(file, in: fixture.root.appendingPathComponent("twice-unbundled"))
        let editedID = edited.withUnsafeBytes { GitObjectID.of(.blob, content: $0).hex }
        #expect(entries[editedID].map { $0.base == nil } == true, "written whole, its planned base being in the pack under another path")
        let clone = fixture.root.appendingPathComponent("twice-clone")
        _ = try await ExportCatalogTests.cloneObjects(file, into: clone)
        #expect(try await GitTool.run(["rev-parse", "main:" + copyPath], in: clone).trimmingCharacters(in: .whitespacesAndNewlines) == editedID)
    }

    /// A content at or over `streamedContentBytes` is streamed into the pack, never held whole: the
    /// same objects as when it is held, each stored whole (held, the edited ones are deltas), and git
    /// clones the bundle to the promotion's files; the same bytes under a second SHA-256 (metadata
    /// written wrong) are in the pack once; bytes that are not their file version's stop the export.
    @Test func aContentTooLargeToHoldIsStreamedIntoTheSameObjects() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 3)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        var tree = try await Self.latestTree(fixture, repository: repository)
        var generator = SystemRandomNumberGenerator()
        let text = Array((0..<60_000).map { "line \($0) of a large generated file\n" }.joined().utf8)
        let noise = (0..<1_500_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let pattern = (0..<1_200_000).map { UInt8($0 % 1000 % 16) }  // sixteen byte values, NUL among them: a binary that compresses
        for round in 0..<2 {
            let edit = Array("edited in round \(round)\n".utf8)
            tree.files["large/generated.txt"] = .content(text + edit)
            tree.files["large/noise.bin"] = .content(noise)
            tree.files["large/pattern.bin"] = .content(pattern + edit)
            try await Self.promote(tree, fixture, repository: repository, branch: "large-\(round)", recording: "Large files, round \(round)", promoting: "Promote large files, round \(round)")
        }
        let newest = try await Self.latestPromotion(fixture, repository: repository)
        let view = try await fixture.deployment.database.openReadView(.latest)
        let root = try #require(try await view.directoryVersion(newest.directoryID))
        let large = try #require(try await view.directoryVersions(root.directories).first { $0.relativePath == "large" })
        #expect(Set(large.files.map(\.isBinary)) == [false, true])

        func export(_ name: String, streamedContentBytes: Int64) async throws -> URL {
            var exporter = BundleExporter(deployment: fixture.deployment)
            exporter.streamedContentBytes = streamedContentBytes
            let file = fixture.root.appendingPathComponent("\(name).bundle")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forUpdating: file)
            defer { try? handle.close() }
            _ = try await exporter.export(BundleExportRequest(repositoryID: repository, branches: ["main"]), base: nil, destination: handle)
            return file
        }
        let held = try await export("held", streamedContentBytes: 1 << 30)
        let streamed = try await export("streamed", streamedContentBytes: 1 << 20)
        let heldObjects = try await ExportCatalogTests.cloneObjects(held, into: fixture.root.appendingPathComponent("held-clone")).objects
        #expect(try await ExportCatalogTests.cloneObjects(streamed, into: fixture.root.appendingPathComponent("streamed-clone")).objects == heldObjects)
        let largeIDs = [text, pattern].flatMap { content in (0..<2).map { content + Array("edited in round \($0)\n".utf8) } } + [noise]
        let heldEntries = try await Self.packEntries(held, in: fixture.root.appendingPathComponent("held-unbundled"))
        let streamedEntries = try await Self.packEntries(streamed, in: fixture.root.appendingPathComponent("streamed-unbundled"))
        for content in largeIDs {
            let id = GitObjectID.of(.blob, content: content).hex
            #expect(streamedEntries[id].map { $0.depth == 0 } == true, "streamed whole")
            #expect(heldEntries[id] != nil)
        }
        #expect(heldEntries.values.contains { $0.depth > 0 } && streamedEntries.count == heldEntries.count)
        // Encoded as held contents are: the text as Grace's deflate data re-wrapped (gzip's 10-byte header and
        // 8-byte trailer become zlib's 2 and 4), the noise in stored blocks, the pattern deflated.
        let firstText = try #require(large.files.first { $0.relativePath == "large/generated.txt" })
        let storedText = try await fixture.deployment.objects.getBytes(try ObjectKey.fileVersion(firstText, in: repository))
        let textEntry = try #require(streamedEntries[GitObjectID.of(.blob, content: text + Array("edited in round 1\n".utf8)).hex])
        #expect(storedText[3] == 0 && textEntry.sizeInPack - 4 == storedText.count - 12, "entry header 4 bytes for \(text.count + 18) bytes")
        #expect(try #require(streamedEntries[GitObjectID.of(.blob, content: noise).hex]).sizeInPack > noise.count)
        #expect(try #require(streamedEntries[GitObjectID.of(.blob, content: pattern + Array("edited in round 1\n".utf8)).hex]).sizeInPack < pattern.count / 4)
        let clone = fixture.root.appendingPathComponent("streamed-checkout")
        try await GitTool.run(["clone", "-q", "-b", "main", streamed.path, clone.path])
        #expect(try Self.checkout(clone) == (try await Self.graceTree(fixture, root: newest.directoryID)))

        // The large text's bytes again at another path, under a SHA-256 that is not theirs: streamed twice, packed once.
        let original = try #require(large.files.first { $0.relativePath == "large/generated.txt" })
        var copy = FileVersion(relativePath: "copies/generated.txt", hashes: FileHashes(sha256: String(repeating: "cd", count: 32), blake3: original.blake3Hash),
                               isBinary: false, size: original.size, createdAt: fixture.clock.now(), blobUri: "")
        let copyKey = try ObjectKey.fileVersion(copy, in: repository)
        copy.blobUri = copyKey.rawValue
        try await fixture.deployment.objects.put(copyKey, bytes: try await fixture.deployment.objects.getBytes(try ObjectKey.fileVersion(original, in: repository)))
        tree.files[copy.relativePath] = .stored(copy)
        try await Self.promote(tree, fixture, repository: repository, branch: "copy", recording: "A copy", promoting: "Promote a copy")
        let twice = try await export("twice", streamedContentBytes: 1 << 20)
        let unbundled = fixture.root.appendingPathComponent("twice-unbundled")
        let entries = try await Self.packEntries(twice, in: unbundled)
        let pack = try #require(try FileManager.default.contentsOfDirectory(atPath: unbundled.appendingPathComponent("objects/pack").path).first { $0.hasSuffix(".idx") })
        let listed = try await GitTool.run(["verify-pack", "-v", unbundled.appendingPathComponent("objects/pack/\(pack)").path], in: unbundled)
        let copyID = GitObjectID.of(.blob, content: text + Array("edited in round 1\n".utf8)).hex
        #expect(entries[copyID] != nil && listed.split(separator: "\n").filter { $0.hasPrefix(copyID) }.count == 1)
        _ = try await ExportCatalogTests.cloneObjects(twice, into: fixture.root.appendingPathComponent("twice-clone"))

        // Bytes that are not the file version's: the noise changed in place, then the text cut short.
        let noiseFile = try #require(large.files.first { $0.relativePath == "large/noise.bin" })
        let noiseKey = try ObjectKey.fileVersion(noiseFile, in: repository)
        try await fixture.deployment.objects.put(noiseKey, bytes: noise.reversed())
        let textKey = try ObjectKey.fileVersion(original, in: repository)
        let gzip = try await fixture.deployment.objects.getBytes(textKey)
        for (damage, expected) in [("BLAKE3", "hashes to BLAKE3"), ("cut", "does not decode")] {
            if damage == "cut" {
                try await fixture.deployment.objects.put(noiseKey, bytes: noise)
                try await fixture.deployment.objects.put(textKey, bytes: Array(gzip.prefix(gzip.count / 2)))
            }
            do {
                _ = try await export("damaged-\(damage)", streamedContentBytes: 1 << 20)
                Issue.record("an export of damaged content must fail (\(damage))")
            } catch let failure as BundleExportFailure {
                #expect(failure.kind == .integrity && failure.description.contains(expected), "\(failure)")
            }
        }
    }

    /// A delta's base is read from object storage once, for its own blob, and kept for the delta.
    @Test func aDeltasBaseIsReadOnce() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 3)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        try await Self.promoteEdits(fixture, repository: repository, rounds: 4)
        let view = try await fixture.deployment.database.openReadView(.latest)
        var contents = Set<String>()
        let main = try #require(try await view.branches(in: repository).first { $0.branchName == "main" })
        for promotion in try await view.references(in: repository).filter({ $0.referenceType == .promotion && $0.branchID == main.branchID }) {
            var pending = [promotion.directoryID]
            while let id = pending.popLast() {
                let directory = try #require(try await view.directoryVersion(id))
                pending += directory.directories
                for file in directory.files { contents.insert(file.sha256Hash) }
            }
        }
        let metered = MeteredObjectStore(fixture.deployment.objects)
        var exporter = BundleExporter(deployment: Deployment(database: fixture.deployment.database, objects: metered, location: fixture.deployment.location))
        exporter.batchBytes = .max  // one batch: each base is read before the delta after it asks
        exporter.smallestBatchBytes = .max
        let file = fixture.root.appendingPathComponent("once.bundle")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forUpdating: file)
        let (report, _) = try await exporter.export(BundleExportRequest(repositoryID: repository, branches: ["main"]), base: nil, destination: handle)
        try handle.close()
        #expect(report.deltas >= 12, "four rounds of three edited files")
        #expect(metered.requests.gets == contents.count)
        _ = try await ExportCatalogTests.cloneObjects(file, into: fixture.root.appendingPathComponent("once-clone"))
    }

    @Test func gitClonesTheFullBundleAndFetchesTheIncrementalOne() async throws {
        let fixture = try await VaultFixture(files: 120, operations: 40)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let request = BundleExportRequest(repositoryID: repository)
        let full = fixture.root.appendingPathComponent("full.bundle")
        let (report, base) = try await Self.export(fixture, request, base: nil, to: full)
        #expect(report.full && report.newCommits >= 2 && report.prerequisites.isEmpty && report.deltas > 0)
        let empty = fixture.root.appendingPathComponent("empty")
        try await GitTool.run(["init", "-q", empty.path])
        try await GitTool.run(["bundle", "verify", full.path], in: empty)
        let clone = fixture.root.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "-b", "main", full.path, clone.path])
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsck.status == 0 && fsck.output.isEmpty, "\(fsck.output)")
        var promotion = try await Self.latestPromotion(fixture, repository: repository)
        #expect(try Self.checkout(clone) == (try await Self.graceTree(fixture, root: promotion.directoryID)))
        let message = try await GitTool.run(["log", "-1", "--format=%B"], in: clone)
        #expect(message.contains("Grace-Reference-Id: \(promotion.referenceID)"))
        // Author and committer: the repository's owner, at the promotion's time.
        let view = try await fixture.deployment.database.openReadView(.latest)
        let ownerID = try #require(try await view.repository(repository)).ownerID
        let owner = try #require(try await view.owners().first { $0.ownerID == ownerID })
        let signatures = try await GitTool.run(["log", "-1", "--format=%an|%ae|%at|%cn|%ce|%ct"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines)
        let signature = "\(owner.ownerName)|\(owner.ownerID)@grace.invalid|\(promotion.createdAt.wholeSecondsSinceEpoch)"
        #expect(signatures == "\(signature)|\(signature)")
        // A directory with no file anywhere below it is no tree: the commit's tree is what git builds from the checkout.
        let emptyFolders = try await Self.emptyDirectoryPaths(fixture, root: promotion.directoryID)
        #expect(!emptyFolders.isEmpty, "the fixture has folders with no file below them")
        let listed = Set(try await GitTool.run(["ls-tree", "-r", "-t", "--name-only", "HEAD"], in: clone).split(separator: "\n").map(String.init))
        #expect(emptyFolders.allSatisfy { !listed.contains($0) } && !listed.isEmpty)

        // The same history exports to the same ids.
        let again = fixture.root.appendingPathComponent("again.bundle")
        let (repeated, _) = try await Self.export(fixture, request, base: nil, to: again)
        #expect(repeated.refs == report.refs)

        // Nothing new: no bundle.
        let unchanged = fixture.root.appendingPathComponent("unchanged.bundle")
        #expect(try await Self.export(fixture, request, base: base, to: unchanged).0.nothingNew)

        // More promotions: the incremental bundle holds only them and fetches into the clone.
        try await Self.promoteEdits(fixture, repository: repository, rounds: 2)
        let incremental = fixture.root.appendingPathComponent("incremental.bundle")
        let (next, _) = try await Self.export(fixture, request, base: base, to: incremental)
        #expect(!next.full && next.prerequisites == [report.refs["refs/heads/main"]!] && next.newCommits > 0)
        #expect(next.bundleBytes < report.bundleBytes / 2)
        try await GitTool.run(["bundle", "verify", incremental.path], in: clone)
        try await GitTool.run(["fetch", "-q", incremental.path, "main:refs/remotes/origin/main"], in: clone)
        try await GitTool.run(["merge", "-q", "--ff-only", "origin/main"], in: clone)
        let fsckAfter = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsckAfter.status == 0 && fsckAfter.output.isEmpty, "\(fsckAfter.output)")
        promotion = try await Self.latestPromotion(fixture, repository: repository)
        #expect(try Self.checkout(clone) == (try await Self.graceTree(fixture, root: promotion.directoryID)))
        #expect(try await GitTool.run(["rev-parse", "HEAD"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines) == next.refs["refs/heads/main"])

        // A full bundle again, its ids from the cache of the exports before: it clones alone, to the same commit.
        let (_, afterIncremental) = try await Self.export(fixture, request, base: base, to: fixture.root.appendingPathComponent("again-incremental.bundle"))
        let warm = fixture.root.appendingPathComponent("warm.bundle")
        _ = FileManager.default.createFile(atPath: warm.path, contents: nil)
        let handle = try FileHandle(forUpdating: warm)
        let (warmReport, _) = try await BundleExporter(deployment: fixture.deployment).export(request, base: afterIncremental, full: true, destination: handle)
        try handle.close()
        #expect(warmReport.full && warmReport.prerequisites.isEmpty && warmReport.refs["refs/heads/main"] == next.refs["refs/heads/main"])
        let fresh = fixture.root.appendingPathComponent("fresh")
        try await GitTool.run(["clone", "-q", warm.path, fresh.path])
        let fsckFresh = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: fresh)
        #expect(fsckFresh.status == 0 && fsckFresh.output.isEmpty, "\(fsckFresh.output)")
        #expect(try Self.checkout(fresh) == (try await Self.graceTree(fixture, root: promotion.directoryID)))
    }

    @Test func aHistoryReplayedFromGitExportsTheOriginalTrees() async throws {
        let fixture = try await VaultFixture(files: 1, operations: 0)
        defer { fixture.remove() }
        let source = fixture.root.appendingPathComponent("source")
        try await GitTool.run(["init", "-q", "-b", "main", source.path])
        var trees: [String] = []
        for round in 0..<5 {
            for (path, text) in [("README.md", "read me \(round / 2)\n"), ("src/lib/a.swift", "let a = \(round)\n"), ("src/b.txt", String(repeating: "b", count: 3000 + round)),
                                 ("docs/guide/\(round).md", "guide \(round)\n")] {
                let url = source.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            try await GitTool.run(["add", "."], in: source)
            try await GitTool.run(["commit", "-q", "-m", "round \(round)"], in: source)
            trees.append(try await GitTool.run(["rev-parse", "HEAD^{tree}"], in: source).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let replayed = try await GitHistoryReplayer(writer: fixture.writer, clock: fixture.clock, gitRepository: source).run(repositoryName: "source")
        let repository = try #require(RepositoryID(replayed.repositoryID))
        let bundle = fixture.root.appendingPathComponent("replayed.bundle")
        _ = try await Self.export(fixture, BundleExportRequest(repositoryID: repository, branches: ["main"]), base: nil, to: bundle)
        let clone = fixture.root.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "-b", "main", bundle.path, clone.path])
        let exported = try await GitTool.run(["log", "--reverse", "--format=%T"], in: clone).split(separator: "\n").map(String.init)
        // The repository's initial empty promotion comes first, then one commit per original commit.
        #expect(Array(exported.dropFirst()) == trees)
        #expect(exported.first == "4b825dc642cb6eb9a060e54bf8d69288fbee4904")
    }

    @Test func tagsAndChildBranchCommitsBecomeRefs() async throws {
        let fixture = try await VaultFixture(files: 40, operations: 0)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        try await Self.promoteEdits(fixture, repository: repository, rounds: 1)
        let view = try await fixture.deployment.database.openReadView(.latest)
        let main = try #require(try await view.branches(in: repository).first { $0.branchName == "main" })
        fixture.clock.advance(seconds: 60)
        _ = try await fixture.writer.tag(main.branchID, text: "release 1..2")
        let tagged = try await Self.latestPromotion(fixture, repository: repository)
        // A child branch with two commits and no promotion of its own.
        let child = try await fixture.writer.createBranch(name: "feature", parent: main.branchID)
        var tree = WorkingTree()
        tree.files["feature.txt"] = .content(Array("one\n".utf8))
        fixture.clock.advance(seconds: 60)
        _ = try await fixture.writer.record(.commit, of: tree, on: child.branchID, message: "First feature commit")
        tree.files["feature.txt"] = .content(Array("two\n".utf8))
        fixture.clock.advance(seconds: 60)
        _ = try await fixture.writer.record(.commit, of: tree, on: child.branchID, message: "Second feature commit")
        // Another child branch, with a promotion of its own.
        let other = try await fixture.writer.createBranch(name: "other", parent: main.branchID)
        var otherTree = WorkingTree()
        otherTree.files["other.txt"] = .content(Array("only on the other branch\n".utf8))
        fixture.clock.advance(seconds: 60)
        _ = try await fixture.writer.assign(otherTree, to: other.branchID, message: "A promotion of the other branch")
        try await Self.promoteEdits(fixture, repository: repository, rounds: 1)

        // The feature branch alone: its commits and the promotions they hang off, nothing of the other branch.
        let featureOnly = fixture.root.appendingPathComponent("feature.bundle")
        let (featureReport, _) = try await Self.export(fixture, BundleExportRequest(repositoryID: repository, branches: ["feature"], includeCommits: true),
                                                       base: nil, to: featureOnly)
        #expect(Set(featureReport.refs.keys) == ["refs/heads/feature", "HEAD"] && featureReport.refs["HEAD"] == featureReport.refs["refs/heads/feature"])
        let reachable = try await ExportCatalogTests.cloneObjects(featureOnly, into: fixture.root.appendingPathComponent("feature-clone")).objects
        #expect(try await ExportCatalogTests.packedObjects(featureOnly, in: fixture.root.appendingPathComponent("feature-packed")) == reachable)
        let otherBlob = Array("only on the other branch\n".utf8).withUnsafeBytes { GitObjectID.of(.blob, content: $0).hex }
        #expect(!reachable.contains(otherBlob))

        let bundle = fixture.root.appendingPathComponent("all.bundle")
        let (report, _) = try await Self.export(fixture, BundleExportRequest(repositoryID: repository, includeCommits: true), base: nil, to: bundle)
        #expect(report.renamedRefs["refs/tags/release 1..2"] == "refs/tags/release-1-.2")
        let clone = fixture.root.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "--mirror", bundle.path, clone.path])
        let tag = try await GitTool.run(["rev-parse", "refs/tags/release-1-.2"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await GitTool.run(["log", "-1", "--format=%B", tag], in: clone).contains("Grace-Reference-Id: \(tagged.referenceID)"))
        let feature = try await GitTool.run(["log", "--format=%s", "refs/heads/feature"], in: clone).split(separator: "\n").map(String.init)
        #expect(feature.prefix(2) == ["Second feature commit", "First feature commit"])
        // The feature branch hangs off the promotion it was based on.
        let base = try await GitTool.run(["rev-parse", "refs/heads/feature~2"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(base == tag)
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsck.status == 0 && fsck.output.isEmpty, "fsck said: \(fsck.output)")
    }

    /// Tags whose names would take one ref, or a ref and a folder of it (which makes `git clone` refuse the
    /// whole bundle), each get a ref of their own, the first made keeping its name.
    @Test func tagsGitCouldNotHoldTogetherEachGetARef() async throws {
        let fixture = try await VaultFixture(files: 20, operations: 0)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let main = try #require(try await fixture.deployment.database.openReadView(.latest).branches(in: repository).first { $0.branchName == "main" })
        var tagged: [String: ReferenceID] = [:]
        for text in ["v1", "v1/rc", "a b", "a:b"] {
            try await Self.promoteEdits(fixture, repository: repository, rounds: 1)
            fixture.clock.advance(seconds: 60)
            _ = try await fixture.writer.tag(main.branchID, text: text)
            tagged[text] = try await Self.latestPromotion(fixture, repository: repository).referenceID
        }
        let bundle = fixture.root.appendingPathComponent("tags.bundle")
        let (report, _) = try await Self.export(fixture, BundleExportRequest(repositoryID: repository), base: nil, to: bundle)
        func blobID(_ text: String) async throws -> String {
            String(try await GitTool.run(["hash-object", "--stdin"], input: Data(text.utf8)).prefix(8))
        }
        let expected = ["v1": "refs/tags/v1", "v1/rc": "refs/tags/v1-rc-\(try await blobID("v1/rc"))",
                        "a b": "refs/tags/a-b", "a:b": "refs/tags/a-b-\(try await blobID("a:b"))"]
        #expect(report.renamedRefs == ["refs/tags/v1/rc": expected["v1/rc"]!, "refs/tags/a b": expected["a b"]!, "refs/tags/a:b": expected["a:b"]!])

        let clone = fixture.root.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "--mirror", bundle.path, clone.path])
        for (text, ref) in expected {
            let message = try await GitTool.run(["log", "-1", "--format=%B", ref], in: clone)
            #expect(message.contains("Grace-Reference-Id: \(tagged[text]!)"), "\(ref) for \(text)")
        }
        _ = try await GitTool.run(["bundle", "verify", "-q", bundle.path], in: clone)
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsck.status == 0 && fsck.output.isEmpty, "fsck said: \(fsck.output)")
    }

    /// A default branch whose name Git's rules change is still HEAD, under the name it is exported as.
    @Test func aDefaultBranchGitRenamesIsStillHEAD() async throws {
        let fixture = try await VaultFixture(files: 10, operations: 0)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let queue = try DatabaseQueue(path: DeploymentLocation.databasePath(in: fixture.deployment.location.folder!))
        try await queue.write { db in
            try db.execute(sql: "UPDATE repositories SET document = replace(document, ?, ?) WHERE repository_id = ?",
                           arguments: ["\"DefaultBranchName\":\"main\"", "\"DefaultBranchName\":\"main line\"", repository.description])
            #expect(db.changesCount == 1)
            try db.execute(sql: "UPDATE branches SET branch_name = 'main line', document = replace(document, ?, ?) WHERE repository_id = ? AND branch_name = 'main'",
                           arguments: ["\"BranchName\":\"main\"", "\"BranchName\":\"main line\"", repository.description])
            #expect(db.changesCount == 1)
        }
        try queue.close()
        let bundle = fixture.root.appendingPathComponent("renamed.bundle")
        let (report, _) = try await Self.export(fixture, BundleExportRequest(repositoryID: repository), base: nil, to: bundle)
        #expect(report.renamedRefs["refs/heads/main line"] == "refs/heads/main-line")
        #expect(report.refs["HEAD"] != nil && report.refs["HEAD"] == report.refs["refs/heads/main-line"], "\(report.refs)")
        let clone = fixture.root.appendingPathComponent("renamed-clone")
        try await GitTool.run(["clone", "-q", bundle.path, clone.path])
        #expect(try await GitTool.run(["rev-parse", "--abbrev-ref", "HEAD"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines) == "main-line")
    }

    /// Each a root file's RelativePath as JSON text, and what the refusal names.
    @Test(arguments: [(".git", "\".git\""), ("..", "\"..\""), ("nested/below.txt", "\"nested/below.txt\""), ("nul\\u0000name", "\"nul")])
    func aNameGitCannotHoldStopsTheExport(jsonPath: String, named: String) async throws {
        let fixture = try await VaultFixture(files: 20, operations: 0)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        let promotion = try await Self.latestPromotion(fixture, repository: repository)
        let root = try #require(try await fixture.deployment.database.openReadView(.latest).directoryVersion(promotion.directoryID))
        let victim = try #require(root.files.first)
        // A database written by something other than Grace: a root file whose path Git cannot hold there.
        let queue = try DatabaseQueue(path: DeploymentLocation.databasePath(in: fixture.deployment.location.folder!))
        try await queue.write { db in
            try db.execute(sql: "UPDATE directory_versions SET document = replace(document, ?, ?) WHERE directory_version_id = ?",
                           arguments: ["\"RelativePath\":\"\(victim.relativePath)\"", "\"RelativePath\":\"\(jsonPath)\"", root.directoryVersionID.description])
            #expect(db.changesCount == 1)
        }
        try queue.close()
        let output = fixture.root.appendingPathComponent("refused.bundle")
        do {
            _ = try await Self.export(fixture, BundleExportRequest(repositoryID: repository), base: nil, to: output)
            Issue.record("\(jsonPath) at the root must stop the export")
        } catch let failure as BundleExportFailure {
            #expect(failure.kind == .invalidInput && failure.description.contains(named) && failure.description.contains("in the directory \".\""), "\(failure)")
        }
    }

    @Test func aMissingObjectIsNamedAndAnUnknownBranchListsTheOthers() async throws {
        let fixture = try await VaultFixture(files: 30, operations: 5)
        defer { fixture.remove() }
        let repository = try await fixture.deployment.database.openReadView(.latest).repositories()[0].repositoryID
        await #expect(throws: BundleExportFailure.self) {
            _ = try await Self.export(fixture, BundleExportRequest(repositoryID: repository, branches: ["nope"]), base: nil, to: fixture.root.appendingPathComponent("x.bundle"))
        }
        // Lose the content of a file the latest promotion holds.
        let promotion = try await Self.latestPromotion(fixture, repository: repository)
        let view = try await fixture.deployment.database.openReadView(.latest)
        var pending = [promotion.directoryID]
        var victim: FileVersion?
        while victim == nil, let id = pending.popLast() {
            let directory = try #require(try await view.directoryVersion(id))
            victim = directory.files.first
            pending += directory.directories
        }
        try await fixture.deployment.objects.delete(try ObjectKey.fileVersion(try #require(victim), in: repository))
        do {
            _ = try await Self.export(fixture, BundleExportRequest(repositoryID: repository), base: nil, to: fixture.root.appendingPathComponent("y.bundle"))
            Issue.record("an export with a missing object must fail")
        } catch let failure as BundleExportFailure {
            #expect(failure.kind == .integrity && failure.description.contains("is missing"), "\(failure)")
        }
    }
}
