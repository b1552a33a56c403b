import CZlib

/// Decompresses one zlib, gzip or raw deflate stream fed in pieces, and says exactly where it
/// ends: `isFinished` turns true on the stream's last byte and `feed` reports how much input it
/// consumed, so a caller reading concatenated streams (a git pack) knows where the next begins.
///
/// Not `Sendable`: it owns a z_stream. Use one per task.
public final class Inflater {
    public enum Format: Sendable {
        case zlib, gzip, raw
        var windowBits: Int32 {
            switch self {
            case .zlib: 15
            case .gzip: 15 + 16
            case .raw: -15
            }
        }
    }

    private let stream: UnsafeMutablePointer<z_stream>
    public private(set) var isFinished = false
    public private(set) var totalOut: Int64 = 0

    public init(_ format: Format) throws(DeflateError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw DeflateError(status == Z_MEM_ERROR ? .outOfMemory : .corrupt, detail: "inflateInit2 returned \(status)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Starts a new stream of the same format, keeping zlib's buffers.
    public func reset() throws(DeflateError) {
        let status = inflateReset(stream)
        guard status == Z_OK else { throw DeflateError(.corrupt, detail: "inflateReset returned \(status)") }
        isFinished = false
        totalOut = 0
    }

    /// Decompresses as much of `input` as belongs to this stream, calling `output` with each
    /// decompressed piece (valid only during the call). Returns the number of input bytes used:
    /// less than `input.count` only when the stream ended inside it.
    @discardableResult
    public func feed(_ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard !isFinished, input.count > 0 else { return 0 }
        let chunk = 64 * 1024
        let outputBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { outputBuffer.deallocate() }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        repeat {
            stream.pointee.next_out = outputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(chunk)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = chunk - Int(stream.pointee.avail_out)
            if produced > 0 {
                totalOut += Int64(produced)
                try output(UnsafeRawBufferPointer(rebasing: outputBuffer[0..<produced]))
            }
            switch status {
            case Z_STREAM_END:
                isFinished = true
            case Z_OK:
                break
            case Z_BUF_ERROR:
                // No progress possible: the input is used up and more is needed.
                break
            case Z_MEM_ERROR:
                throw DeflateError(.outOfMemory)
            default:
                throw DeflateError(.corrupt, detail: message(status))
            }
            if status == Z_BUF_ERROR { break }
        } while !isFinished && (stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0)
        return input.count - Int(stream.pointee.avail_in)
    }

    /// Call when the input has ended: throws `.truncated` unless the stream finished.
    public func finish() throws(DeflateError) {
        guard isFinished else { throw DeflateError(.truncated) }
    }

    private func message(_ status: Int32) -> String {
        if let text = stream.pointee.msg { return String(cString: text) }
        return "zlib status \(status)"
    }
}

extension Inflater {
    /// Decompresses a whole stream held in memory; refuses trailing bytes.
    public static func decompress(_ compressed: [UInt8], format: Format) throws -> [UInt8] {
        let inflater = try Inflater(format)
        var result: [UInt8] = []
        let used = try compressed.withUnsafeBytes { input in
            try inflater.feed(input) { result.append(contentsOf: $0) }
        }
        try inflater.finish()
        guard used == compressed.count else { throw DeflateError(.trailingBytes) }
        return result
    }
}
