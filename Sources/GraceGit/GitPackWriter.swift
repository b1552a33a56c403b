import Crypto
import Deflate
import Foundation

/// Writes a pack (version 2) in one pass with bounded memory: entries go to a temporary file as
/// they are added, since the header's object count is known only at the end; `finish` writes the
/// header, the entries and the trailing SHA-1 to the destination.
public final class GitPackWriter {
    public static let headerSize: Int64 = 12
    /// zlib level for what we compress ourselves: Git's default (`core.compression` -1) is 6.
    public static let compressionLevel: Int32 = 6
    let temporaryURL: URL
    private let temporary: FileHandle
    private var buffer: [UInt8] = []
    private let deflater: Deflater
    /// Where the next entry starts in the final pack.
    public private(set) var nextOffset = GitPackWriter.headerSize
    public private(set) var count = 0

    public init(temporaryFolder: URL, level: Int32 = GitPackWriter.compressionLevel) throws {
        temporaryURL = temporaryFolder.appendingPathComponent(".pack-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporaryURL.path, contents: nil) else {
            throw GitFormatError("cannot create a temporary file in \(temporaryFolder.path)")
        }
        temporary = try FileHandle(forWritingTo: temporaryURL)
        deflater = try Deflater(.zlib, level: level)
    }

    deinit {
        try? temporary.close()
        try? FileManager.default.removeItem(at: temporaryURL)
    }

    /// Adds an object stored whole; returns its offset, a base for later deltas.
    @discardableResult
    public func add(_ type: GitObjectType, content: UnsafeRawBufferPointer) throws -> Int64 {
        let offset = nextOffset
        var header: [UInt8] = []
        Self.appendEntryHeader(type: type.rawValue, size: content.count, to: &header)
        try append(header)
        try compress(content)
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
        let offset = nextOffset
        precondition(baseOffset < offset, "an OFS_DELTA's base comes before it")
        var header: [UInt8] = []
        Self.appendEntryHeader(type: 6, size: delta.count, to: &header)
        Self.appendBaseDistance(offset - baseOffset, to: &header)
        try append(header)
        try delta.withUnsafeBytes { try compress($0) }
        count += 1
        return offset
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

    /// Writes `prefix` (a bundle header, or nothing), then the pack, to `destination`; returns the pack's checksum.
    public func finish(prefix: [UInt8] = [], to destination: FileHandle) throws -> GitObjectID {
        try flush()
        try temporary.synchronize()
        var hasher = Insecure.SHA1()
        var header = Array("PACK".utf8)
        for value in [UInt32(2), UInt32(count)] { header += withUnsafeBytes(of: value.bigEndian, Array.init) }
        try destination.write(contentsOf: prefix + header)
        hasher.update(data: header)
        let reader = try FileHandle(forReadingFrom: temporaryURL)
        defer { try? reader.close() }
        while let piece = try reader.read(upToCount: 1 << 20), !piece.isEmpty {
            hasher.update(data: piece)
            try destination.write(contentsOf: piece)
        }
        let checksum = Array(hasher.finalize())
        try destination.write(contentsOf: checksum)
        return GitObjectID(bytes: checksum)
    }

    private func compress(_ content: UnsafeRawBufferPointer) throws {
        try deflater.reset()
        try deflater.feed(content) { try append($0) }
        try deflater.finish { try append($0) }
    }

    private func append(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
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
        try temporary.write(contentsOf: buffer)
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
