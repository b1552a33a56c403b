import Crypto

/// A Git object id: the SHA-1 of `"<type> <size>\0"` followed by the object's content.
public struct GitObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 20 bytes of the SHA-1.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 20, "a SHA-1 object id has 20 bytes")
        self.bytes = bytes
    }

    /// Parses 40 hexadecimal digits, either case.
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == 40 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        for index in stride(from: 0, to: 40, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(40)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (lhs: GitObjectID, rhs: GitObjectID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// The id of an object of `type` with `content`.
    public static func of(_ type: GitObjectType, content: UnsafeRawBufferPointer) -> GitObjectID {
        var hasher = Insecure.SHA1()
        hasher.update(data: Array("\(type.name) \(content.count)\0".utf8))
        hasher.update(bufferPointer: content)
        return GitObjectID(bytes: Array(hasher.finalize()))
    }

    public static func of(_ type: GitObjectType, content: [UInt8]) -> GitObjectID {
        content.withUnsafeBytes { of(type, content: $0) }
    }

    /// The empty tree, which every Git knows.
    public static let emptyTree = GitObjectID(hex: "4b825dc642cb6eb9a060e54bf8d69288fbee4904")!

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Object types as a pack numbers them.
public enum GitObjectType: UInt8, Sendable, Hashable, Codable {
    case commit = 1, tree = 2, blob = 3, tag = 4

    public var name: String {
        switch self {
        case .commit: "commit"
        case .tree: "tree"
        case .blob: "blob"
        case .tag: "tag"
        }
    }
}
