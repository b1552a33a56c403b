/// The pair of hashes Grace keeps on every version object, each as 64 lowercase hex digits.
public struct FileHashes: Hashable, Sendable, Codable, CustomStringConvertible {
    public var sha256: String
    public var blake3: String

    public init(sha256: String, blake3: String) {
        self.sha256 = sha256
        self.blake3 = blake3
    }

    /// True when both are full lowercase hashes, the only form Grace persists (`Sha256FullHashRegex`).
    public var isWellFormed: Bool { Self.isFullHash(sha256) && Self.isFullHash(blake3) }

    public static func isFullHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    public var description: String { "sha256 \(sha256) blake3 \(blake3)" }
}

/// Which of Grace's two hashes to compute or show.
public enum HashAlgorithm: String, CaseIterable, Sendable, Codable {
    case sha256, blake3
}

/// Lowercase hexadecimal, as Grace, Git and S3 write digests. By hand: `String(format: "%02x")` runs
/// Foundation's formatter for each byte, and its first use walks the runtime's conformance records.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        bytes.withContiguousStorageIfAvailable { encode(UnsafeRawBufferPointer($0)) } ?? Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// The same, written straight into the string's storage: an export checks the digest of every
    /// content it reads, and the generic loop appending to an array cost 2.5 µs a digest.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 2 * bytes.count) { text in
            for (index, byte) in bytes.enumerated() {
                text[2 * index] = digits[Int(byte >> 4)]
                text[2 * index + 1] = digits[Int(byte & 0x0f)]
            }
            return 2 * bytes.count
        }
    }
}
