import Deflate
import Foundation
import GraceModel
import GraceStorage

/// One entity of a database image: a line of `images/<sha256>`. The document is kept as the
/// exact JSON text the database held, so a restore writes back the same bytes.
struct ImageLine: Codable, Sendable, Hashable {
    var kind: EntityKind
    var id: String
    var document: String
}

/// One change-feed row: a line of `segments/<sha256>`. `document` is absent for a deletion.
struct SegmentLine: Codable, Sendable, Hashable {
    var sequence: Int64
    var committedAt: Instant
    var kind: EntityKind
    var id: String
    var repositoryID: String?
    var document: String?

    init(_ change: ChangeRecord) {
        sequence = change.sequence
        committedAt = change.committedAt
        kind = change.kind
        id = change.entityID
        repositoryID = change.repositoryID?.description
        document = change.document
    }
}

/// Images and segments are JSON lines, gzip-compressed: one object per line, in a fixed order
/// (images by kind then id, segments by sequence), so the same state always gives the same bytes.
enum JSONLines {
    static func encode<Line: Encodable>(_ lines: [Line]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text: [UInt8] = []
        for line in lines {
            text += try encoder.encode(line)
            text.append(10)
        }
        return try Deflater.compress(text, format: .gzip, level: 6)
    }

    static func decode<Line: Decodable>(_ type: Line.Type, from compressed: [UInt8], key: String) throws -> [Line] {
        let text: [UInt8]
        do {
            text = try Inflater.decompress(compressed, format: .gzip)
        } catch {
            throw VaultFailure.recordDamaged(key: key, detail: "\(error)")
        }
        let decoder = JSONDecoder()
        // One parse of the whole record as an array is several times faster than one per line;
        // lines hold no raw newline (JSON escapes it), so joining them with commas is exact.
        if text.last == 10 {
            var array: [UInt8] = [UInt8(ascii: "[")]
            array.reserveCapacity(text.count + 2)
            array += text.dropLast().lazy.map { $0 == 10 ? UInt8(ascii: ",") : $0 }
            array.append(UInt8(ascii: "]"))
            if let lines = try? decoder.decode([Line].self, from: Data(array)) { return lines }
        } else if text.isEmpty {
            return []
        }
        // Something is wrong: decode line by line to say which line.
        var lines: [Line] = []
        var start = 0
        for (index, byte) in text.enumerated() where byte == 10 {
            do {
                lines.append(try decoder.decode(type, from: Data(text[start..<index])))
            } catch {
                throw VaultFailure.recordDamaged(key: key, detail: "line \(lines.count + 1) does not decode: \(error)")
            }
            start = index + 1
        }
        guard start == text.count else { throw VaultFailure.recordDamaged(key: key, detail: "its last line is incomplete") }
        return lines
    }
}

/// The state of a database as a map of documents: what an image holds, and what an image plus
/// segments replay to.
struct DatabaseState: Sendable {
    struct Key: Hashable, Sendable, Comparable {
        let kind: EntityKind
        let id: String
        static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.kind.rawValue != rhs.kind.rawValue ? lhs.kind.rawValue < rhs.kind.rawValue : lhs.id < rhs.id
        }
    }

    var documents: [Key: String] = [:]

    init(image: [ImageLine]) {
        for line in image { documents[Key(kind: line.kind, id: line.id)] = line.document }
    }

    mutating func apply(_ segment: [SegmentLine]) {
        for change in segment {
            documents[Key(kind: change.kind, id: change.id)] = change.document
        }
    }

    func all<Value: Decodable>(_ type: Value.Type, _ kind: EntityKind) throws -> [Value] {
        try documents.filter { $0.key.kind == kind }.sorted { $0.key < $1.key }.map { entry in
            do {
                return try GraceJSON.decode(type, from: entry.value)
            } catch {
                throw MalformedDocument(entityKind: kind, id: entry.key.id, detail: "\(error)")
            }
        }
    }
}
