import Foundation

/// The one JSON configuration for Grace documents: keys as Grace spells them (from each type's
/// `CodingKeys`), sorted so the same document always has the same bytes, `/` unescaped.
public enum GraceJSON {
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        try JSONDecoder().decode(type, from: data)
    }
}

extension Encodable {
    /// This value as Grace JSON; callable on an `any Encodable`, which opens it.
    public func graceJSON() throws -> Data { try GraceJSON.encode(self) }
}
