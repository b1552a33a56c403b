
/// Re-wraps the deflate data of a gzip member as a zlib stream, without recompressing: the
/// same compressed bytes, a zlib header instead of gzip's, and the Adler-32 of the uncompressed
/// bytes instead of gzip's CRC-32 and length. Grace stores text gzip-compressed at zlib's level 9,
/// and a git pack holds zlib streams, so an export copies those bytes instead of deflating again.
public enum GzipToZlib {
    /// The zlib stream for `gzip`, a single gzip member with nothing after it that decompresses to
    /// `plain` (the caller has checked that, for instance with `GraceBlob.plainBytes`); nil when the
    /// gzip header is not one we can parse.
    public static func convert(gzip: UnsafeRawBufferPointer, plain: UnsafeRawBufferPointer) -> [UInt8]? {
        convert(gzip: gzip, adler32: Adler32.checksum(plain))
    }

    /// The same, with the Adler-32 of the uncompressed bytes already known (recorded by an earlier
    /// conversion): the content itself is not needed.
    public static func convert(gzip: UnsafeRawBufferPointer, adler32 checksum: UInt32) -> [UInt8]? {
        guard gzip.count >= 18, gzip[0] == 0x1f, gzip[1] == 0x8b, gzip[2] == 8 else { return nil }
        let flags = gzip[3]
        guard flags & 0xe0 == 0 else { return nil }  // reserved bits
        var start = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard start + 2 <= gzip.count else { return nil }
            start += 2 + Int(gzip[start]) | Int(gzip[start + 1]) << 8
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while start < gzip.count, gzip[start] != 0 { start += 1 }
            start += 1
        }
        if flags & 0x02 != 0 { start += 2 }  // FHCRC
        let end = gzip.count - 8
        guard start < end else { return nil }
        var stream: [UInt8] = [0x78, 0xda]  // deflate, 32 KiB window, "maximum compression"
        stream.reserveCapacity(end - start + 6)
        stream.append(contentsOf: UnsafeRawBufferPointer(rebasing: gzip[start..<end]))
        stream += [UInt8(truncatingIfNeeded: checksum >> 24), UInt8(truncatingIfNeeded: checksum >> 16),
                   UInt8(truncatingIfNeeded: checksum >> 8), UInt8(truncatingIfNeeded: checksum)]
        return stream
    }

    /// The Adler-32 a zlib stream ends with.
    public static func checksum(ofZlibStream stream: [UInt8]) -> UInt32? {
        guard stream.count >= 6 else { return nil }
        return stream.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The uncompressed size (mod 2^32) a gzip member's trailer records.
    public static func uncompressedSize(gzip: UnsafeRawBufferPointer) -> UInt32? {
        guard gzip.count >= 18 else { return nil }
        return gzip.suffix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}
