import Deflate
import GraceGit
import GraceModel
import GraceStorage

/// A content too large to hold in memory whole (`BundleExporter.streamedContentBytes` or more), written
/// into the pack as it is read from object storage, piece by piece, each piece checked and hashed as it
/// passes, as git streams a blob over its `core.bigFileThreshold`. Encoded as a content held whole
/// would be (text as Grace's deflate data re-wrapped, a binary that does not compress in stored
/// blocks, anything else deflated), but never a delta nor a delta's base: those need both contents
/// whole.
enum StreamedContent {
    /// A binary's encoding is chosen from this many bytes at its start (`StoredZlib.looksIncompressible`).
    static let sampleBytes = 16 * 1024

    /// Starts a whole blob entry in `pack` and streams `file`'s content into it; returns where the entry
    /// starts, the blob's id and,
    /// for the export state's cache, the Adler-32 of a content written as Grace's deflate data or in
    /// stored blocks. The entry is left open: the caller ends it, or discards it when the pack or the
    /// receiver has the object already. A content that does not decode, or whose size or BLAKE3 is
    /// not the file version's, throws, its entry discarded.
    static func write(_ file: FileVersion, key: ObjectKey, objects: any ObjectStore, into pack: GitPackWriter,
                      progress: ProgressSink?) async throws -> (offset: Int64, id: GitObjectID, adler: UInt32?) {
        func doesNotMatch(_ detail: String) -> BundleExportFailure {
            .objectDoesNotMatch(key: key.rawValue, path: file.relativePath, detail: detail)
        }
        let offset = try pack.startEntry(.blob, size: Int(file.size))
        var ended = false
        defer { if !ended { pack.discardEntry() } }
        var encoder = try Encoder(file: file, pack: pack)
        var storedBytes: Int64 = 0
        do {
            for try await piece in try await objects.get(key) {
                storedBytes += Int64(piece.readableBytes)
                let plainBefore = encoder.plainBytes
                let used = try piece.withUnsafeReadableBytes { try encoder.feed(stored: $0) }
                if used < piece.readableBytes { throw doesNotMatch("does not decode: bytes after the gzip stream's end, at byte \(storedBytes - Int64(piece.readableBytes - used))") }
                progress?.yield(.advanced(items: 0, bytes: encoder.plainBytes - plainBefore))
            }
        } catch let failure as StorageFailure where failure.reason == .notFound {
            throw BundleExportFailure.missingObject(key: key.rawValue, path: file.relativePath, location: objects.location)
        } catch let error as DeflateError {
            throw doesNotMatch("does not decode: \(error)")
        } catch let error as Encoder.TooLong {
            throw doesNotMatch("is more than the \(error.size) bytes the file version says")
        }
        let adler: UInt32?
        do {
            adler = try encoder.finish()
        } catch let error as DeflateError {
            throw doesNotMatch("does not decode: \(error)")
        }
        guard encoder.plainBytes == file.size else { throw doesNotMatch("is \(encoder.plainBytes) bytes; the file version says \(file.size)") }
        let blake3 = Hex.encode(encoder.blake3.finalize())
        guard blake3 == file.blake3Hash else { throw doesNotMatch("hashes to BLAKE3 \(blake3); the file version says \(file.blake3Hash)") }
        ended = true
        return (offset, encoder.blob.finalize(), adler)
    }

    /// Hashes a content's plain bytes and writes its zlib stream into the pack's open entry.
    private struct Encoder {
        struct TooLong: Error { let size: Int64 }

        private enum Encoding {
            /// A binary's first bytes, gathered until its encoding is chosen.
            case undecided(sample: [UInt8])
            case stored(StoredZlib.Stream)
            case deflated(Deflater)
            /// Grace's deflate data, passed on as it is read.
            case rewrapped(GzipToZlib.Stream)
        }

        let size: Int64
        let pack: GitPackWriter
        /// Undoes a text's gzip.
        let inflater: Inflater?
        private var encoding: Encoding
        var blob: GitObjectHasher
        var blake3 = Blake3Hasher()
        /// Of a content re-wrapped (stored blocks keep their own).
        var adler = Adler32.initial
        var plainBytes: Int64 = 0

        init(file: FileVersion, pack: GitPackWriter) throws {
            size = file.size
            self.pack = pack
            inflater = file.isBinary ? nil : try Inflater(.gzip)
            encoding = file.isBinary ? .undecided(sample: []) : .rewrapped(GzipToZlib.Stream())
            blob = GitObjectHasher(.blob, size: file.size)
        }

        /// Takes a piece of the stored bytes; returns how many belong to the content (fewer only
        /// when a text's gzip member ended inside the piece).
        mutating func feed(stored piece: UnsafeRawBufferPointer) throws -> Int {
            guard let inflater else {
                try plain(piece)
                return piece.count
            }
            if case var .rewrapped(stream) = encoding {
                let pack = self.pack
                // A header we cannot parse is known before anything of it is passed on: deflated instead.
                encoding = try stream.feed(piece) { try pack.appendToEntry($0) } ? .rewrapped(stream) : .deflated(try Self.deflater())
            }
            return try inflater.feed(piece) { try plain($0) }
        }

        /// Ends the zlib stream; returns the Adler-32 of a content re-wrapped or in stored blocks.
        mutating func finish() throws -> UInt32? {
            try inflater?.finish()
            if case let .undecided(sample) = encoding {
                encoding = try Self.chosen(for: sample, size: size)
                try sample.withUnsafeBytes { try encode($0) }
            }
            let pack = self.pack
            switch encoding {
            case .undecided: preconditionFailure("chosen above")
            case var .stored(stream):
                return try stream.finish { try pack.appendToEntry($0) }  // nil when short: the caller's size check says so
            case let .deflated(deflater):
                try deflater.finish { try pack.appendToEntry($0) }
                return nil
            case var .rewrapped(stream):
                _ = try stream.finish(adler32: adler) { try pack.appendToEntry($0) }
                return adler
            }
        }

        private mutating func plain(_ bytes: UnsafeRawBufferPointer) throws {
            plainBytes += Int64(bytes.count)
            guard plainBytes <= size else { throw TooLong(size: size) }
            blob.update(bytes)
            blake3.update(bytes)
            if case var .undecided(sample) = encoding {
                sample.append(contentsOf: bytes)
                guard sample.count >= StreamedContent.sampleBytes else {
                    encoding = .undecided(sample: sample)
                    return
                }
                encoding = try Self.chosen(for: sample, size: size)
                try sample.withUnsafeBytes { try encode($0) }
                return
            }
            try encode(bytes)
        }

        /// Writes plain bytes in the chosen encoding (their hashes are taken).
        private mutating func encode(_ bytes: UnsafeRawBufferPointer) throws {
            let pack = self.pack
            switch encoding {
            case .undecided: preconditionFailure("an encoding is chosen first")
            case var .stored(stream):
                guard try stream.feed(bytes, output: { try pack.appendToEntry($0) }) else { throw TooLong(size: size) }
                encoding = .stored(stream)
            case let .deflated(deflater):
                try deflater.feed(bytes) { try pack.appendToEntry($0) }
            case .rewrapped:
                adler = Adler32.update(adler, with: bytes)  // the stored bytes went out as they came
            }
        }

        private static func chosen(for sample: [UInt8], size: Int64) throws -> Encoding {
            sample.withUnsafeBytes(StoredZlib.looksIncompressible) ? .stored(StoredZlib.Stream(size: size)) : .deflated(try deflater())
        }

        private static func deflater() throws -> Deflater { try Deflater(.zlib, level: GitPackWriter.compressionLevel) }
    }
}
