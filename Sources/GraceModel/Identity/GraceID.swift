import Foundation

/// The kind of entity an identifier names; the phantom parameter keeps an `OwnerID` from
/// being passed where a `RepositoryID` is expected.
public protocol GraceEntityKind: Sendable {}

public enum OwnerKind: GraceEntityKind {}
public enum OrganizationKind: GraceEntityKind {}
public enum RepositoryKind: GraceEntityKind {}
public enum BranchKind: GraceEntityKind {}
public enum ReferenceKind: GraceEntityKind {}
public enum DirectoryVersionKind: GraceEntityKind {}

/// A Grace identifier: a `System.Guid`, written as a lowercase hyphenated string.
public struct GraceID<Kind: GraceEntityKind>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// Parses the hyphenated form in any case; returns nil for anything else.
    public init?(_ text: String) {
        var text = text
        guard let uuid = text.withUTF8({ GuidText.parse($0) }) else { return nil }
        self.uuid = uuid
    }

    /// The same, from the text's bytes.
    public init?(utf8 text: UnsafeBufferPointer<UInt8>) {
        guard let uuid = GuidText.parse(text) else { return nil }
        self.uuid = uuid
    }

    /// The lowercase hyphenated form. Written by hand, as `parse` reads it: Foundation's
    /// `uuidString` goes through `sprintf`, and ids are formatted for every lookup an export makes.
    public var description: String {
        String(unsafeUninitializedCapacity: Self.textLength) { writeText(into: $0) }
    }

    /// How long the text of every id is.
    public static var textLength: Int { 36 }

    /// Writes the lowercase hyphenated form at the start of `text` (at least `textLength` bytes);
    /// returns `textLength`.
    public func writeText(into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(text.count >= Self.textLength, "a Guid is 36 characters")
        return withUnsafeBytes(of: uuid.uuid) { bytes in
            var position = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { text[position] = UInt8(ascii: "-"); position += 1 }
                text[position] = GuidText.hexDigits[Int(byte >> 4)]
                text[position + 1] = GuidText.hexDigits[Int(byte & 0x0f)]
                position += 2
            }
            return position
        }
    }

    /// The bytes in order compare as the lowercase text does, without making it.
    public static func < (lhs: GraceID, rhs: GraceID) -> Bool {
        withUnsafeBytes(of: lhs.uuid.uuid) { left in withUnsafeBytes(of: rhs.uuid.uuid) { right in left.lexicographicallyPrecedes(right) } }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = GraceID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a Guid")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public typealias OwnerID = GraceID<OwnerKind>
public typealias OrganizationID = GraceID<OrganizationKind>
public typealias RepositoryID = GraceID<RepositoryKind>
public typealias BranchID = GraceID<BranchKind>
public typealias ReferenceID = GraceID<ReferenceKind>
public typealias DirectoryVersionID = GraceID<DirectoryVersionKind>

/// A Guid's text, read and written without Foundation (a generic type cannot hold static constants).
enum GuidText {
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hexadecimal digits in any case.
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard text.count == 36 else { return nil }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &uuid) { bytes in
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    guard text[position] == UInt8(ascii: "-") else { return false }
                    position += 1
                }
                guard let high = hexValue(text[position]), let low = hexValue(text[position + 1]) else { return false }
                bytes[index] = high << 4 | low
                position += 2
            }
            return true
        }
        return parsed ? UUID(uuid: uuid) : nil
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
