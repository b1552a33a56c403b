import Foundation

/// A forward-only reader of the JSON Grace writes, for the documents read by the thousand
/// (directory versions, each holding its files): Foundation's `JSONDecoder` took most of an
/// export's walk through a repository's directories.
///
/// It reads a strict subset of JSON (strings, integers, `true`, `false`, `null`; no fractions)
/// and throws `Unsupported` on anything else, valid or not; `GraceJSON.decode` then decodes the
/// document with `JSONDecoder`, which accepts it or says exactly what is wrong. So a value read
/// here is the value `JSONDecoder` would have produced, and every error comes from `JSONDecoder`.
struct GraceJSONReader {
    /// Outside the subset: decode with `JSONDecoder` instead.
    struct Unsupported: Error {}

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Reads an object whose keys of interest are `fields`, calling `field` with the index of each
    /// one found (nil for any other key, whose value it must skip); `field` reads the value. A key
    /// of interest seen twice is unsupported: `JSONDecoder` keeps the first, a reader would keep the last.
    mutating func object(fields: [StaticString], _ field: (inout GraceJSONReader, Int?) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if try consume(UInt8(ascii: "}")) { return }
        var seen: UInt64 = 0
        repeat {
            let key = try stringBytes()
            let index = fields.firstIndex { key.equals($0) }
            if let index {
                guard seen & (1 << index) == 0 else { throw Unsupported() }
                seen |= 1 << index
            }
            try expect(UInt8(ascii: ":"))
            try field(&self, index)
        } while try consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    mutating func array(_ element: (inout GraceJSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if try consume(UInt8(ascii: "]")) { return }
        repeat { try element(&self) } while try consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    /// A string value; escapes are decoded (commit messages carry newlines and quotes).
    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        var stop = try skipToStop()
        if stop == UInt8(ascii: "\"") {
            position += 1
            return try Self.validated(UnsafeRawBufferPointer(rebasing: bytes[start..<position - 1]))
        }
        var decoded = Array(bytes[start..<position])
        while stop == UInt8(ascii: "\\") {
            position += 1
            try unescape(into: &decoded)
            let run = position
            stop = try skipToStop()
            decoded += bytes[run..<position]
        }
        position += 1
        return try decoded.withUnsafeBytes(Self.validated)
    }

    private static func validated(_ text: UnsafeRawBufferPointer) throws -> String {
        if text.allSatisfy({ $0 < 0x80 }) { return String(decoding: text, as: UTF8.self) }
        guard let valid = String(validating: text, as: UTF8.self) else { throw Unsupported() }
        return valid
    }

    /// Decodes the escape after a backslash, as `JSONDecoder` does; a lone surrogate is unsupported.
    private mutating func unescape(into decoded: inout [UInt8]) throws {
        guard position < bytes.count else { throw Unsupported() }
        let letter = bytes[position]
        position += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(letter)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0c)
        case UInt8(ascii: "n"): decoded.append(0x0a)
        case UInt8(ascii: "r"): decoded.append(0x0d)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var value = try hexQuad()
            if (0xD800...0xDBFF).contains(value) {
                guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else { throw Unsupported() }
                position += 2
                let low = try hexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw Unsupported() }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(value) else { throw Unsupported() }
            decoded += UTF8.encode(scalar)!
        default: throw Unsupported()
        }
    }

