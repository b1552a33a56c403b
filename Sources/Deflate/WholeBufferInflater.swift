import CLibDeflate

/// Decompresses a whole gzip member held in memory whose uncompressed size is known, with
/// libdeflate. About twice as fast as zlib's streaming inflate, so `check` uses it for Grace's
/// text objects, whose `Size` the file version records.
///
/// Not `Sendable`: it owns a libdeflate decompressor. Use one per task.
public final class WholeBufferInflater {
    private let decompressor: OpaquePointer

    public init() throws(DeflateError) {
        guard let decompressor = libdeflate_alloc_decompressor() else { throw DeflateError(.outOfMemory) }
        self.decompressor = decompressor
    }

    deinit { libdeflate_free_decompressor(decompressor) }

    public enum Outcome {
        /// The member decompressed to exactly the expected size; the bytes are in the output buffer.
        case decompressed
        /// The data is corrupt, truncated, or not the expected size: read it again with `Inflater`
        /// to learn which, and how long it really is.
        case needsStreamingRead
    }

    /// Decompresses `input` (one gzip member, nothing after it) into `output`, which must hold
    /// exactly the expected uncompressed size.
    public func decompressGzip(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Outcome {
        var consumed = 0
        var produced = 0
        let result = libdeflate_gzip_decompress_ex(decompressor, input.baseAddress, input.count,
                                                   output.baseAddress, output.count, &consumed, &produced)
        guard result == LIBDEFLATE_SUCCESS, consumed == input.count, produced == output.count else { return .needsStreamingRead }
        return .decompressed
    }
}
