import Crypto
import Deflate
import Foundation

/// Writes a pack (version 2) straight into its destination with bounded memory. The object count
/// in the pack's header is known only at the end, and the trailing SHA-1 covers it, so `finish`
/// writes the count in place and then reads the pack back once (from the page cache) to hash it:
/// cheaper than writing the whole pack to a temporary file and copying it.
public final class GitPackWriter {
    public static let headerSize: Int64 = 12
    /// zlib level for what we compress ourselves: Git's default (`core.compression` -1) is 6.
    public static let compressionLevel: Int32 = 6

    private let destination: FileHandle
    /// Where the pack starts in the destination (after a bundle header, say).
    private let start: UInt64
    private var buffer: [UInt8] = []
    private let deflater: Deflater
    /// Where the next entry starts in the pack.
    public private(set) var nextOffset = GitPackWriter.headerSize
    public private(set) var count = 0

    /// Starts a pack at `destination`'s current offset. The handle must be open for reading too
    /// (`FileHandle(forUpdating:)`): `finish` reads the pack back.
    public init(writingTo destination: FileHandle, level: Int32 = GitPackWriter.compressionLevel) throws {
        self.destination = destination
        start = try destination.offset()
        deflater = try Deflater(.zlib, level: level)
        buffer = Array("PACK".utf8) + withUnsafeBytes(of: UInt32(2).bigEndian, Array.init) + [0, 0, 0, 0]
    }

    /// Adds an object stored whole; returns its offset, a base for later deltas.
    @discardableResult
    public func add(_ type: GitObjectType, content: UnsafeRawBufferPointer) throws -> Int64 {
        let offset = nextOffset
        var header: [UInt8] = []
        Self.appendEntryHeader(type: type.rawValue, size: content.count, to: &header)
        try append(header)
        try deflater.reset()
        try deflater.feed(content) { try append($0) }
        try deflater.finish { try append($0) }
        count += 1
        return offset
    }

    /// Adds an object stored whole whose zlib stream the caller already has (see `GzipToZlib`).
    @discardableResult
    public func add(_ type: GitObjectType, size: Int, zlibStream: [UInt8]) throws -> Int64 {
        let offset = nextOffset
        var header: [UInt8] = []
        Self.appendEntryHeader(type: type.rawValue, size: size, to: &header)
        try append(header)
        try append(zlibStream)
        count += 1
        return offset
    }

    /// Adds an object as a delta against the entry at `baseOffset` (an OFS_DELTA).
    @discardableResult
    public func addDelta(baseOffset: Int64, delta: [UInt8]) throws -> Int64 {
        try addDelta(baseOffset: baseOffset, size: delta.count, zlibStream: try Deflater.compress(delta, format: .zlib, level: Self.compressionLevel))
    }

    /// Adds a delta whose zlib stream the caller compressed (`size` is the delta's uncompressed size).
    @discardableResult
    public func addDelta(baseOffset: Int64, size: Int, zlibStream: [UInt8]) throws -> Int64 {
        let offset = nextOffset
        precondition(baseOffset < offset, "an OFS_DELTA's base comes before it")
        var header: [UInt8] = []
        Self.appendEntryHeader(type: 6, size: size, to: &header)
        Self.appendBaseDistance(offset - baseOffset, to: &header)
        try append(header)
        try append(zlibStream)
        count += 1
        return offset
    }

    /// Writes the object count into the header, then the SHA-1 of the whole pack after it; returns that checksum.
    public func finish() throws -> GitObjectID {
        try flush()
        try destination.seek(toOffset: start + 8)
        try destination.write(contentsOf: withUnsafeBytes(of: UInt32(count).bigEndian, Array.init))
        try destination.seek(toOffset: start)
        var hasher = Insecure.SHA1()
        var remaining = UInt64(nextOffset)
        while remaining > 0, let piece = try destination.read(upToCount: Int(min(remaining, 1 << 20))), !piece.isEmpty {
            hasher.update(data: piece)
            remaining -= UInt64(piece.count)
        }
        guard remaining == 0 else { throw GitFormatError("the pack being written is shorter than written") }
        let checksum = Array(hasher.finalize())
        try destination.seek(toOffset: start + UInt64(nextOffset))
        try destination.write(contentsOf: checksum)
        return GitObjectID(bytes: checksum)
    }

    private func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        nextOffset += Int64(bytes.count)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        nextOffset += Int64(bytes.count)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try destination.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Type in bits 4-6 of the first byte, the size in its low four bits and 7 bits per byte after.
    static func appendEntryHeader(type: UInt8, size: Int, to bytes: inout [UInt8]) {
        var size = size
        var byte = (type << 4) | UInt8(size & 0x0f)
        size >>= 4
        while size > 0 {
            bytes.append(byte | 0x80)
            byte = UInt8(size & 0x7f)
            size >>= 7
        }
        bytes.append(byte)
    }

    /// An OFS_DELTA's distance back to its base: big-endian 7-bit groups, each continuation adding one.
    static func appendBaseDistance(_ distance: Int64, to bytes: inout [UInt8]) {
        var value = distance
        var encoded = [UInt8(value & 0x7f)]
        value >>= 7
        while value > 0 {
            value -= 1
            encoded.append(0x80 | UInt8(value & 0x7f))
            value >>= 7
        }
        bytes += encoded.reversed()
    }
}
