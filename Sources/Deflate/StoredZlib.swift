import CZlib

/// Zlib streams of stored (uncompressed) deflate blocks, for content that does not compress:
/// deflating random bytes, images or archives spends time to save nothing, and zlib itself falls
/// back to stored blocks for them. Written directly, they cost one copy and an Adler-32.
public enum StoredZlib {
    /// A stored block holds at most this many bytes (its length is 16 bits).
    static let blockLimit = 65_535

    /// The zlib stream holding `plain` in stored blocks; `adler32` is its Adler-32 (`Adler32.checksum`).
    public static func stream(_ plain: UnsafeRawBufferPointer, adler32 checksum: UInt32) -> [UInt8] {
        let blocks = max(1, (plain.count + blockLimit - 1) / blockLimit)
        var stream: [UInt8] = []
        stream.reserveCapacity(2 + blocks * 5 + plain.count + 4)
        stream += [0x78, 0x01]  // deflate, 32 KiB window, "fastest": (0x78 << 8 | 0x01) % 31 == 0
        var offset = 0
        repeat {
            let length = min(blockLimit, plain.count - offset)
            let last = offset + length == plain.count
            // BFINAL in bit 0, BTYPE 00 in bits 1-2; a stored block's length starts at the next byte.
            stream += [last ? 1 : 0, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
            if length > 0 { stream.append(contentsOf: UnsafeRawBufferPointer(rebasing: plain[offset..<offset + length])) }
            offset += length
        } while offset < plain.count
        stream += [UInt8(truncatingIfNeeded: checksum >> 24), UInt8(truncatingIfNeeded: checksum >> 16),
                   UInt8(truncatingIfNeeded: checksum >> 8), UInt8(truncatingIfNeeded: checksum)]
        return stream
    }

    /// Whether `bytes` looks not worth deflating: the order-0 entropy of its first 16 KiB is at least
    /// 7.6 bits per byte, where Huffman coding alone would save under 5%. Counting bytes costs a
    /// fraction of trying to compress them (deflating a 64 KiB sample at level 1 did: it was a fifth
    /// of a cold export's time). Content with long repeats despite an even spread of bytes (two copies
    /// of the same image) is stored larger than deflate would make it; never wrongly.
    public static func looksIncompressible(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let sample = UnsafeRawBufferPointer(rebasing: bytes.prefix(16 * 1024))
        guard sample.count >= 4096 else { return false }
        var counts = [Int](repeating: 0, count: 256)
        for byte in sample { counts[Int(byte)] += 1 }
        let total = Double(sample.count)
        var bits = 0.0
        for count in counts where count > 0 {
            let share = Double(count) / total
            bits -= share * _log2(share)
        }
        return bits >= 7.6
    }
}

/// Adler-32, the checksum a zlib stream ends with: libdeflate's, vectorised, where it is installed
/// (it was 5% of a cold export with zlib's), zlib's otherwise.
public enum Adler32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        if let adler32 = LibDeflate.shared?.adler32 { return adler32(1, bytes.baseAddress, bytes.count) }
        var checksum = CZlib.adler32(0, nil, 0)
        var offset = 0
        while offset < bytes.count {  // zlib's adler32 takes a 32-bit length
            let length = min(bytes.count - offset, 1 << 30)
            checksum = CZlib.adler32(checksum, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: checksum)
    }
}

#if canImport(Glibc)
import Glibc
private func _log2(_ value: Double) -> Double { Glibc.log2(value) }
#elseif canImport(Darwin)
import Darwin
private func _log2(_ value: Double) -> Double { Darwin.log2(value) }
#endif