    private mutating func hexQuad() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw Unsupported() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8 = switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: throw Unsupported()
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// A string's bytes, between its quotes, for keys and values that never hold escapes (ids,
    /// instants): an escape, like a control character, is unsupported.
    mutating func stringBytes() throws -> UnsafeRawBufferPointer {
        try expect(UInt8(ascii: "\""))
        let start = position
        guard try skipToStop() == UInt8(ascii: "\"") else { throw Unsupported() }
        position += 1
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position - 1])
    }

    /// Moves to the next quote or backslash in a string and returns it; a control character, or
    /// the end of the document, is unsupported.
    private mutating func skipToStop() throws -> UInt8 {
        // Eight bytes at a time up to the first that ends the string or is unsupported: a directory
        // version's JSON is mostly long strings (paths, hashes), and this loop was most of reading it.
        while position + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
            if Self.hasByte(below: 0x20, word) || Self.hasByte(below: 1, word ^ Self.repeated(UInt8(ascii: "\""))) ||
                Self.hasByte(below: 1, word ^ Self.repeated(UInt8(ascii: "\\"))) { break }
            position += 8
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return byte }
            guard byte >= 0x20 else { throw Unsupported() }
            position += 1
        }
        throw Unsupported()
    }

    /// Whether a byte of `word` is less than `limit` (at most 128): the borrow of subtracting `limit`
    /// from each byte reaches the byte's top bit only where the byte was smaller.
    private static func hasByte(below limit: UInt8, _ word: UInt64) -> Bool {
        (word &- repeated(limit)) & ~word & repeated(0x80) != 0
    }

    private static func repeated(_ byte: UInt8) -> UInt64 { UInt64(byte) &* 0x0101_0101_0101_0101 }

    /// `-?(0|[1-9][0-9]*)` fitting in 64 bits; fractions and exponents are unsupported.
    mutating func int64() throws -> Int64 {
        skipWhitespace()
        let negative = position < bytes.count && bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        let start = position
        var magnitude: UInt64 = 0
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowAgain) = times10.addingReportingOverflow(UInt64(bytes[position] - UInt8(ascii: "0")))
            guard !overflow, !overflowAgain else { throw Unsupported() }
            magnitude = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { throw Unsupported() }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) { throw Unsupported() }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw Unsupported() }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw Unsupported() }
        return Int64(magnitude)
    }

    mutating func bool() throws -> Bool {
        if try literal("true") { return true }
        if try literal("false") { return false }
        throw Unsupported()
    }

    /// Reads `null` if it is next.
    mutating func null() throws -> Bool { try literal("null") }

    /// Skips a value of a key the caller does not know, as `JSONDecoder` ignores it.
    mutating func skipValue() throws {
        skipWhitespace()
        guard position < bytes.count else { throw Unsupported() }
        switch bytes[position] {
        case UInt8(ascii: "{"): try object(fields: []) { reader, _ in try reader.skipValue() }
        case UInt8(ascii: "["): try array { try $0.skipValue() }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): guard try null() else { throw Unsupported() }
        default: _ = try int64()
        }
    }

    /// Only whitespace may follow the document.
    mutating func end() throws {
        skipWhitespace()
        guard position == bytes.count else { throw Unsupported() }
    }

    private mutating func literal(_ word: StaticString) throws -> Bool {
        skipWhitespace()
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count,
              memcmp(bytes.baseAddress! + position, word.utf8Start, length) == 0 else { return false }
        position += length
        return true
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard try consume(byte) else { throw Unsupported() }
    }

    private mutating func consume(_ byte: UInt8) throws -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0a, 0x0d, 0x09: position += 1
            default: return
            }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are `name`'s UTF-8.
    func equals(_ name: StaticString) -> Bool {
        count == name.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, name.utf8Start, count) == 0)
    }
}

/// Types `GraceJSON.decode` reads with `GraceJSONReader`, falling back to `JSONDecoder`; each is
/// listed in `GraceJSON.fastDecodable`.
protocol GraceJSONFastDecodable: Decodable {
    init(reading reader: inout GraceJSONReader) throws
}

extension GraceJSONFastDecodable {
    /// A whole document: nothing but whitespace after the value.
    init(readingWhole bytes: UnsafeRawBufferPointer) throws {
        var reader = GraceJSONReader(bytes)
        self = try Self(reading: &reader)
        try reader.end()
    }
}

extension Instant {
    init(reading reader: inout GraceJSONReader) throws {
        let text = try reader.stringBytes()
        guard let instant = Instant(parsingUTF8: text) else { throw GraceJSONReader.Unsupported() }
        self = instant
    }
}

extension GraceID {
    init(reading reader: inout GraceJSONReader) throws {
        let text = try reader.stringBytes()
        guard let uuid = GuidText.parse(text.assumingMemoryBound(to: UInt8.self)) else { throw GraceJSONReader.Unsupported() }
        self.init(uuid)
    }
}

