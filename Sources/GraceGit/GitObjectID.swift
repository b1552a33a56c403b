import Crypto

/// A Git object id: the SHA-1 of `"<type> <size>\0"` followed by the object's content.
///
/// Held in three words, not an array: an export looks up and compares ids by the hundred thousand.
public struct GitObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The first 16 and the last 4 bytes, big-endian, so words compare as the bytes do.
    private let high: UInt64, middle: UInt64, low: UInt32

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 20, "a SHA-1 object id has 20 bytes")
        self.init(bytes.withUnsafeBytes { $0 })
    }

    /// From 20 bytes in memory.
    public init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 20, "a SHA-1 object id has 20 bytes")
        high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        middle = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        low = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
    }

    /// The 20 bytes of the SHA-1.
    public var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        withBytes { source in bytes.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
        return bytes
    }

    /// Calls `body` with the 20 bytes, without allocating.
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var words = (high.bigEndian, middle.bigEndian, low.bigEndian)
        return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
    }

    /// Parses 40 hexadecimal digits, either case.
    public init?(hex: some StringProtocol) {
        self.init(hexUTF8: hex.utf8)
    }

    /// The same, from the digits' bytes.
    public init?(hexUTF8 digits: some Collection<UInt8>) {
        let parsed = digits.withContiguousStorageIfAvailable { Self.parse($0) } ?? Array(digits).withUnsafeBufferPointer { Self.parse($0) }
        guard let parsed else { return nil }
        self = parsed
    }

    private static func parse(_ digits: UnsafeBufferPointer<UInt8>) -> GitObjectID? {
        guard digits.count == 40 else { return nil }
        // A table lookup per digit, invalid digits flagged in the high bits and checked once:
        // states of tens of thousands of ids are parsed on every export.
        var invalid: UInt8 = 0
        func word(_ start: Int, _ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in start..<start + count {
                let nibble = nibbles[Int(digits[index])]
                invalid |= nibble
                value = value << 4 | UInt64(nibble & 0x0f)
            }
            return value
        }
        let high = word(0, 16), middle = word(16, 16), low = word(32, 8)
        guard invalid & 0xf0 == 0 else { return nil }
        return GitObjectID(high: high, middle: middle, low: UInt32(low))
    }

    /// Each byte's value as a hexadecimal digit, or 0xff.
    private static let nibbles: [UInt8] = (0...255).map { nibble(UInt8($0)) ?? 0xff }

    private init(high: UInt64, middle: UInt64, low: UInt32) {
        (self.high, self.middle, self.low) = (high, middle, low)
    }

    /// The first eight bytes only: a SHA-1's bits are evenly spread and equal ids still compare whole,
    /// and the sets and maps of every object an export state holds hash one word instead of three.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(high)
    }

    public var hex: String {
        String(unsafeUninitializedCapacity: 40) { writeHex(into: $0) }
    }

    /// Writes the 40 hexadecimal digits at the start of `text` (at least 40 bytes); returns 40.
    public func writeHex(into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(text.count >= 40, "an object id is 40 hexadecimal digits")
        withBytes { bytes in
            for (index, byte) in bytes.enumerated() {
                text[2 * index] = Self.hexDigits[Int(byte >> 4)]
                text[2 * index + 1] = Self.hexDigits[Int(byte & 0x0f)]
            }
        }
        return 40
    }

    public var description: String { hex }

    public static func < (lhs: GitObjectID, rhs: GitObjectID) -> Bool { (lhs.high, lhs.middle, lhs.low) < (rhs.high, rhs.middle, rhs.low) }

    /// The id of an object of `type` with `content`.
    public static func of(_ type: GitObjectType, content: UnsafeRawBufferPointer) -> GitObjectID {
        var hasher = GitObjectHasher(type, size: Int64(content.count))
        hasher.update(content)
        return hasher.finalize()
    }

    public static func of(_ type: GitObjectType, content: [UInt8]) -> GitObjectID {
        content.withUnsafeBytes { of(type, content: $0) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

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

/// The id of an object whose content comes in pieces: Git's SHA-1 of its header and content.
public struct GitObjectHasher {
    private var hasher = Insecure.SHA1()

    /// `size` is the content's whole length: Git's header holds it.
    public init(_ type: GitObjectType, size: Int64) {
        hasher.update(data: Array("\(type.name) \(size)\0".utf8))
    }

    public mutating func update(_ piece: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: piece)
    }

    public func finalize() -> GitObjectID {
        hasher.finalize().withUnsafeBytes { GitObjectID($0) }
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
