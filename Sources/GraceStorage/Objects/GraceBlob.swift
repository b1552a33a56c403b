import Deflate
import Foundation
import GraceModel
import NIOCore

/// How Grace stores a file version's bytes: text gzip-compressed (`Content-Encoding: gzip`,
/// .NET `CompressionLevel.SmallestSize`), binaries raw. Hashes are always over the
/// uncompressed bytes.
public enum GraceBlob {
    /// The stored form of a file's bytes.
    public static func encode(_ bytes: [UInt8], isBinary: Bool) throws -> [UInt8] {
        isBinary ? bytes : try Deflater.compress(bytes, format: .gzip, level: textCompressionLevel)
    }

    /// zlib's level for .NET's `CompressionLevel.SmallestSize`.
    public static let textCompressionLevel: Int32 = 9

    /// What reading an object back gave.
    public struct Contents: Sendable, Hashable {
        public var hashes: FileHashes
        /// Uncompressed length.
        public var sizeBytes: Int64
        public var storedBytes: Int64
        public var sawNulInFirst8KiB: Bool
    }

    /// Streams the object at `key`, undoes Grace's encoding, and hashes the bytes with both
    /// algorithms, in constant memory.
    /// Throws `DeflateError` when a text object's gzip stream is corrupt or truncated, and the
    /// store's `.notFound` failure when the object is missing.
    public static func read(
        _ key: ObjectKey, isBinary: Bool, from store: some ObjectStore
    ) async throws -> Contents {
        var hasher = FileHasher()
        var stored: Int64 = 0
        let inflater = isBinary ? nil : try Inflater(.gzip)
        for try await piece in try await store.get(key) {
            stored += Int64(piece.readableBytes)
            try piece.withUnsafeReadableBytes { bytes in
                if let inflater {
                    let used = try inflater.feed(bytes) { hasher.update($0) }
                    if used < bytes.count { throw DeflateError(.trailingBytes, detail: "after byte \(stored - Int64(bytes.count - used))") }
                } else {
                    hasher.update(bytes)
                }
            }
        }
        try inflater?.finish()
        return Contents(hashes: hasher.finalize(), sizeBytes: hasher.byteCount, storedBytes: stored, sawNulInFirst8KiB: hasher.sawNulInFirst8KiB)
    }

    /// Text objects up to this uncompressed size are decompressed whole, in memory.
    public static let wholeBufferLimitBytes: Int64 = 16 * 1024 * 1024

    /// Like `read`, for verification: the same result, faster for the common case. A text
    /// object whose file version says it is at most `wholeBufferLimitBytes` long is read whole and
    /// decompressed with libdeflate; anything unexpected (wrong size, corrupt, truncated) is read
    /// again by `read`, which says exactly what is wrong. Memory stays under twice the limit.
    public static func readForVerification(_ key: ObjectKey, isBinary: Bool, expectedSizeBytes: Int64, from store: some ObjectStore) async throws -> Contents {
        guard !isBinary, expectedSizeBytes <= wholeBufferLimitBytes else { return try await read(key, isBinary: isBinary, from: store) }
        var compressed: [UInt8] = []
        for try await piece in try await store.get(key) {
            compressed += piece.readableBytesView
            if compressed.count > wholeBufferLimitBytes { return try await read(key, isBinary: isBinary, from: store) }
        }
        // Without libdeflate (not installed), the streaming reader does the same job more slowly.
        guard let inflater = try? WholeBufferInflater() else { return try await read(key, isBinary: isBinary, from: store) }
        guard let plain = compressed.withUnsafeBytes({ inflater.decompressGzip($0, size: Int(expectedSizeBytes)) }) else {
            return try await read(key, isBinary: isBinary, from: store)
        }
        var hasher = FileHasher()
        hasher.update(plain)
        return Contents(hashes: hasher.finalize(), sizeBytes: hasher.byteCount, storedBytes: Int64(compressed.count),
                        sawNulInFirst8KiB: hasher.sawNulInFirst8KiB)
    }

    /// The file's bytes, with Grace's encoding undone: libdeflate when the expected size is right,
    /// zlib streaming otherwise. Does not hash them: the caller checks what it needs.
    public static func plainBytes(storedBytes: [UInt8], isBinary: Bool, expectedSizeBytes: Int64) throws -> [UInt8] {
        if isBinary { return storedBytes }
        if expectedSizeBytes <= wholeBufferLimitBytes, let inflater = try? WholeBufferInflater(),
           let plain = storedBytes.withUnsafeBytes({ inflater.decompressGzip($0, size: Int(expectedSizeBytes)) }) {
            return plain
        }
        var plain: [UInt8] = []
        let inflater = try Inflater(.gzip)
        let used = try storedBytes.withUnsafeBytes { input in try inflater.feed(input) { plain.append(contentsOf: $0) } }
        try inflater.finish()
        if used < storedBytes.count { throw DeflateError(.trailingBytes, detail: "after byte \(used)") }
        return plain
    }

    /// Undoes Grace's encoding of stored bytes already in memory and hashes them: libdeflate
    /// when the expected size is right, zlib streaming otherwise (which says what is wrong).
    /// Throws `DeflateError` for a gzip stream that does not decode.
    public static func decode(storedBytes: [UInt8], isBinary: Bool, expectedSizeBytes: Int64) throws -> Contents {
        try storedBytes.withUnsafeBytes { try decode(storedBytes: $0, isBinary: isBinary, expectedSizeBytes: expectedSizeBytes) }
    }

    /// The same, for a slice of a larger buffer (a pack), without copying it.
    public static func decode(storedBytes: UnsafeRawBufferPointer, isBinary: Bool, expectedSizeBytes: Int64) throws -> Contents {
        var hasher = FileHasher()
        if isBinary {
            hasher.update(storedBytes)
        } else if expectedSizeBytes <= wholeBufferLimitBytes, let inflater = try? WholeBufferInflater(),
                  let plain = inflater.decompressGzip(storedBytes, size: Int(expectedSizeBytes)) {
            hasher.update(plain)
        } else {
            let inflater = try Inflater(.gzip)
            let used = try inflater.feed(storedBytes) { hasher.update($0) }
            try inflater.finish()
            if used < storedBytes.count { throw DeflateError(.trailingBytes, detail: "after byte \(used)") }
        }
        return Contents(hashes: hasher.finalize(), sizeBytes: hasher.byteCount, storedBytes: Int64(storedBytes.count),
                        sawNulInFirst8KiB: hasher.sawNulInFirst8KiB)
    }
}