extension DirectoryVersion: GraceJSONFastDecodable {
    /// Its `CodingKeys`' names, in the order `init(reading:)` numbers them.
    private static let fields: [StaticString] = ["Class", "DirectoryVersionId", "OwnerId", "OrganizationId", "RepositoryId", "RelativePath",
                                                 "Sha256Hash", "Blake3Hash", "Directories", "Files", "Size", "RecursiveSize", "CreatedAt",
                                                 "HashesValidated", "DeletedAt", "DeleteReason"]

    init(reading reader: inout GraceJSONReader) throws {
        var `class`: String?, directoryVersionID: DirectoryVersionID?, ownerID: OwnerID?, organizationID: OrganizationID?
        var repositoryID: RepositoryID?, relativePath: String?, sha256Hash: String?, blake3Hash: String?
        var directories: [DirectoryVersionID]?, files: [FileVersion]?, size: Int64?, recursiveSize: Int64?
        var createdAt: Instant?, hashesValidated: Bool?, deletedAt: Instant?, deleteReason: String?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: `class` = try reader.string()
            case 1: directoryVersionID = try DirectoryVersionID(reading: &reader)
            case 2: ownerID = try OwnerID(reading: &reader)
            case 3: organizationID = try OrganizationID(reading: &reader)
            case 4: repositoryID = try RepositoryID(reading: &reader)
            case 5: relativePath = try reader.string()
            case 6: sha256Hash = try reader.string()
            case 7: blake3Hash = try reader.string()
            case 8:
                var ids: [DirectoryVersionID] = []
                try reader.array { ids.append(try DirectoryVersionID(reading: &$0)) }
                directories = ids
            case 9:
                var list: [FileVersion] = []
                try reader.array { list.append(try FileVersion(reading: &$0)) }
                files = list
            case 10: size = try reader.int64()
            case 11: recursiveSize = try reader.int64()
            case 12: createdAt = try Instant(reading: &reader)
            case 13: hashesValidated = try reader.bool()
            case 14: deletedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 15: deleteReason = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let `class`, let directoryVersionID, let ownerID, let organizationID, let repositoryID, let relativePath,
              let sha256Hash, let blake3Hash, let directories, let files, let size, let recursiveSize, let createdAt,
              let hashesValidated, let deleteReason
        else { throw GraceJSONReader.Unsupported() }
        self.class = `class`
        self.directoryVersionID = directoryVersionID
        self.ownerID = ownerID
        self.organizationID = organizationID
        self.repositoryID = repositoryID
        self.relativePath = relativePath
        self.sha256Hash = sha256Hash
        self.blake3Hash = blake3Hash
        self.directories = directories
        self.files = files
        self.size = size
        self.recursiveSize = recursiveSize
        self.createdAt = createdAt
        self.hashesValidated = hashesValidated
        self.deletedAt = deletedAt
        self.deleteReason = deleteReason
    }
}

extension FileVersion {
    private static let fields: [StaticString] = ["Class", "RelativePath", "Sha256Hash", "Blake3Hash", "IsBinary", "Size", "CreatedAt", "BlobUri",
                                                 "ContentReference"]

    init(reading reader: inout GraceJSONReader) throws {
        var `class`: String?, relativePath: String?, sha256Hash: String?, blake3Hash: String?, isBinary: Bool?
        var size: Int64?, createdAt: Instant?, blobUri: String?, contentReference: ContentReference?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: `class` = try reader.string()
            case 1: relativePath = try reader.string()
            case 2: sha256Hash = try reader.string()
            case 3: blake3Hash = try reader.string()
            case 4: isBinary = try reader.bool()
            case 5: size = try reader.int64()
            case 6: createdAt = try Instant(reading: &reader)
            case 7: blobUri = try reader.string()
            case 8: contentReference = try ContentReference(reading: &reader)
            default: try reader.skipValue()
            }
        }
        guard let `class`, let relativePath, let sha256Hash, let blake3Hash, let isBinary, let size, let createdAt, let blobUri,
              let contentReference
        else { throw GraceJSONReader.Unsupported() }
        self.init(relativePath: relativePath, hashes: FileHashes(sha256: sha256Hash, blake3: blake3Hash), isBinary: isBinary, size: size,
                  createdAt: createdAt, blobUri: blobUri)
        self.class = `class`
        self.contentReference = contentReference
    }
}

