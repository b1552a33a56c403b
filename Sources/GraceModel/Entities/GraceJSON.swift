import Foundation

/// The one JSON configuration for Grace documents: keys as Grace spells them (from each type's
/// `CodingKeys`), sorted so the same document always has the same bytes, `/` unescaped.
public enum GraceJSON {
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// Decodes as `JSONDecoder` does. The types an export reads (`fastDecodable`) go through
    /// `GraceJSONReader` first, which gives the same value for the JSON Grace writes.
    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        if let value = data.withUnsafeBytes({ readFast(type, $0) }) { return value }
        return try JSONDecoder().decode(type, from: data)
    }

    /// The same, for a document held as text: read in place, not copied.
    public static func decode<Value: Decodable>(_ type: Value.Type, from json: String) throws -> Value {
        var json = json
        if let value = json.withUTF8({ readFast(type, UnsafeRawBufferPointer($0)) }) { return value }
        return try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    /// The types `GraceJSONReader` reads. Looked up by identity, not by casting `type` to the protocol:
    /// a type's first cast to a protocol walks every conformance in the executable (11,000 of them,
    /// about 440,000 instructions, 0.1 ms), once for each type decoded, found or not.
    private static let fastDecodable: [any GraceJSONFastDecodable.Type] = [
        DirectoryVersion.self, ReferenceSummary.self, Reference.self, Branch.self, Repository.self, Owner.self,
    ]

    /// The value `GraceJSONReader` reads, or nil for a type it does not read or a document outside its subset.
    private static func readFast<Value: Decodable>(_ type: Value.Type, _ bytes: UnsafeRawBufferPointer) -> Value? {
        guard let fast = fastDecodable.first(where: { ObjectIdentifier($0) == ObjectIdentifier(type) }) else { return nil }
        return (try? fast.init(readingWhole: bytes)) as? Value
    }
}

extension Encodable {
    /// This value as Grace JSON; callable on an `any Encodable`, which opens it.
    public func graceJSON() throws -> Data { try GraceJSON.encode(self) }
}
