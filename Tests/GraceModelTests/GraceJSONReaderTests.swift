import Foundation
@testable import GraceModel
import Testing

/// The same outcome as `JSONDecoder`, from text and from data: equal values, or both throw; and
/// whether `GraceJSONReader` read it or left it to `JSONDecoder`.
private func expectSameOutcomeAsJSONDecoder<Value: GraceJSONFastDecodable & Equatable>(_ type: Value.Type, _ json: String, readsFast: Bool,
                                                                                  sourceLocation: SourceLocation) {
    let foundation = try? JSONDecoder().decode(type, from: Data(json.utf8))
    #expect((try? GraceJSON.decode(type, from: json)) == foundation, sourceLocation: sourceLocation)
    #expect((try? GraceJSON.decode(type, from: Data(json.utf8))) == foundation, sourceLocation: sourceLocation)
    let fast = json.utf8.withContiguousStorageIfAvailable { try? Value(readingWhole: UnsafeRawBufferPointer($0)) } ?? nil
    #expect((fast != nil) == readsFast, "read by GraceJSONReader: \(fast != nil)", sourceLocation: sourceLocation)
    if let fast { #expect(fast == foundation, sourceLocation: sourceLocation) }
}

/// `GraceJSON.decode` reads directory versions with `GraceJSONReader` and falls back to
/// `JSONDecoder`: whatever the document, the outcome must be `JSONDecoder`'s.
struct GraceJSONReaderTests {
    static let file = #"{"BlobUri":"","Blake3Hash":"b3","Class":"FileVersion","ContentReference":{"Class":"ContentReference","ReferenceType":0},"CreatedAt":"2026-01-01T00:01:00.5Z","IsBinary":false,"RelativePath":"src/a.fs","Sha256Hash":"s1","Size":12}"#
    static let binary = #"{"BlobUri":"x","Blake3Hash":"b4","Class":"FileVersion","ContentReference":{"Class":"ContentReference","Manifest":"m","ReferenceType":1},"CreatedAt":"2026-01-01T00:02:00Z","IsBinary":true,"RelativePath":"src/b.png","Sha256Hash":"s2","Size":-0}"#

    static func directory(files: String = "\(file),\(binary)", extra: String = "", deletedAt: String = "") -> String {
        #"{"Blake3Hash":"e0a4","Class":"DirectoryVersion","CreatedAt":"2026-01-01T00:01:00Z","DeleteReason":"","# + deletedAt
            + #""Directories":["3dc9bec0-3945-4a82-83ec-6b13a863d59e","3DC9BEC0-3945-4a82-83ec-6b13a863d59f"],"DirectoryVersionId":"3dc9bec0-3945-4a82-83ec-6b13a863d59e","#
            + #""Files":[\#(files)],"HashesValidated":true,"OrganizationId":"61a89fcb-8950-40f3-9135-f9fb41af3897","OwnerId":"76562cb9-bd9f-47c9-aca9-0fc2ac56cb21","#
            + #""RecursiveSize":-1,"RelativePath":"src","RepositoryId":"0241d54f-48d6-4b80-8e1d-48e6943c6548","Sha256Hash":"3230","Size":9223372036854775807"# + extra + "}"
    }

    static func expectSameAsFoundation(_ json: String, readsFast: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSameOutcomeAsJSONDecoder(DirectoryVersion.self, json, readsFast: readsFast, sourceLocation: sourceLocation)
    }

    @Test func readsWhatGraceWritesAsJSONDecoderDoes() throws {
        Self.expectSameAsFoundation(Self.directory(), readsFast: true)
        Self.expectSameAsFoundation(Self.directory(files: ""), readsFast: true)
        Self.expectSameAsFoundation(Self.directory(deletedAt: #""DeletedAt":"2026-02-01T00:00:00Z","#), readsFast: true)
        Self.expectSameAsFoundation(Self.directory(deletedAt: #""DeletedAt":null,"#), readsFast: true)
        // Whitespace anywhere JSON allows it, and keys in any order.
        let spaced = Self.directory().replacingOccurrences(of: ",\"", with: " ,\n\t\"").replacingOccurrences(of: "\":", with: "\" : ")
            .replacingOccurrences(of: "[", with: "[ ").replacingOccurrences(of: "}", with: "\r}")
        Self.expectSameAsFoundation(" " + spaced + "\r\n", readsFast: true)
        let value = try GraceJSON.decode(DirectoryVersion.self, from: Self.directory())
        let reordered = try GraceJSON.encode(value)  // sorted keys: another order than the template's for files
        Self.expectSameAsFoundation(String(decoding: reordered, as: UTF8.self), readsFast: true)
        #expect(value.files.map(\.relativePath) == ["src/a.fs", "src/b.png"] && value.files[1].contentReference.kind == .fileManifest)
        #expect(value.directories.count == 2 && value.size == Int64.max && value.files[0].createdAt.nanosecondsSinceEpoch % 1_000_000_000 == 500_000_000)
        // Escapes, as JSONDecoder decodes them.
        for path in [#"src/\"quoted\".fs"#, #"src/caf\u00e9 \u00E9.fs"#, #"a\\b\/c\b\f\n\r\t"#, #"\ud83d\ude00 and \u0000"#, #"\u4e2d\u6587\ud83d\ude00.txt"#] {
            Self.expectSameAsFoundation(Self.directory(files: Self.file.replacingOccurrences(of: "src/a.fs", with: path)), readsFast: true)
        }
        let unescaped = try GraceJSON.decode(DirectoryVersion.self, from: Self.directory(files: Self.file.replacingOccurrences(of: "src/a.fs", with: #"x\ud83d\ude00\n"#)))
        #expect(unescaped.files[0].relativePath == "x\u{1F600}\n")
        Self.expectSameAsFoundation(Self.directory(extra: #","Unknown":"with \n escape""#), readsFast: true)
        // Keys it does not know are skipped, whatever their values.
        Self.expectSameAsFoundation(Self.directory(extra: #","Extra":{"a":[1,-2,true,false,null,"x",{}],"b":[]},"More":0"#), readsFast: true)
    }

    @Test(arguments: [
        // Valid JSON outside the subset, which JSONDecoder decides.
        directory(files: file.replacingOccurrences(of: "src/a.fs", with: #"src/\ud83d.fs"#)),  // a lone surrogate
        directory(files: file.replacingOccurrences(of: "src/a.fs", with: #"src/\udc00\ud83d.fs"#)),
        directory(extra: #","Unknown":1.5e3"#),
        directory(files: file.replacingOccurrences(of: #""Size":12"#, with: #""Size":12.0"#)),
        directory(files: file.replacingOccurrences(of: #""Size":12"#, with: #""Size":1e1"#)),
        directory(files: file.replacingOccurrences(of: #""ReferenceType":0"#, with: #""ReferenceType":"FileManifest""#)),
        directory(files: file.replacingOccurrences(of: #""ReferenceType":0"#, with: #""ReferenceType":7"#)),
        directory(files: file.replacingOccurrences(of: #""Class":"ContentReference","#, with: #""Class":null,"#)),
        directory(extra: #","Size":1"#),  // a key twice: JSONDecoder keeps the first
        // Not valid, or not a directory version: both refuse.
        directory(files: file.replacingOccurrences(of: "src/a.fs", with: #"src/\x.fs"#)),
        directory(files: file.replacingOccurrences(of: "src/a.fs", with: #"src/\u12.fs"#)),
        directory(files: file.replacingOccurrences(of: "src/a.fs", with: #"src/\u12g4.fs"#)),
        directory(files: file.replacingOccurrences(of: #""Size":12"#, with: #""Size":012"#)),
        directory(files: file.replacingOccurrences(of: #""Size":12"#, with: #""Size":99999999999999999999"#)),
        directory(files: file.replacingOccurrences(of: #""IsBinary":false,"#, with: "")),
        directory().replacingOccurrences(of: #""Class":"DirectoryVersion","#, with: ""),
        directory().replacingOccurrences(of: #""DirectoryVersionId":"3dc9bec0-3945-4a82-83ec-6b13a863d59e""#, with: #""DirectoryVersionId":"3dc9bec0""#),
        directory().replacingOccurrences(of: #""CreatedAt":"2026-01-01T00:01:00Z""#, with: #""CreatedAt":"yesterday""#),
        directory() + "x",
        String(directory().dropLast()),
        directory().replacingOccurrences(of: "src", with: "s\u{01}rc"),
    ])
    func leavesEverythingElseToJSONDecoder(_ json: String) {
        Self.expectSameAsFoundation(json, readsFast: false)
    }
}

/// References are read the same way: again, the outcome must be `JSONDecoder`'s.
struct ReferenceJSONReaderTests {
    static func reference(links: String = "[]", type: String = "Promotion", extra: String = "") -> String {
        #"{"Blake3Hash":"6c2f","BranchId":"871fa908-25f4-4869-9c52-d138d2f563f9","Class":"ReferenceDto","CreatedAt":"2026-11-25T21:36:39.25Z","#
            + #""CreatedBy":"simulator","DeleteReason":"","DirectoryId":"93d26d55-e183-43a2-a703-50c0491e6a7c","Links":\#(links),"#
            + #""OrganizationId":"72afe8e5-777c-4036-b3d7-def7abe19be0","OwnerId":"b28b28e8-e59a-4719-9fdc-613bc83fac74","#
            + #""ReferenceId":"3ca705b8-0c52-419a-9326-8edf00735f3d","ReferenceText":"Initial promotion","ReferenceType":"\#(type)","#
            + #""RepositoryId":"0121ac45-70a4-4e7d-a505-004cce518c9a","Sha256Hash":"69fb""# + extra + "}"
    }

    static func expectSameAsFoundation(_ json: String, readsFast: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSameOutcomeAsJSONDecoder(Reference.self, json, readsFast: readsFast, sourceLocation: sourceLocation)
    }

    @Test func readsWhatGraceWritesAsJSONDecoderDoes() throws {
        Self.expectSameAsFoundation(Self.reference(), readsFast: true)
        Self.expectSameAsFoundation(Self.reference(type: "tag"), readsFast: true)
        // A commit message, as a replayed history holds them.
        Self.expectSameAsFoundation(Self.reference().replacingOccurrences(of: "Initial promotion", with: #"Fix \"x\"\n\nCo-authored-by: caf\u00e9"#), readsFast: true)
        let links = #"[{"basedOn":"3ca705b8-0c52-419a-9326-8edf00735f3e"},{"includedInPromotionSet":"p"},{"promotionSetTerminal":"t","x":1}]"#
        Self.expectSameAsFoundation(Self.reference(links: links), readsFast: true)
        Self.expectSameAsFoundation(Self.reference(links: #"[{"includedInPromotionSet":"p","basedOn":"3ca705b8-0c52-419a-9326-8edf00735f3e"}]"#), readsFast: true)
        Self.expectSameAsFoundation(Self.reference(extra: #","UpdatedAt":null,"DeletedAt":"2026-11-26T00:00:00Z""#), readsFast: true)
        Self.expectSameAsFoundation(Self.reference(extra: #","UpdatedAt":"2026-11-26T00:00:00Z","Other":[{"a":null}]"#), readsFast: true)
        let value = try GraceJSON.decode(Reference.self, from: Self.reference(links: links))
        #expect(value.links.count == 3 && value.referenceType == .promotion && value.createdAt.nanosecondsSinceEpoch % 1_000_000_000 == 250_000_000)
        Self.expectSameAsFoundation(String(decoding: try GraceJSON.encode(value), as: UTF8.self), readsFast: true)
    }

    @Test(arguments: [
        reference(links: #"[{"basedOn":null,"promotionSetTerminal":"t"}]"#),  // JSONDecoder skips the null tag
        reference(links: #"[{"other":"x"}]"#),
        reference(links: #"[{"basedOn":"not a guid"}]"#),
        reference(type: "Bogus"),
        reference(type: "Promotion\\u0000"),
        reference(extra: #","ReferenceText":"twice""#),
        reference().replacingOccurrences(of: #""DeleteReason":"","#, with: ""),
    ])
    func leavesEverythingElseToJSONDecoder(_ json: String) {
        Self.expectSameAsFoundation(json, readsFast: false)
    }
}

/// What an export reads of a reference: the whole reference's fields, the rest skipped unread; again
/// `JSONDecoder`'s outcome.
struct ReferenceSummaryJSONReaderTests {
    static func expectSameAsFoundation(_ json: String, readsFast: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSameOutcomeAsJSONDecoder(ReferenceSummary.self, json, readsFast: readsFast, sourceLocation: sourceLocation)
    }

    @Test func readsWhatTheWholeReferenceHolds() throws {
        let links = #"[{"basedOn":"3ca705b8-0c52-419a-9326-8edf00735f3e"},{"includedInPromotionSet":"p"}]"#
        for json in [ReferenceJSONReaderTests.reference(), ReferenceJSONReaderTests.reference(type: "tag"), ReferenceJSONReaderTests.reference(links: links),
                     ReferenceJSONReaderTests.reference(extra: #","UpdatedAt":null,"DeletedAt":"2026-11-26T00:00:00Z""#),
                     ReferenceJSONReaderTests.reference(extra: #","UpdatedAt":"2026-11-26T00:00:00Z","Other":[{"a":null}]"#)] {
            Self.expectSameAsFoundation(json, readsFast: true)
            let whole = try JSONDecoder().decode(Reference.self, from: Data(json.utf8))
            #expect(try GraceJSON.decode(ReferenceSummary.self, from: json) == ReferenceSummary(whole))
        }
        let deleted = try GraceJSON.decode(ReferenceSummary.self, from: ReferenceJSONReaderTests.reference(extra: #","DeletedAt":"2026-11-26T00:00:00Z""#))
        #expect(deleted.deletedAt != nil && deleted.referenceText == "Initial promotion" && deleted.referenceType == .promotion)
        // What it does not read, it does not judge, as JSONDecoder does not.
        Self.expectSameAsFoundation(ReferenceJSONReaderTests.reference(links: #"[{"basedOn":"not a guid"}]"#), readsFast: true)
        Self.expectSameAsFoundation(ReferenceJSONReaderTests.reference().replacingOccurrences(of: #""DeleteReason":"","#, with: ""), readsFast: true)
    }

    @Test(arguments: [
        ReferenceJSONReaderTests.reference(type: "Bogus"),
        ReferenceJSONReaderTests.reference(extra: #","ReferenceText":"twice""#),
        ReferenceJSONReaderTests.reference().replacingOccurrences(of: #""BranchId":"871fa908-25f4-4869-9c52-d138d2f563f9","#, with: ""),
        ReferenceJSONReaderTests.reference().replacingOccurrences(of: #""CreatedAt":"2026-11-25T21:36:39.25Z""#, with: #""CreatedAt":"today""#),
        ReferenceJSONReaderTests.reference(links: "[1,]"),
        ReferenceJSONReaderTests.reference() + "x",
    ])
    func leavesEverythingElseToJSONDecoder(_ json: String) {
        Self.expectSameAsFoundation(json, readsFast: false)
    }
}

/// A repository, its branches and its owner, read once or a few times an export: the same again.
struct EntityJSONReaderTests {
    static let created = Instant(nanosecondsSinceEpoch: 1_764_106_599_250_000_000)

    static func owner() -> Owner { Owner(ownerID: OwnerID(UUID()), ownerName: "Scott", createdAt: created) }

    static func repository() -> Repository {
        Repository(repositoryID: RepositoryID(UUID()), ownerID: OwnerID(UUID()), organizationID: OrganizationID(UUID()), repositoryName: "grace", createdAt: created)
    }

    static func branch(parent: Bool) throws -> Branch {
        var branch = Branch(branchID: BranchID(UUID()), branchName: "feature/x", parentBranchID: parent ? BranchID(UUID()) : nil, repository: repository(), createdAt: created)
        let reference = try GraceJSON.decode(Reference.self, from: ReferenceJSONReaderTests.reference(links: #"[{"basedOn":"3ca705b8-0c52-419a-9326-8edf00735f3e"}]"#))
        if parent { branch.basedOn = reference }
        branch.recordLatest(reference)
        branch.promotionMode = .hybrid
        branch.tagEnabled = false
        return branch
    }

    static func json(_ value: some Encodable) throws -> String { String(decoding: try GraceJSON.encode(value), as: UTF8.self) }

    @Test func readsWhatGraceWritesAsJSONDecoderDoes() throws {
        var owner = Self.owner()
        expectSameOutcomeAsJSONDecoder(Owner.self, try Self.json(owner), readsFast: true, sourceLocation: #_sourceLocation)
        owner.ownerType = .private
        owner.deletedAt = Self.created
        expectSameOutcomeAsJSONDecoder(Owner.self, try Self.json(owner), readsFast: true, sourceLocation: #_sourceLocation)
        expectSameOutcomeAsJSONDecoder(Owner.self, try Self.json(owner).replacingOccurrences(of: #""OwnerType":"Private""#, with: #""OwnerType":"private""#),
                                       readsFast: true, sourceLocation: #_sourceLocation)

        var repository = Self.repository()
        expectSameOutcomeAsJSONDecoder(Repository.self, try Self.json(repository), readsFast: true, sourceLocation: #_sourceLocation)
        repository.logicalDeleteDays = -3
        repository.initializedAt = Self.created
        repository.objectStorageProvider = .awsS3
        expectSameOutcomeAsJSONDecoder(Repository.self, try Self.json(repository), readsFast: true, sourceLocation: #_sourceLocation)
        #expect(try Self.json(repository).contains(#""LogicalDeleteDays":-3,"#), "a whole number, as JSONEncoder writes it")

        for parent in [false, true] {
            let branch = try Self.branch(parent: parent)
            let text = try Self.json(branch)
            expectSameOutcomeAsJSONDecoder(Branch.self, text, readsFast: true, sourceLocation: #_sourceLocation)
            expectSameOutcomeAsJSONDecoder(Branch.self, text.replacingOccurrences(of: #""LatestCommit":"#, with: #""LatestCommit":null,"Unused":"#),
                                           readsFast: true, sourceLocation: #_sourceLocation)
            #expect(try GraceJSON.decode(Branch.self, from: text) == branch)
        }
    }

    @Test func leavesEverythingElseToJSONDecoder() throws {
        let repository = try Self.json(Self.repository())
        let branch = try Self.json(try Self.branch(parent: true))
        for json in [
            repository.replacingOccurrences(of: #""SaveDays":7"#, with: #""SaveDays":7.5"#),  // a fraction: JSONDecoder reads it
            repository.replacingOccurrences(of: #""SaveDays":7"#, with: #""SaveDays":9007199254740993"#),  // past 2^53: JSONDecoder rounds
            repository.replacingOccurrences(of: #""RecordSaves":true,"#, with: ""),  // required, though it has a default
            repository.replacingOccurrences(of: #""RepositoryType":"Private""#, with: #""RepositoryType":"Secret""#),
            branch.replacingOccurrences(of: #""TagEnabled":false,"#, with: ""),
            branch.replacingOccurrences(of: #""PromotionMode":"Hybrid""#, with: #""PromotionMode":1"#),
            branch.replacingOccurrences(of: #""ParentBranchId":"#, with: #""ParentBranchId":"nope","Unused":"#),
        ] {
            if json.contains("Branch") {
                expectSameOutcomeAsJSONDecoder(Branch.self, json, readsFast: false, sourceLocation: #_sourceLocation)
            } else {
                expectSameOutcomeAsJSONDecoder(Repository.self, json, readsFast: false, sourceLocation: #_sourceLocation)
            }
        }
        let owner = try Self.json(Self.owner())
        expectSameOutcomeAsJSONDecoder(Owner.self, owner.replacingOccurrences(of: #""DeleteReason":"","#, with: ""), readsFast: false, sourceLocation: #_sourceLocation)
    }
}

struct GraceIDTests {
    @Test func readsAndWritesGuidsAsFoundationDoes() {
        for _ in 0..<500 {
            let uuid = UUID()
            let id = RepositoryID(uuid)
            #expect(id.description == uuid.uuidString.lowercased())
            #expect(RepositoryID(uuid.uuidString) == id && RepositoryID(uuid.uuidString.lowercased()) == id)
        }
        for bad in ["", "3dc9bec0-3945-4a82-83ec-6b13a863d59", "3dc9bec0-3945-4a82-83ec-6b13a863d59e0", "3dc9bec0+3945-4a82-83ec-6b13a863d59e",
                    "3dc9bec0-3945-4a82-83ec-6b13a863d59g", "3dc9bec039454a8283ec6b13a863d59e0000", "{dc9bec0-3945-4a82-83ec-6b13a863d59e"] {
            #expect(RepositoryID(bad) == nil, "\(bad)")
        }
    }

    @Test func idsOrderAsTheirTextDoes() {
        let ids = (0..<64).map { _ in RepositoryID(UUID()) } + [RepositoryID(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                                                                 RepositoryID(UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)))]
        #expect(ids.sorted().map(\.description) == ids.map(\.description).sorted())
        #expect(!(ids[0] < ids[0]))
    }
}