extension ContentReference {
    /// What `init(from:)` accepts, narrowed: the type as the number 0 or 1 or absent, the manifest a
    /// string, null or absent.
    private static let fields: [StaticString] = ["Class", "ReferenceType", "Manifest"]

    init(reading reader: inout GraceJSONReader) throws {
        var reference = ContentReference()
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: reference.class = try reader.string()
            case 1:
                guard let kind = Kind(rawValue: Int(try reader.int64())) else { throw GraceJSONReader.Unsupported() }
                reference.kind = kind
            case 2: reference.manifest = try reader.null() ? nil : try reader.string()
            default: try reader.skipValue()
            }
        }
        self = reference
    }
}

extension ReferenceSummary: GraceJSONFastDecodable {
    /// Its `CodingKeys`' names, in the order `init(reading:)` numbers them.
    private static let fields: [StaticString] = ["ReferenceId", "BranchId", "DirectoryId", "ReferenceType", "ReferenceText", "CreatedAt", "DeletedAt"]

    init(reading reader: inout GraceJSONReader) throws {
        var referenceID: ReferenceID?, branchID: BranchID?, directoryID: DirectoryVersionID?, referenceType: ReferenceType?
        var referenceText: String?, createdAt: Instant?, deletedAt: Instant?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: referenceID = try ReferenceID(reading: &reader)
            case 1: branchID = try BranchID(reading: &reader)
            case 2: directoryID = try DirectoryVersionID(reading: &reader)
            case 3: referenceType = try ReferenceType(reading: &reader)
            case 4: referenceText = try reader.string()
            case 5: createdAt = try Instant(reading: &reader)
            case 6: deletedAt = try reader.null() ? nil : try Instant(reading: &reader)
            default: try reader.skipValue()
            }
        }
        guard let referenceID, let branchID, let directoryID, let referenceType, let referenceText, let createdAt else { throw GraceJSONReader.Unsupported() }
        (self.referenceID, self.branchID, self.directoryID, self.referenceType) = (referenceID, branchID, directoryID, referenceType)
        (self.referenceText, self.createdAt, self.deletedAt) = (referenceText, createdAt, deletedAt)
    }
}

extension Reference: GraceJSONFastDecodable {
    /// Its `CodingKeys`' names, in the order `init(reading:)` numbers them.
    private static let fields: [StaticString] = ["Class", "ReferenceId", "OwnerId", "OrganizationId", "RepositoryId", "BranchId", "DirectoryId",
                                                 "Sha256Hash", "Blake3Hash", "ReferenceType", "ReferenceText", "Links", "CreatedBy", "CreatedAt",
                                                 "UpdatedAt", "DeletedAt", "DeleteReason"]

    init(reading reader: inout GraceJSONReader) throws {
        var `class`: String?, referenceID: ReferenceID?, ownerID: OwnerID?, organizationID: OrganizationID?, repositoryID: RepositoryID?
        var branchID: BranchID?, directoryID: DirectoryVersionID?, sha256Hash: String?, blake3Hash: String?, referenceType: ReferenceType?
        var referenceText: String?, links: [ReferenceLink]?, createdBy: String?, createdAt: Instant?, updatedAt: Instant?, deletedAt: Instant?
        var deleteReason: String?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: `class` = try reader.string()
            case 1: referenceID = try ReferenceID(reading: &reader)
            case 2: ownerID = try OwnerID(reading: &reader)
            case 3: organizationID = try OrganizationID(reading: &reader)
            case 4: repositoryID = try RepositoryID(reading: &reader)
            case 5: branchID = try BranchID(reading: &reader)
            case 6: directoryID = try DirectoryVersionID(reading: &reader)
            case 7: sha256Hash = try reader.string()
            case 8: blake3Hash = try reader.string()
            case 9: referenceType = try ReferenceType(reading: &reader)
            case 10: referenceText = try reader.string()
            case 11:
                var list: [ReferenceLink] = []
                try reader.array { list.append(try ReferenceLink(reading: &$0)) }
                links = list
            case 12: createdBy = try reader.string()
            case 13: createdAt = try Instant(reading: &reader)
            case 14: updatedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 15: deletedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 16: deleteReason = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let `class`, let referenceID, let ownerID, let organizationID, let repositoryID, let branchID, let directoryID, let sha256Hash,
              let blake3Hash, let referenceType, let referenceText, let links, let createdBy, let createdAt, let deleteReason
        else { throw GraceJSONReader.Unsupported() }
        self.class = `class`
        self.referenceID = referenceID
        self.ownerID = ownerID
        self.organizationID = organizationID
        self.repositoryID = repositoryID
        self.branchID = branchID
        self.directoryID = directoryID
        self.sha256Hash = sha256Hash
        self.blake3Hash = blake3Hash
        self.referenceType = referenceType
        self.referenceText = referenceText
        self.links = links
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.deleteReason = deleteReason
    }
}

