#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decompresses a whole gzip member held in memory whose uncompressed size is known, with
/// libdeflate: about twice as fast as zlib's streaming inflate, so `check` and `verify` use it for
/// Grace's text objects, whose `Size` the file version records.
///
/// libdeflate is loaded at run time (Debian's `libdeflate0`, present on a stock machine), not
/// linked, so building needs no `-dev` package; where it is missing `init` throws and callers
/// use `Inflater` instead. Not `Sendable`: it owns a libdeflate decompressor. Use one per task.
public final class WholeBufferInflater {
    private let library: LibDeflate
    private let decompressor: OpaquePointer

    public init() throws(DeflateError) {
        guard let library = LibDeflate.shared else { throw DeflateError(.unavailable, detail: "libdeflate.so.0 is not installed") }
        guard let decompressor = library.allocate() else { throw DeflateError(.outOfMemory) }
        self.library = library
        self.decompressor = decompressor
    }

    deinit { library.free(decompressor) }

    public enum Outcome {
        /// The member decompressed to exactly the expected size; the bytes are in the output buffer.
        case decompressed
        /// The data is corrupt, truncated, or not the expected size: read it again with `Inflater`
        /// to learn which, and how long it really is.
        case needsStreamingRead
    }

    /// The bytes of `input` (one gzip member, nothing after it), or nil when they are not exactly
    /// `size` bytes or do not decompress (read it again with `Inflater` to learn which). The result
    /// is not zeroed before it is filled: that cost a pass over every content.
    public func decompressGzip(_ input: UnsafeRawBufferPointer, size: Int) -> [UInt8]? {
        var outcome = Outcome.needsStreamingRead
        let plain = [UInt8](unsafeUninitializedCapacity: size) { output, count in
            outcome = decompressGzip(input, into: UnsafeMutableRawBufferPointer(output))
            count = if case .decompressed = outcome { size } else { 0 }
        }
        guard case .decompressed = outcome else { return nil }
        return plain
    }

    /// Decompresses `input` (one gzip member, nothing after it) into `output`, which must hold
    /// exactly the expected uncompressed size.
    public func decompressGzip(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Outcome {
        var consumed = 0
        var produced = 0
        let result = library.gzipDecompress(decompressor, input.baseAddress, input.count, output.baseAddress, output.count, &consumed, &produced)
        guard result == 0, consumed == input.count, produced == output.count else { return .needsStreamingRead }
        return .decompressed
    }
}

/// The libdeflate functions we call, looked up once in `libdeflate.so.0`.
struct LibDeflate: @unchecked Sendable {  // immutable function pointers into a library never unloaded
    typealias Allocate = @convention(c) () -> OpaquePointer?
    typealias Free = @convention(c) (OpaquePointer?) -> Void
    typealias GzipDecompress = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int,
                                                UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) -> Int32

    typealias Adler32 = @convention(c) (UInt32, UnsafeRawPointer?, Int) -> UInt32
    typealias AllocateCompressor = @convention(c) (Int32) -> OpaquePointer?
    typealias Compress = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int) -> Int
    typealias CompressBound = @convention(c) (OpaquePointer?, Int) -> Int

    /// The compressor's functions: the zlib format, a whole buffer at a time.
    struct Compression {
        let allocate: AllocateCompressor
        let free: Free
        let zlibCompress: Compress
        let zlibBound: CompressBound
    }

    let allocate: Allocate
    let free: Free
    let gzipDecompress: GzipDecompress
    /// Vectorised: several times zlib's speed.
    let adler32: Adler32?
    let compression: Compression?

    static let shared: LibDeflate? = {
        guard let handle = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL),
              let allocate = dlsym(handle, "libdeflate_alloc_decompressor"),
              let free = dlsym(handle, "libdeflate_free_decompressor"),
              let decompress = dlsym(handle, "libdeflate_gzip_decompress_ex")
        else { return nil }
        return LibDeflate(allocate: unsafeBitCast(allocate, to: Allocate.self), free: unsafeBitCast(free, to: Free.self),
                          gzipDecompress: unsafeBitCast(decompress, to: GzipDecompress.self),
                          adler32: dlsym(handle, "libdeflate_adler32").map { unsafeBitCast($0, to: Adler32.self) },
                          compression: compression(in: handle))
    }()

    private static func compression(in handle: UnsafeMutableRawPointer) -> Compression? {
        guard let allocate = dlsym(handle, "libdeflate_alloc_compressor"), let free = dlsym(handle, "libdeflate_free_compressor"),
              let compress = dlsym(handle, "libdeflate_zlib_compress"), let bound = dlsym(handle, "libdeflate_zlib_compress_bound")
        else { return nil }
        return Compression(allocate: unsafeBitCast(allocate, to: AllocateCompressor.self), free: unsafeBitCast(free, to: Free.self),
                           zlibCompress: unsafeBitCast(compress, to: Compress.self), zlibBound: unsafeBitCast(bound, to: CompressBound.self))
    }
}
