import Deflate
import Foundation
import GraceBackupTesting
import GraceGit
import Testing

struct GitObjectTests {
    @Test func blobAndTreeIdsMatchGit() async throws {
        let folder = try TemporaryFolder()
        try await GitTool.run(["init", "-q", folder.url.path])
        #expect(GitObjectID.of(.blob, content: Array("hello\n".utf8)).hex == "ce013625030ba8dba906f756967f9e9ca394464a")
        #expect(GitObjectID.of(.tree, content: []) == GitObjectID.emptyTree)
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 100, 70_000] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = try await GitTool.run(["hash-object", "--stdin", "-w"], in: folder.url, input: Data(bytes)).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(GitObjectID.of(.blob, content: bytes).hex == expected)
        }
        // Git's order: a directory sorts as if its name ended in "/".
        let blob = GitObjectID(hex: try await GitTool.run(["hash-object", "--stdin", "-w"], in: folder.url, input: Data("x".utf8)).trimmingCharacters(in: .whitespacesAndNewlines))!
        let inner = GitObjectID(hex: try await GitTool.run(["mktree"], in: folder.url, input: Data("100644 blob \(blob.hex)\tz\n".utf8)).trimmingCharacters(in: .whitespacesAndNewlines))!
        let entries = [
            GitTreeEntry(mode: .directory, name: Array("a".utf8), id: inner),
            GitTreeEntry(mode: .file, name: Array("a.txt".utf8), id: blob),
            GitTreeEntry(mode: .file, name: Array("a-b".utf8), id: blob),
            GitTreeEntry(mode: .file, name: Array("b".utf8), id: blob),
            // "d/" falls between "d-" and "d0".
            GitTreeEntry(mode: .file, name: Array("d0".utf8), id: blob),
            GitTreeEntry(mode: .directory, name: Array("d".utf8), id: inner),
            GitTreeEntry(mode: .file, name: Array("d-".utf8), id: blob),
        ]
        let listing = entries.map { "\($0.mode == .directory ? "040000 tree" : "100644 blob") \($0.id.hex)\t\(String(decoding: $0.name, as: UTF8.self))\n" }.joined()
        let expected = try await GitTool.run(["mktree"], in: folder.url, input: Data(listing.utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        let encoded = GitTree.encode(entries)
        #expect(GitObjectID.of(.tree, content: encoded).hex == expected)
        #expect(try GitTree.decode(encoded).map(\.name) == ["a-b", "a.txt", "a", "b", "d-", "d", "d0"].map { Array($0.utf8) })
    }

    @Test func objectIDsReadWriteAndOrderAsTheirBytes() {
        var generator = SystemRandomNumberGenerator()
        let ids = (0..<200).map { _ in GitObjectID(bytes: (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        for id in ids {
            #expect(GitObjectID(hex: id.hex) == id && GitObjectID(hex: id.hex.uppercased()) == id)
            #expect(id.hex == id.bytes.map { String(format: "%02x", $0) }.joined())
            #expect(GitObjectID(hexUTF8: Array(id.hex.utf8)[...]) == id)
        }
        #expect(ids.sorted().map(\.bytes) == ids.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
        for bad in ["", String(repeating: "a", count: 39), String(repeating: "a", count: 41), String(repeating: "g", count: 40), "-" + String(repeating: "0", count: 39)] {
            #expect(GitObjectID(hex: bad) == nil, "\(bad)")
        }
    }

    @Test func deltasRoundTripAndShrinkSmallEdits() throws {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<3000).map { _ in "word\(Int.random(in: 0..<500, using: &generator)) " }.joined()
        let base = Array(words.utf8)
        var target = base
        target.replaceSubrange(1000..<1010, with: Array("CHANGED TEXT HERE".utf8))
        target.insert(contentsOf: Array("inserted line\n".utf8), at: 5000)
        target.removeSubrange(9000..<9500)
        target += Array("appended at the end\n".utf8)
        let delta = try #require(base.withUnsafeBytes { b in target.withUnsafeBytes { t in GitDelta.encode(base: b, target: t, limit: target.count / 2) } })
        #expect(delta.count < 200, "a few edits cost \(delta.count) bytes")
        #expect(try GitDelta.apply(delta, to: base) == target)
        // Unrelated bytes: no useful delta.
        let random = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(base.withUnsafeBytes { b in random.withUnsafeBytes { t in GitDelta.encode(base: b, target: t, limit: random.count / 2) } } == nil)
        // Many random edits still round-trip.
        for _ in 0..<50 {
            var edited = base
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                let at = Int.random(in: 0..<edited.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: edited.insert(contentsOf: (0..<Int.random(in: 1...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, at: at)
                case 1: edited.removeSubrange(at..<min(edited.count, at + Int.random(in: 1...300, using: &generator)))
                default: edited[at] ^= 0x55
                }
            }
            if let delta = base.withUnsafeBytes({ b in edited.withUnsafeBytes { t in GitDelta.encode(base: b, target: t, limit: edited.count) } }) {
                #expect(try GitDelta.apply(delta, to: base) == edited)
            }
        }
        #expect(throws: GitFormatError.self) { try GitDelta.apply(delta, to: Array(base.dropLast())) }
        // One byte changed at every offset within the words a match is compared in: a copy up to it exactly.
        for at in 1000..<1024 {
            var changed = base
            changed[at] ^= 0x20
            let delta = try #require(base.withUnsafeBytes { b in changed.withUnsafeBytes { t in GitDelta.encode(base: b, target: t, limit: 100) } })
            #expect(try GitDelta.apply(delta, to: base) == changed, "byte \(at)")
        }
    }
}

struct GitPackTests {
    /// A history of three commits whose blobs change a little each time, written as deltas.
    static func writeBundle(to url: URL, in folder: URL) throws -> (commits: [GitObjectID], packChecksum: GitObjectID) {
        let header = GitBundleHeader(prerequisites: [], references: [.init(id: GitObjectID(bytes: Array(repeating: 0, count: 20)), name: "refs/heads/main")])
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forUpdating: url)
        defer { try? handle.close() }
        try handle.write(contentsOf: header.encode())
        let writer = try GitPackWriter(writingTo: handle)
        var text = Array((0..<2000).map { "line \($0) of a file that changes a little\n" }.joined().utf8)
        var previous: (offset: Int64, content: [UInt8])?
        var commits: [GitObjectID] = []
        for round in 0..<3 {
            text += Array("round \(round)\n".utf8)
            let blob = GitObjectID.of(.blob, content: text)
            let offset: Int64
            if let previous, let delta = previous.content.withUnsafeBytes({ b in text.withUnsafeBytes { t in GitDelta.encode(base: b, target: t, limit: t.count / 2) } }) {
                offset = try writer.addDelta(baseOffset: previous.offset, delta: delta)
            } else {
                offset = try text.withUnsafeBytes { try writer.add(.blob, content: $0) }
            }
            previous = (offset, text)
            let sub = GitTree.encode([GitTreeEntry(mode: .file, name: Array("notes.txt".utf8), id: blob)])
            let subID = GitObjectID.of(.tree, content: sub)
            let root = GitTree.encode([GitTreeEntry(mode: .directory, name: Array("docs".utf8), id: subID),
                                       GitTreeEntry(mode: .file, name: Array("README".utf8), id: blob)])
            let rootID = GitObjectID.of(.tree, content: root)
            let signature = GitSignature(name: "Ada <Lovelace>", email: "ada@example.com", secondsSinceEpoch: 1_767_225_600 + Int64(round) * 60)
            let commit = GitCommit(tree: rootID, parents: commits.suffix(1), author: signature, committer: signature, message: "Round \(round)\n")
            for (type, content) in [(GitObjectType.tree, sub), (.tree, root), (.commit, commit.encode())] {
                _ = try content.withUnsafeBytes { try writer.add(type, content: $0) }
            }
            commits.append(GitObjectID.of(.commit, content: commit.encode()))
        }
        let checksum = try writer.finish()
        // The header's ids are known last; its length was fixed from the start.
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: GitBundleHeader(prerequisites: [], references: [.init(id: commits.last!, name: "refs/heads/main")]).encode())
        return (commits, checksum)
    }

    @Test func gitClonesAndFsckAcceptsOurBundle() async throws {
        let folder = try TemporaryFolder()
        let bundle = folder.url.appendingPathComponent("history.bundle")
        let (commits, _) = try Self.writeBundle(to: bundle, in: folder.url)
        let empty = folder.url.appendingPathComponent("empty")
        try await GitTool.run(["init", "-q", empty.path])
        try await GitTool.run(["bundle", "verify", bundle.path], in: empty)
        let clone = folder.url.appendingPathComponent("clone")
        try await GitTool.run(["clone", "-q", "-b", "main", bundle.path, clone.path])
        #expect(try await GitTool.run(["rev-parse", "HEAD"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines) == commits.last!.hex)
        let fsck = try await GitTool.runAllowingFailure(["fsck", "--strict", "--no-dangling"], in: clone)
        #expect(fsck.status == 0 && fsck.output.isEmpty, "\(fsck.output)")
        #expect(try String(contentsOf: clone.appendingPathComponent("docs/notes.txt"), encoding: .utf8).hasSuffix("round 2\n"))
        // Our reader agrees, checksum and ids included.
        let data = try Data(contentsOf: bundle)
        let (header, packOffset) = try GitBundleHeader.parse(data)
        #expect(header.references.map(\.name) == ["refs/heads/main"])
        let pack = try GitPackReader(bytes: data.subdata(in: packOffset..<data.count))
        #expect(pack.objectIDs.count == 12)
        let parsed = try GitCommit.parse(try #require(try pack.object(commits.last!)).content)
        #expect(parsed.parents == [commits[1]] && parsed.authorName == "Ada -Lovelace-")
    }

    /// An entry streamed in pieces reads back as if added whole; one taken back leaves nothing behind,
    /// not even bytes already written past where the pack ends (git refuses a pack with junk after it).
    @Test func streamedEntriesReadBackAndADiscardedOneLeavesNothing() async throws {
        let folder = try TemporaryFolder()
        var generator = SystemRandomNumberGenerator()
        // Larger than the writer's 1 MiB buffer, so part of each is on disk before it ends.
        let kept = (0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let discarded = (0..<2_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let after = Array("written after the discarded entry\n".utf8)
        for discardLast in [false, true] {
            let file = folder.url.appendingPathComponent("streamed-\(discardLast).pack")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forUpdating: file)
            let writer = try GitPackWriter(writingTo: handle)
            func stream(_ content: [UInt8]) throws {
                try writer.startEntry(.blob, size: content.count)
                let deflater = try Deflater(.zlib, level: 6)
                for start in stride(from: 0, to: content.count, by: 65_536) {
                    try content[start..<min(content.count, start + 65_536)].withUnsafeBytes { piece in try deflater.feed(piece) { try writer.appendToEntry($0) } }
                }
                try deflater.finish { try writer.appendToEntry($0) }
            }
            try stream(kept)
            writer.endEntry()
            try stream(discarded)
            writer.discardEntry()
            if !discardLast { _ = try after.withUnsafeBytes { try writer.add(.blob, content: $0) } }
            _ = try writer.finish()
            try handle.close()
            let pack = try GitPackReader(bytes: try Data(contentsOf: file))
            let expected = [kept] + (discardLast ? [] : [after])
            #expect(Set(pack.objectIDs) == Set(expected.map { GitObjectID.of(.blob, content: $0) }), "discarded last: \(discardLast)")
            #expect(try pack.object(GitObjectID.of(.blob, content: kept))?.content == kept)
            let indexed = try await GitTool.runAllowingFailure(["index-pack", file.path], in: folder.url)
            #expect(indexed.status == 0, "\(indexed.output)")
        }
    }

    /// A whole object of `GitLargeObject.bytes` or more is identified as the pack is first read and passed
    /// on in pieces; a delta against it is still rebuilt whole, and is not streamed.
    @Test func aLargeObjectIsStreamedAndADeltaAgainstItRebuilt() throws {
        let folder = try TemporaryFolder()
        let large = Array(try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: GitLargeObject.bytes + 10))
        let edited = large + Array("one more line\n".utf8)
        let file = folder.url.appendingPathComponent("large.pack")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forUpdating: file)
        let writer = try GitPackWriter(writingTo: handle)
        let base = try large.withUnsafeBytes { try writer.add(.blob, content: $0) }
        let delta = try #require(large.withUnsafeBytes { b in edited.withUnsafeBytes { GitDelta.encode(base: b, target: $0, limit: 1 << 20) } })
        try writer.addDelta(baseOffset: base, delta: delta)
        _ = try writer.finish()
        try handle.close()

        let pack = try GitPackReader(bytes: try Data(contentsOf: file, options: .alwaysMapped))
        let (largeID, editedID) = (GitObjectID.of(.blob, content: large), GitObjectID.of(.blob, content: edited))
        #expect(Set(pack.objectIDs) == [largeID, editedID])
        var streamed: [UInt8] = [], pieces = 0
        #expect(try pack.streamContent(of: largeID) { streamed += $0; pieces += 1 })
        #expect(streamed == large && pieces > 1 && pack.wholeSize(of: largeID) == large.count)
        #expect(try !pack.streamContent(of: editedID) { _ in } && pack.wholeSize(of: editedID) == nil)
        #expect(try pack.object(editedID)?.content == edited)
    }

    @Test func ourReaderReadsWhatGitWritesThinPacksIncluded() async throws {
        let folder = try TemporaryFolder()
        let repository = folder.url.appendingPathComponent("repository")
        try await GitTool.run(["init", "-q", "-b", "main", repository.path])
        var lines = (0..<3000).map { "line \($0)\n" }
        for round in 0..<4 {
            lines[round * 100] = "changed in round \(round)\n"
            try lines.joined().write(to: repository.appendingPathComponent("file.txt"), atomically: true, encoding: .utf8)
            try await GitTool.run(["add", "."], in: repository)
            try await GitTool.run(["commit", "-q", "-m", "round \(round)"], in: repository)
            if round == 1 { try await GitTool.run(["tag", "first"], in: repository) }
        }
        try await GitTool.run(["bundle", "create", "-q", "../full.bundle", "--all"], in: repository)
        try await GitTool.run(["bundle", "create", "-q", "../thin.bundle", "first..main"], in: repository)
        let full = try Data(contentsOf: folder.url.appendingPathComponent("full.bundle"))
        let (fullHeader, fullOffset) = try GitBundleHeader.parse(full)
        let fullPack = try GitPackReader(bytes: full.subdata(in: fullOffset..<full.count))
        #expect(Set(fullHeader.references.map(\.name)) == ["HEAD", "refs/heads/main", "refs/tags/first"])
        let thin = try Data(contentsOf: folder.url.appendingPathComponent("thin.bundle"))
        let (thinHeader, thinOffset) = try GitBundleHeader.parse(thin)
        #expect(thinHeader.prerequisites.count == 1)
        let thinPack = try GitPackReader(bytes: thin.subdata(in: thinOffset..<thin.count)) { id in try fullPack.object(id) }
        let head = try await GitTool.run(["rev-parse", "main"], in: repository).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try thinPack.object(GitObjectID(hex: head)!) != nil)

        // Damage: one flipped byte, or a cut, is named.
        var flipped = full
        flipped[fullOffset + 40] ^= 0x01
        #expect(throws: GitFormatError.self) { try GitPackReader(bytes: flipped.subdata(in: fullOffset..<flipped.count)) }
        #expect(throws: GitFormatError.self) { try GitPackReader(bytes: full.subdata(in: fullOffset..<(full.count - 30))) }
        #expect(throws: GitFormatError.self) { try GitBundleHeader.parse(Data("# v9 git bundle\n\n".utf8)) }

        // Version 3: SHA-1's object format is read; any other capability is refused by name, not misread later.
        try await GitTool.run(["bundle", "create", "-q", "--version=3", "../v3.bundle", "--all"], in: repository)
        let v3 = try Data(contentsOf: folder.url.appendingPathComponent("v3.bundle"))
        #expect(String(decoding: v3.prefix(64), as: UTF8.self).hasPrefix("# v3 git bundle\n@object-format=sha1\n"))
        #expect(try GitBundleHeader.parse(v3).header == fullHeader)
        for capability in ["@object-format=sha256", "@filter=blob:none", "@unknown"] {
            do {
                _ = try GitBundleHeader.parse(Data("# v3 git bundle\n\(capability)\n\n".utf8))
                Issue.record("\(capability) must be refused")
            } catch {
                #expect(error.description == "bundle capability \(capability) is not supported")
            }
        }
    }
}
