import CZlib

/// Zlib streams of stored (uncompressed) deflate blocks, for content that does not compress:
/// deflating random bytes, images or archives spends time to save nothing, and zlib itself falls
/// back to stored blocks for them. Written directly, they cost one copy and an Adler-32.
public enum StoredZlib {
    /// A stored block holds at most this many bytes (its length is 16 bits).
    static let blockLimit = 65_535
    /// Deflate, 32 KiB window, "fastest": (0x78 << 8 | 0x01) % 31 == 0.
    static let zlibHeader: [UInt8] = [0x78, 0x01]

    /// The zlib stream holding `plain` in stored blocks; `adler32` is its Adler-32 (`Adler32.checksum`).
    public static func stream(_ plain: UnsafeRawBufferPointer, adler32 checksum: UInt32) -> [UInt8] {
        let blocks = max(1, (plain.count + blockLimit - 1) / blockLimit)
        var stream: [UInt8] = []
        stream.reserveCapacity(2 + blocks * 5 + plain.count + 4)
        stream += zlibHeader
        var offset = 0
        repeat {
            let length = min(blockLimit, plain.count - offset)
            let last = offset + length == plain.count
            stream += blockHeader(length: length, last: last)
            if length > 0 { stream.append(contentsOf: UnsafeRawBufferPointer(rebasing: plain[offset..<offset + length])) }
            offset += length
        } while offset < plain.count
        stream += Adler32.trailer(checksum)
        return stream
    }

    /// The same stream for content read in pieces, in constant memory: the same bytes as `stream`
    /// (blocks of `blockLimit`, the last one marked), given the content's size up front.
    public struct Stream {
        private let size: Int64
        private var passed: Int64 = 0
        /// Bytes left in the block being written.
        private var leftInBlock = 0
        private var adler = Adler32.initial

        public init(size: Int64) { self.size = size }

        /// Passes on the zlib bytes holding `piece`. False, with nothing passed on, once the pieces
        /// add up to more than the size given.
        public mutating func feed(_ piece: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
            guard passed + Int64(piece.count) <= size else { return false }
            if passed == 0 { try StoredZlib.zlibHeader.withUnsafeBytes(output) }
            adler = Adler32.update(adler, with: piece)
            var rest = piece
            while !rest.isEmpty {
                if leftInBlock == 0 {
                    leftInBlock = Int(min(Int64(blockLimit), size - passed))
                    try StoredZlib.blockHeader(length: leftInBlock, last: passed + Int64(leftInBlock) == size).withUnsafeBytes(output)
                }
                let taken = min(leftInBlock, rest.count)
                try output(UnsafeRawBufferPointer(rebasing: rest[0..<taken]))
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                leftInBlock -= taken
                passed += Int64(taken)
            }
            return true
        }

        /// Ends the stream with its Adler-32, which it returns; nil, with nothing passed on, when the
        /// pieces added up to less than the size given.
        public mutating func finish(output: (UnsafeRawBufferPointer) throws -> Void) rethrows -> UInt32? {
            guard passed == size, size > 0 else { return nil }
            try Adler32.trailer(adler).withUnsafeBytes(output)
            return adler
        }
    }

    /// BFINAL in bit 0, BTYPE 00 in bits 1-2; a stored block's length and its complement follow.
    static func blockHeader(length: Int, last: Bool) -> [UInt8] {
        [last ? 1 : 0, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
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
    /// The checksum of nothing, where one computed in pieces starts.
    public static let initial: UInt32 = 1

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(initial, with: bytes)
    }

    /// The checksum of what `checksum` covered followed by `bytes`: for content read in pieces.
    public static func update(_ checksum: UInt32, with bytes: UnsafeRawBufferPointer) -> UInt32 {
        if let adler32 = LibDeflate.shared?.adler32 { return adler32(checksum, bytes.baseAddress, bytes.count) }
        var checksum = uLong(checksum)
        var offset = 0
        while offset < bytes.count {  // zlib's adler32 takes a 32-bit length
            let length = min(bytes.count - offset, 1 << 30)
            checksum = CZlib.adler32(checksum, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: checksum)
    }

    /// The checksum as a zlib stream ends with it: big-endian.
    static func trailer(_ checksum: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: checksum >> 24), UInt8(truncatingIfNeeded: checksum >> 16),
         UInt8(truncatingIfNeeded: checksum >> 8), UInt8(truncatingIfNeeded: checksum)]
    }
}

#if canImport(Glibc)
import Glibc
private func _log2(_ value: Double) -> Double { Glibc.log2(value) }
#elseif canImport(Darwin)
import Darwin
private func _log2(_ value: Double) -> Double { Darwin.log2(value) }
#endif