extension GraceEnumeration {
    /// As `GraceEnumeration.init(from:)`: any case; a tag it does not know is `JSONDecoder`'s to refuse.
    init(reading reader: inout GraceJSONReader) throws {
        let text = try reader.string().lowercased()
        guard let value = Self.allCases.first(where: { $0.rawValue.lowercased() == text }) else { throw GraceJSONReader.Unsupported() }
        self = value
    }
}

extension GraceJSONReader {
    /// A `Double` written without a fraction, as `JSONEncoder` writes a whole number; others are unsupported.
    mutating func wholeDouble() throws -> Double {
        let value = try int64()
        // Beyond 2^53 a Double does not hold every integer: JSONDecoder's rounding is its own.
        guard value.magnitude <= 1 << 53 else { throw Unsupported() }
        return Double(value)
    }
}

// Read once or a few times an export (the repository, its branches, its owner), but each read through
// `JSONDecoder` first walked every protocol conformance of the executable for its containers' types:
// about a millisecond of every start.

extension Owner: GraceJSONFastDecodable {
    private static let fields: [StaticString] = ["Class", "OwnerId", "OwnerName", "OwnerType", "Description", "SearchVisibility", "CreatedAt",
                                                 "UpdatedAt", "DeletedAt", "DeleteReason"]

    init(reading reader: inout GraceJSONReader) throws {
        var `class`: String?, ownerID: OwnerID?, ownerName: String?, ownerType: OwnerType?, description: String?
        var searchVisibility: SearchVisibility?, createdAt: Instant?, updatedAt: Instant?, deletedAt: Instant?, deleteReason: String?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: `class` = try reader.string()
            case 1: ownerID = try OwnerID(reading: &reader)
            case 2: ownerName = try reader.string()
            case 3: ownerType = try OwnerType(reading: &reader)
            case 4: description = try reader.string()
            case 5: searchVisibility = try SearchVisibility(reading: &reader)
            case 6: createdAt = try Instant(reading: &reader)
            case 7: updatedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 8: deletedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 9: deleteReason = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let `class`, let ownerID, let ownerName, let ownerType, let description, let searchVisibility, let createdAt, let deleteReason
        else { throw GraceJSONReader.Unsupported() }
        self.init(ownerID: ownerID, ownerName: ownerName, createdAt: createdAt)
        self.class = `class`
        self.ownerType = ownerType
        self.description = description
        self.searchVisibility = searchVisibility
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.deleteReason = deleteReason
    }
}

extension Repository: GraceJSONFastDecodable {
    private static let fields: [StaticString] = ["Class", "RepositoryId", "OwnerId", "OrganizationId", "RepositoryName", "ObjectStorageProvider",
                                                 "StoragePoolId", "StorageAccountName", "StorageContainerName", "RepositoryType", "RepositoryStatus",
                                                 "AnonymousAccess", "AllowsLargeFiles", "DefaultServerApiVersion", "DefaultBranchName",
                                                 "LogicalDeleteDays", "SaveDays", "CheckpointDays", "DirectoryVersionCacheDays", "DiffCacheDays",
                                                 "Description", "RecordSaves", "CreatedAt", "InitializedAt", "UpdatedAt", "DeletedAt", "DeleteReason"]

