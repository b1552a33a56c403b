import CFileSystem
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
    /// Where the entry being streamed in begins (`startEntry`).
    private var entryStart: Int64?
    /// The furthest into the pack anything was written: past `nextOffset` after `discardEntry`.
    private var highestWritten: Int64 = 0

    /// Starts a pack at `destination`'s current offset. The handle must be open for reading too
    /// (`FileHandle(forUpdating:)`): `finish` reads the pack back.
    ///
    /// With `reserving`, the first `bytes` after the pack's header hold `objects` entries the caller
    /// writes itself, at `reservedOffset`, before `finish`: entries of another pack copied whole, whose
    /// OFS_DELTA distances stay right because they move together. Added entries go after them.
    public init(writingTo destination: FileHandle, level: Int32 = GitPackWriter.compressionLevel,
                reserving: (bytes: Int64, objects: Int) = (0, 0)) throws {
        self.destination = destination
        start = try destination.offset()
        deflater = try Deflater(.zlib, level: level)
        buffer = Array("PACK".utf8) + withUnsafeBytes(of: UInt32(2).bigEndian, Array.init) + [0, 0, 0, 0]
        if reserving.bytes > 0 {
            try flush()
            nextOffset += reserving.bytes
            count = reserving.objects
        }
    }

    /// Where in the destination the reserved entries go.
    public var reservedOffset: UInt64 { start + UInt64(Self.headerSize) }

    /// Adds an object stored whole; returns its offset, a base for later deltas.
    @discardableResult
    public func add(_ type: GitObjectType, content: UnsafeRawBufferPointer) throws -> Int64 {
        let offset = nextOffset
        var header: [UInt8] = []
        Self.appendEntryHeader(type: type.rawValue, size: content.count, to: &header)
        try append(header)
        try append(try deflater.compress(content))
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

    /// Starts an object stored whole whose zlib stream comes in pieces (`appendToEntry`), for content too
    /// large to hold in memory; returns its offset. `endEntry` counts it, or `discardEntry` takes it back.
    @discardableResult
    public func startEntry(_ type: GitObjectType, size: Int) throws -> Int64 {
        precondition(entryStart == nil, "one entry at a time")
        let offset = nextOffset
        entryStart = offset
        var header: [UInt8] = []
        Self.appendEntryHeader(type: type.rawValue, size: size, to: &header)
        try append(header)
        return offset
    }

    /// Appends a piece of the started entry's zlib stream.
    public func appendToEntry(_ piece: UnsafeRawBufferPointer) throws {
        precondition(entryStart != nil, "an entry was started")
        try append(piece)
    }

    public func endEntry() {
        precondition(entryStart != nil, "an entry was started")
        entryStart = nil
        count += 1
    }

    /// Takes back the started entry (its object turned out to be in the pack already): the next entry
    /// goes where it began, and `finish` cuts off what of it was written past the pack's end.
    public func discardEntry() {
        guard let entryStart else { preconditionFailure("an entry was started") }
        let bufferStart = nextOffset - Int64(buffer.count)
        highestWritten = max(highestWritten, nextOffset)
        if entryStart >= bufferStart {
            buffer.removeLast(Int(nextOffset - entryStart))
        } else {
            buffer.removeAll(keepingCapacity: true)
        }
        nextOffset = entryStart
        self.entryStart = nil
    }

    /// Adds an object as a delta against the entry at `baseOffset` (an OFS_DELTA).
    @discardableResult
    public func addDelta(baseOffset: Int64, delta: [UInt8]) throws -> Int64 {
        try addDelta(baseOffset: baseOffset, size: delta.count, zlibStream: try deflater.compress(delta))
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
        try finish(alsoHashingFromStart: false).pack
    }

    /// The same; with `alsoHashingFromStart`, also the SHA-256 of the destination from its first byte
    /// to the pack's end, trailer included (a bundle's, header and all), hashed from the same pages on
    /// another core while this one computes the SHA-1: reading the file again for it cost as much.
    public func finish(alsoHashingFromStart: Bool) throws -> (pack: GitObjectID, sha256FromStart: [UInt8]?) {
        precondition(entryStart == nil, "the entry started was ended or discarded")
        try flush()
        let descriptor = destination.fileDescriptor
        try Self.write(withUnsafeBytes(of: UInt32(count).bigEndian, Array.init), to: descriptor, at: start + 8)
        let start = self.start, end = start + UInt64(nextOffset)
        if highestWritten > nextOffset + 20 {
            guard ftruncate(descriptor, off_t(end + 20)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
        nonisolated(unsafe) var packSHA1 = Insecure.SHA1()
        nonisolated(unsafe) var wholeSHA256 = SHA256()
        // Each iteration touches only its own hasher and its own error; both are read after both end.
        nonisolated(unsafe) var packFailure: (any Error)?, wholeFailure: (any Error)?
        DispatchQueue.concurrentPerform(iterations: alsoHashingFromStart ? 2 : 1) { index in
            if index == 0 {
                do { try Self.read(descriptor, from: start, to: end) { packSHA1.update(bufferPointer: $0) } } catch { packFailure = error }
            } else {
                do { try Self.read(descriptor, from: 0, to: end) { wholeSHA256.update(bufferPointer: $0) } } catch { wholeFailure = error }
            }
        }
        if let failure = packFailure ?? wholeFailure { throw failure }
        let checksum = Array(packSHA1.finalize())
        try Self.write(checksum, to: descriptor, at: end)
        try destination.seek(toOffset: end + 20)
        guard alsoHashingFromStart else { return (GitObjectID(bytes: checksum), nil) }
        wholeSHA256.update(data: checksum)
        return (GitObjectID(bytes: checksum), Array(wholeSHA256.finalize()))
    }

    /// Reads `[from, to)` of a file in 4 MiB pieces with pread(2), one buffer reused.
    private static func read(_ descriptor: Int32, from: UInt64, to end: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var offset = from
        while offset < end {
            let wanted = Int(min(UInt64(buffer.count), end - offset))
            let result = pread(descriptor, buffer.baseAddress, wanted, off_t(offset))
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { throw GitFormatError("the pack being written ends at byte \(offset), before the \(end) written") }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<result]))
            offset += UInt64(result)
        }
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

    /// Writes the buffer at its place in the pack with pwrite(2): the destination's own offset is
    /// left alone (a bundle's header is rewritten through it before `finish`).
    private func flush() throws {
        guard !buffer.isEmpty else { return }
        let offset = start + UInt64(nextOffset) - UInt64(buffer.count)
        try Self.write(buffer, to: destination.fileDescriptor, at: offset)
        // Starts writing the piece to disk now, without waiting: the caller's fsync at the end then has
        // only the tail left (it was 45-70 ms of a 146 MB export, with the disk idle until then).
        _ = grace_start_writeback(destination.fileDescriptor, Int64(offset), Int64(buffer.count))
        buffer.removeAll(keepingCapacity: true)
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32, at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, to: descriptor, at: offset) }
    }

    /// Writes all of `bytes` at `offset` in a file with pwrite(2), the file's own offset untouched.
    public static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, at offset: UInt64) throws {
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            written += result
        }
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
