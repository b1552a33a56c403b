import CZlib

/// Compresses one zlib, gzip or raw deflate stream fed in pieces.
///
/// Not `Sendable`: it owns a z_stream. Use one per task.
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var finished = false
    private let level: Int32
    private let format: Inflater.Format
    /// libdeflate's compressor at the same level, made on the first whole-buffer zlib `compress`.
    private var wholeBuffer: (library: LibDeflate.Compression, compressor: OpaquePointer)?

    /// - Parameter level: zlib's 0...9; Grace stores text with .NET's `CompressionLevel.SmallestSize`, zlib's 9.
    public init(_ format: Inflater.Format, level: Int32 = 9) throws(DeflateError) {
        self.level = level
        self.format = format
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw DeflateError(status == Z_MEM_ERROR ? .outOfMemory : .corrupt, detail: "deflateInit2 returned \(status)")
        }
    }

    deinit {
        if let wholeBuffer { wholeBuffer.library.free(wholeBuffer.compressor) }
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input`, calling `output` with compressed pieces (valid only during the call).
    public func feed(_ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws -> Void) throws {
        try run(input, flush: Z_NO_FLUSH, output: output)
    }

    /// Ends the stream, writing what zlib still holds and the trailer.
    public func finish(output: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { return }
        try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, output: output)
        finished = true
    }

    private func run(_ input: UnsafeRawBufferPointer, flush: Int32, output: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = 64 * 1024
        let outputBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { outputBuffer.deallocate() }
        stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        stream.pointee.avail_in = UInt32(input.count)
        while true {
            stream.pointee.next_out = outputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(chunk)
            let status = deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw DeflateError(status == Z_MEM_ERROR ? .outOfMemory : .corrupt, detail: "deflate returned \(status)")
            }
            let produced = chunk - Int(stream.pointee.avail_out)
            if produced > 0 { try output(UnsafeRawBufferPointer(rebasing: outputBuffer[0..<produced])) }
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                return
            }
        }
    }

    /// Starts a new stream with the same settings, keeping zlib's buffers: cheaper than a new
    /// `Deflater` per object when compressing many small ones.
    public func reset() throws(DeflateError) {
        let status = deflateReset(stream)
        guard status == Z_OK else { throw DeflateError(.corrupt, detail: "deflateReset returned \(status)") }
        finished = false
    }

    /// Compresses a whole buffer held in memory.
    public static func compress(_ bytes: [UInt8], format: Inflater.Format, level: Int32 = 9) throws -> [UInt8] {
        try Deflater(format, level: level).compress(bytes)
    }

    /// Compresses a whole buffer as a stream of its own, reusing this deflater's memory: zlib sets up
    /// about 256 KiB for each new stream, more than compressing a small delta costs. A zlib stream is
    /// made by libdeflate where it is installed: the small deltas and trees of an export took a tenth
    /// of its CPU in zlib (resetting its state for each, then deflating a few hundred bytes).
    public func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0) }
    }

    /// The same, from bytes held elsewhere.
    public func compress(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        if format == .zlib, let compressed = compressWholeBuffer(bytes) { return compressed }
        try reset()
        var result: [UInt8] = []
        try feed(bytes) { result.append(contentsOf: $0) }
        try finish { result.append(contentsOf: $0) }
        return result
    }

    /// libdeflate's zlib stream of `bytes`, or nil without libdeflate.
    private func compressWholeBuffer(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        if wholeBuffer == nil, let library = LibDeflate.shared?.compression, let compressor = library.allocate(level) {
            wholeBuffer = (library, compressor)
        }
        guard let (library, compressor) = wholeBuffer else { return nil }
        let bound = library.zlibBound(compressor, bytes.count)
        let compressed = [UInt8](unsafeUninitializedCapacity: bound) { output, count in
            count = library.zlibCompress(compressor, bytes.baseAddress, bytes.count, output.baseAddress, bound)
        }
        // 0 means the bound was not enough, which libdeflate promises never happens; zlib then does it.
        return compressed.isEmpty ? nil : compressed
    }
}
