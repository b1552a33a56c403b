
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
        guard gzip.count >= 18, case let .complete(start) = headerLength(gzip) else { return nil }
        let end = gzip.count - 8
        guard start < end else { return nil }
        var stream = zlibHeader
        stream.reserveCapacity(end - start + 6)
        stream.append(contentsOf: UnsafeRawBufferPointer(rebasing: gzip[start..<end]))
        stream += Adler32.trailer(checksum)
        return stream
    }

    /// A zlib header for Grace's deflate data: deflate, 32 KiB window, "maximum compression".
    static let zlibHeader: [UInt8] = [0x78, 0xda]

    enum HeaderLength: Equatable {
        /// Where the deflate data starts.
        case complete(Int)
        /// The bytes so far end inside the header.
        case incomplete
        /// Not a gzip header we can parse.
        case unsupported
    }

    /// How long the gzip header at the start of `gzip` is.
    static func headerLength(_ gzip: UnsafeRawBufferPointer) -> HeaderLength {
        guard gzip.count >= 10 else {
            let magic: [UInt8] = [0x1f, 0x8b, 8]
            return zip(gzip, magic).allSatisfy { $0 == $1 } ? .incomplete : .unsupported
        }
        guard gzip[0] == 0x1f, gzip[1] == 0x8b, gzip[2] == 8 else { return .unsupported }
        let flags = gzip[3]
        guard flags & 0xe0 == 0 else { return .unsupported }  // reserved bits
        var start = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard start + 2 <= gzip.count else { return .incomplete }
            start += 2 + Int(gzip[start]) | Int(gzip[start + 1]) << 8
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while start < gzip.count, gzip[start] != 0 { start += 1 }
            guard start < gzip.count else { return .incomplete }
            start += 1
        }
        if flags & 0x02 != 0 { start += 2 }  // FHCRC
        return start <= gzip.count ? .complete(start) : .incomplete
    }

    /// The same conversion for a gzip member read in pieces, in constant memory: each piece's deflate
    /// data is passed on as it comes, gzip's 8-byte trailer held back until the end. The caller, who
    /// decompresses the same pieces to check and hash them, gives the Adler-32 at the end.
    public struct Stream {
        /// The bytes before the header is whole; after, the last (at most 8) bytes not passed on.
        private var held: [UInt8] = []
        private var headerDone = false

        public init() {}

        /// Passes on the zlib bytes `piece` completes. False, with nothing passed on, when the
        /// header is not one we can parse (the caller compresses the content itself instead):
        /// that is known by the end of the header, before anything is passed on.
        public mutating func feed(_ piece: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
            var piece = piece
            if !headerDone {
                held.append(contentsOf: piece)
                switch held.withUnsafeBytes(GzipToZlib.headerLength) {
                case .incomplete: return true
                case .unsupported: return false
                case let .complete(start):
                    headerDone = true
                    try zlibHeader.withUnsafeBytes(output)
                    let rest = Array(held[start...])
                    held = []
                    return try rest.withUnsafeBytes { try feed($0, output: output) }
                }
            }
            // Of the held bytes and the piece, all but the last 8 go out.
            let outgoing = held.count + piece.count - 8
            guard outgoing > 0 else {
                held.append(contentsOf: piece)
                return true
            }
            let fromHeld = min(held.count, outgoing)
            if fromHeld > 0 { try held.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0[0..<fromHeld])) } }
            held.removeFirst(fromHeld)
            let fromPiece = outgoing - fromHeld
            if fromPiece > 0 { try output(UnsafeRawBufferPointer(rebasing: piece[0..<fromPiece])) }
            piece = UnsafeRawBufferPointer(rebasing: piece[fromPiece...])
            held.append(contentsOf: piece)
            return true
        }

        /// Ends the zlib stream with the Adler-32 of the uncompressed bytes; returns the uncompressed
        /// size (mod 2^32) gzip's trailer records, nil when the member was too short to hold one.
        public mutating func finish(adler32 checksum: UInt32, output: (UnsafeRawBufferPointer) throws -> Void) rethrows -> UInt32? {
            guard headerDone, held.count == 8 else { return nil }
            try Adler32.trailer(checksum).withUnsafeBytes(output)
            return held.suffix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
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