    init(reading reader: inout GraceJSONReader) throws {
        var `class`: String?, repositoryID: RepositoryID?, ownerID: OwnerID?, organizationID: OrganizationID?, repositoryName: String?
        var objectStorageProvider: ObjectStorageProvider?, storagePoolID: String?, storageAccountName: String?, storageContainerName: String?
        var repositoryType: RepositoryType?, repositoryStatus: RepositoryStatus?, anonymousAccess: Bool?, allowsLargeFiles: Bool?
        var defaultServerApiVersion: String?, defaultBranchName: String?, logicalDeleteDays: Double?, saveDays: Double?, checkpointDays: Double?
        var directoryVersionCacheDays: Double?, diffCacheDays: Double?, description: String?, recordSaves: Bool?, createdAt: Instant?
        var initializedAt: Instant?, updatedAt: Instant?, deletedAt: Instant?, deleteReason: String?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: `class` = try reader.string()
            case 1: repositoryID = try RepositoryID(reading: &reader)
            case 2: ownerID = try OwnerID(reading: &reader)
            case 3: organizationID = try OrganizationID(reading: &reader)
            case 4: repositoryName = try reader.string()
            case 5: objectStorageProvider = try ObjectStorageProvider(reading: &reader)
            case 6: storagePoolID = try reader.string()
            case 7: storageAccountName = try reader.string()
            case 8: storageContainerName = try reader.string()
            case 9: repositoryType = try RepositoryType(reading: &reader)
            case 10: repositoryStatus = try RepositoryStatus(reading: &reader)
            case 11: anonymousAccess = try reader.bool()
            case 12: allowsLargeFiles = try reader.bool()
            case 13: defaultServerApiVersion = try reader.string()
            case 14: defaultBranchName = try reader.string()
            case 15: logicalDeleteDays = try reader.wholeDouble()
            case 16: saveDays = try reader.wholeDouble()
            case 17: checkpointDays = try reader.wholeDouble()
            case 18: directoryVersionCacheDays = try reader.wholeDouble()
            case 19: diffCacheDays = try reader.wholeDouble()
            case 20: description = try reader.string()
            case 21: recordSaves = try reader.bool()
            case 22: createdAt = try Instant(reading: &reader)
            case 23: initializedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 24: updatedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 25: deletedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 26: deleteReason = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let `class`, let repositoryID, let ownerID, let organizationID, let repositoryName, let objectStorageProvider, let storagePoolID,
              let storageAccountName, let storageContainerName, let repositoryType, let repositoryStatus, let anonymousAccess, let allowsLargeFiles,
              let defaultServerApiVersion, let defaultBranchName, let logicalDeleteDays, let saveDays, let checkpointDays,
              let directoryVersionCacheDays, let diffCacheDays, let description, let recordSaves, let createdAt, let deleteReason
        else { throw GraceJSONReader.Unsupported() }
        self.init(repositoryID: repositoryID, ownerID: ownerID, organizationID: organizationID, repositoryName: repositoryName, createdAt: createdAt)
        self.class = `class`
        self.objectStorageProvider = objectStorageProvider
        self.storagePoolID = storagePoolID
        self.storageAccountName = storageAccountName
        self.storageContainerName = storageContainerName
        self.repositoryType = repositoryType
        self.repositoryStatus = repositoryStatus
        self.anonymousAccess = anonymousAccess
        self.allowsLargeFiles = allowsLargeFiles
        self.defaultServerApiVersion = defaultServerApiVersion
        self.defaultBranchName = defaultBranchName
        self.logicalDeleteDays = logicalDeleteDays
        self.saveDays = saveDays
        self.checkpointDays = checkpointDays
        self.directoryVersionCacheDays = directoryVersionCacheDays
        self.diffCacheDays = diffCacheDays
        self.description = description
        self.recordSaves = recordSaves
        self.initializedAt = initializedAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.deleteReason = deleteReason
    }
}

extension Branch: GraceJSONFastDecodable {
    private static let fields: [StaticString] = ["Class", "BranchId", "BranchName", "ParentBranchId", "OwnerId", "OrganizationId", "RepositoryId",
                                                 "BasedOn", "UserId", "AssignEnabled", "PromotionEnabled", "CommitEnabled", "CheckpointEnabled",
                                                 "SaveEnabled", "TagEnabled", "ExternalEnabled", "AutoRebaseEnabled", "PromotionMode",
                                                 "LatestReference", "LatestPromotion", "LatestCommit", "LatestCheckpoint", "LatestSave",
                                                 "ShouldRecomputeLatestReferences", "CreatedAt", "UpdatedAt", "DeletedAt", "DeleteReason"]

