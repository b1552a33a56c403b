import Foundation
import GraceModel
import Testing

struct InstantTests {
    @Test func writesNodaTimeExtendedISO() {
        #expect(Instant(secondsSinceEpoch: 1_783_800_000).description == "2026-07-11T20:00:00Z")
        #expect(Instant(nanosecondsSinceEpoch: 1_783_800_000_120_000_000).description == "2026-07-11T20:00:00.12Z")
        #expect(Instant(nanosecondsSinceEpoch: -1).description == "1969-12-31T23:59:59.999999999Z")
    }

    @Test func parsesWhatItWritesAndOffsets() throws {
        for nanos: Int64 in [0, 1, 1_783_800_000_123_456_789, -86_400_000_000_001, 951_782_400_000_000_000] {
            let instant = Instant(nanosecondsSinceEpoch: nanos)
            #expect(Instant(parsing: instant.description) == instant)
        }
        #expect(Instant(parsing: "2026-07-11T22:00:00+02:00") == Instant(secondsSinceEpoch: 1_783_800_000))
        #expect(Instant(parsing: "2026-07-11 20:00:00Z") == nil)
        #expect(Instant(parsing: "2026-13-11T20:00:00Z") == nil)
        #expect(Instant(parsing: "yesterday") == nil)
        // Past what Int64 nanoseconds hold: refused, never a crash.
        #expect(Instant(parsing: "2999-01-01T00:00:00Z") == nil)
        #expect(Instant(parsing: "1600-01-01T00:00:00Z") == nil)
    }
}

struct SafePathTests {
    @Test(arguments: [
        ("", UnsafePath.Rule.empty), ("/etc/passwd", .absolute), ("C:/x", .absolute), ("a\\b", .backslash),
        ("a\u{0}b", .nul), ("a//b", .emptySegment), ("a/", .emptySegment), ("./a", .dotSegment), ("a/../b", .dotSegment),
        ("a/ /b", .blankSegment),
    ])
    func refusesUnsafePaths(_ path: String, _ rule: UnsafePath.Rule) {
        #expect(throws: UnsafePath(path: path, rule: rule)) { try SafePath.validate(path, for: .storage) }
    }

    @Test func refusesGitSegmentsOnlyWhereTheyBecomeFiles() throws {
        try SafePath.validate("src/.git/config", for: .storage)
        #expect(throws: UnsafePath(path: "src/.GIT/config", rule: .gitSegment)) { try SafePath.validate("src/.GIT/config", for: .filesystem) }
    }

    @Test func acceptsGracePaths() throws {
        for path in ["README.md", "src/Grace.Server/Storage.Server.fs", ".gitignore", "a b/c:d", "日本/語.txt"] {
            try SafePath.validate(path, for: .filesystem)
        }
        try SafePath.validate(".", for: .storage, allowRoot: true)
        #expect(throws: UnsafePath.self) { try SafePath.validate(".", for: .storage) }
    }
}

struct ObjectNameTests {
    let hashes = FileHashes(sha256: String(repeating: "a", count: 64), blake3: String(repeating: "b", count: 64))

    @Test func followsGraceWholeFileContentKey() {
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        #expect(ObjectName.wholeFileContent(relativePath: "src/Grace.Server/Storage.Server.fs", hashes: hashes)
            == "src/Grace.Server/Storage.Server.fs/Storage.Server_\(a)_\(b).fs")
        #expect(ObjectName.wholeFileContent(relativePath: "Dockerfile", hashes: hashes) == "Dockerfile/Dockerfile_\(a)_\(b)")
        // .NET FileInfo: the extension of ".gitignore" is the whole name, and every occurrence is removed from the stem.
        #expect(ObjectName.wholeFileContent(relativePath: ".gitignore", hashes: hashes) == ".gitignore/_\(a)_\(b).gitignore")
        #expect(ObjectName.wholeFileContent(relativePath: "x/a.fs.fs", hashes: hashes) == "x/a.fs.fs/a_\(a)_\(b).fs")
        #expect(ObjectName.wholeFileContent(relativePath: "trailing.", hashes: hashes) == "trailing./trailing._\(a)_\(b)")
        // .NET searches UTF-16 code units: a "." or "/" that a combining mark (U+0301) follows still counts,
        // though Swift makes one Character of the two.
        #expect(ObjectName.wholeFileContent(relativePath: "d/a.\u{301}", hashes: hashes) == "d/a.\u{301}/a_\(a)_\(b).\u{301}")
        #expect(ObjectName.wholeFileContent(relativePath: "d/\u{301}x.fs", hashes: hashes) == "d/\u{301}x.fs/\u{301}x_\(a)_\(b).fs")
    }
}

struct EntityJSONTests {
    @Test func usesGraceFieldNamesAndRoundTrips() throws {
        let repository = Repository(repositoryID: RepositoryID(UUID()), ownerID: OwnerID(UUID()), organizationID: OrganizationID(UUID()),
                                    repositoryName: "r", createdAt: Instant(secondsSinceEpoch: 0))
        let json = String(decoding: try GraceJSON.encode(repository), as: UTF8.self)
        #expect(json.contains(#""RepositoryId":"\#(repository.repositoryID)""#))
        #expect(json.contains(#""SaveDays":7"#))
        #expect(json.contains(#""CreatedAt":"1970-01-01T00:00:00Z""#))
        #expect(try GraceJSON.decode(Repository.self, from: Data(json.utf8)) == repository)
    }

    @Test func readsCamelCaseUnionTagsAndWritesPascalCase() throws {
        #expect(try GraceJSON.decode([ReferenceType].self, from: Data(#"["save","Promotion"]"#.utf8)) == [.save, .promotion])
        #expect(String(decoding: try GraceJSON.encode([ReferenceType.checkpoint]), as: UTF8.self) == #"["Checkpoint"]"#)
        let link = ReferenceLink.basedOn(ReferenceID("0f0e0d0c-0b0a-0908-0706-050403020100")!)
        #expect(String(decoding: try GraceJSON.encode(link), as: UTF8.self) == #"{"basedOn":"0f0e0d0c-0b0a-0908-0706-050403020100"}"#)
    }

    @Test func eventEnvelopeHasGraceShape() throws {
        let metadata = EventMetadata(timestamp: Instant(secondsSinceEpoch: 0), correlationID: "abcdefghijkl", principal: "p")
        let event = try GraceEvent(type: .branchPromoted, payload: ["A": "b"], metadata: metadata)
        let json = String(decoding: try event.envelopeJSON(), as: UTF8.self)
        #expect(json.hasPrefix(#"{"Event":{"promoted":{"A":"b"}},"Metadata":{"#))
        let decoded = try GraceEvent(type: .branchPromoted, envelopeJSON: try event.envelopeJSON())
        #expect(decoded.metadata == metadata)
    }
}

struct SpokenDurationTests {
    @Test(arguments: [
        (0.4, "0 s"), (59.6, "60 s"), (119.4, "119 s"), (120, "2 min"), (7199, "120 min"),
        (7200, "2.0 h"), (22_523, "6.3 h"), (172_799, "48.0 h"), (172_800, "2.0 days"), (28_532_293, "330.2 days"), (-90, "-90 s"),
    ])
    func eachRangeIsReadInItsUnit(seconds: Double, spoken: String) {
        #expect(spokenDuration(seconds: seconds) == spoken)
    }
}
