import Crypto

/// Grace's file hashes: SHA-256 and BLAKE3 over the file's bytes only (no path, no length,
/// ADR 0006), computed together in one pass so a file is read once.
///
/// Feed it the *uncompressed* bytes in any pieces; memory stays constant.
public struct FileHasher {
    private var sha256: SHA256?
    private var blake3: Blake3Hasher?
    private var sniffedBytes = 0
    /// Grace's (and Git's) binary rule: a NUL byte somewhere in the first 8 KiB.
    public private(set) var sawNulInFirst8KiB = false
    public private(set) var byteCount: Int64 = 0

    /// - Parameter algorithms: which hashes to compute; one that is left out finalizes as "".
    ///   Everything that verifies or stores computes both; `hash --algorithm` may ask for one.
    public init(computing algorithms: Set<HashAlgorithm> = [.sha256, .blake3]) {
        sha256 = algorithms.contains(.sha256) ? SHA256() : nil
        blake3 = algorithms.contains(.blake3) ? Blake3Hasher() : nil
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if sniffedBytes < FileHasher.binarySniffLength {
            let sniff = min(bytes.count, FileHasher.binarySniffLength - sniffedBytes)
            if !sawNulInFirst8KiB, sniff > 0, memchr(bytes.baseAddress!, 0, sniff) != nil { sawNulInFirst8KiB = true }
            sniffedBytes += sniff
        }
        sha256?.update(bufferPointer: bytes)
        blake3?.update(bytes)
        byteCount += Int64(bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func finalize() -> FileHashes {
        FileHashes(sha256: sha256.map { Hex.encode($0.finalize()) } ?? "", blake3: blake3.map { Hex.encode($0.finalize()) } ?? "")
    }

    /// Hashes of a whole byte array: for tests, preimages and small files.
    public static func hashes(of bytes: [UInt8]) -> FileHashes {
        var hasher = FileHasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static let binarySniffLength = 8 * 1024
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