    init(reading reader: inout GraceJSONReader) throws {
        var `class`: String?, branchID: BranchID?, branchName: String?, parentBranchID: BranchID?, ownerID: OwnerID?
        var organizationID: OrganizationID?, repositoryID: RepositoryID?, basedOn: Reference?, userID: String?
        var enabled: [Bool?] = Array(repeating: nil, count: 8)  // AssignEnabled through AutoRebaseEnabled, in `fields`' order
        var promotionMode: PromotionMode?, latest: [Reference?] = Array(repeating: nil, count: 5)  // LatestReference through LatestSave
        var shouldRecompute: Bool?, createdAt: Instant?, updatedAt: Instant?, deletedAt: Instant?, deleteReason: String?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: `class` = try reader.string()
            case 1: branchID = try BranchID(reading: &reader)
            case 2: branchName = try reader.string()
            case 3: parentBranchID = try reader.null() ? nil : try BranchID(reading: &reader)
            case 4: ownerID = try OwnerID(reading: &reader)
            case 5: organizationID = try OrganizationID(reading: &reader)
            case 6: repositoryID = try RepositoryID(reading: &reader)
            case 7: basedOn = try reader.null() ? nil : try Reference(reading: &reader)
            case 8: userID = try reader.string()
            case let flag? where (9...16).contains(flag): enabled[flag - 9] = try reader.bool()
            case 17: promotionMode = try PromotionMode(reading: &reader)
            case let kind? where (18...22).contains(kind): latest[kind - 18] = try reader.null() ? nil : try Reference(reading: &reader)
            case 23: shouldRecompute = try reader.bool()
            case 24: createdAt = try Instant(reading: &reader)
            case 25: updatedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 26: deletedAt = try reader.null() ? nil : try Instant(reading: &reader)
            case 27: deleteReason = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let `class`, let branchID, let branchName, let ownerID, let organizationID, let repositoryID, let userID, let promotionMode,
              let shouldRecompute, let createdAt, let deleteReason, !enabled.contains(nil)
        else { throw GraceJSONReader.Unsupported() }
        self.class = `class`
        self.branchID = branchID
        self.branchName = branchName
        self.parentBranchID = parentBranchID
        self.ownerID = ownerID
        self.organizationID = organizationID
        self.repositoryID = repositoryID
        self.basedOn = basedOn
        self.userID = userID
        (assignEnabled, promotionEnabled, commitEnabled, checkpointEnabled) = (enabled[0]!, enabled[1]!, enabled[2]!, enabled[3]!)
        (saveEnabled, tagEnabled, externalEnabled, autoRebaseEnabled) = (enabled[4]!, enabled[5]!, enabled[6]!, enabled[7]!)
        self.promotionMode = promotionMode
        (latestReference, latestPromotion, latestCommit, latestCheckpoint, latestSave) = (latest[0], latest[1], latest[2], latest[3], latest[4])
        shouldRecomputeLatestReferences = shouldRecompute
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.deleteReason = deleteReason
    }
}

extension ReferenceLink {
    /// As `init(from:)`: the first of its tags present, in the order that tries them; values only strings.
    private static let fields: [StaticString] = ["basedOn", "includedInPromotionSet", "promotionSetTerminal"]

    init(reading reader: inout GraceJSONReader) throws {
        var basedOn: ReferenceID?, included: String?, terminal: String?
        try reader.object(fields: Self.fields) { reader, field in
            switch field {
            case 0: basedOn = try ReferenceID(reading: &reader)
            case 1: included = try reader.string()
            case 2: terminal = try reader.string()
            default: try reader.skipValue()
            }
        }
        if let basedOn { self = .basedOn(basedOn) } else if let included { self = .includedInPromotionSet(included) } else if let terminal {
            self = .promotionSetTerminal(terminal)
        } else {
            throw GraceJSONReader.Unsupported()
        }
    }
}
