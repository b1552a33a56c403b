import Deflate
import Foundation
import Testing

struct DeflateTests {
    let text = Array(String(repeating: "let value = directoryVersion.sha256\n", count: 5000).utf8)

    @Test func gzipRoundTripsAndGunzipReadsIt() throws {
        let compressed = try Deflater.compress(text, format: .gzip)
        #expect(compressed.count < text.count / 10)
        #expect(try Inflater.decompress(compressed, format: .gzip) == text)
        // gzip(1) from the system reads what we write: the format is real gzip, not just zlib's view of it.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deflate-\(UUID()).gz")
        try Data(compressed).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(Array(data) == text)
    }

    @Test func truncatedStreamIsReportedAsTruncated() throws {
        let compressed = try Deflater.compress(text, format: .gzip)
        #expect(throws: DeflateError(.truncated)) { try Inflater.decompress(Array(compressed.dropLast(9)), format: .gzip) }
    }

    @Test func corruptStreamIsReported() throws {
        var compressed = try Deflater.compress(text, format: .gzip)
        compressed[compressed.count - 6] ^= 0xff  // inside the CRC-32 trailer
        // The same reason for both, whatever zlib's own words: a bad checksum is not a cut.
        for damaged in [compressed, [1, 2, 3, 4, 5]] {
            do {
                _ = try Inflater.decompress(damaged, format: .gzip)
                Issue.record("a corrupt stream must be refused")
            } catch {
                #expect((error as? DeflateError)?.reason == .corrupt, "\(error)")
            }
        }
    }

    /// A whole buffer compressed to a zlib stream (by libdeflate where it is installed) is read back
    /// by zlib, one deflater reused for many, the empty buffer included.
    @Test func wholeBuffersCompressToZlibStreamsZlibReads() throws {
        let deflater = try Deflater(.zlib, level: 6)
        for input in [text, [], Array("x".utf8), Array(text.prefix(777)), text] {
            let stream = try deflater.compress(input)
            #expect(try Inflater.decompress(stream, format: .zlib) == input)
        }
        #expect(try deflater.compress(text).count < text.count / 10)
    }

    @Test func saysWhereAStreamEndsInsideConcatenatedInput() throws {
        let first = try Deflater.compress(Array("first".utf8), format: .zlib)
        let second = try Deflater.compress(Array("second".utf8), format: .zlib)
        let inflater = try Inflater(.zlib)
        var output: [UInt8] = []
        let used = try (first + second).withUnsafeBytes { try inflater.feed($0) { output += $0 } }
        #expect(used == first.count)
        #expect(inflater.isFinished)
        #expect(output == Array("first".utf8))
    }

    @Test func wholeBufferInflaterAgreesWithZlibAndDefersAnythingUnexpected() throws {
        let compressed = try Deflater.compress(text, format: .gzip)
        let inflater = try WholeBufferInflater()
        func decompress(_ input: [UInt8], expected: Int) -> ([UInt8], WholeBufferInflater.Outcome) {
            var output = [UInt8](repeating: 0, count: expected)
            let outcome = input.withUnsafeBytes { source in output.withUnsafeMutableBytes { inflater.decompressGzip(source, into: $0) } }
            return (output, outcome)
        }
        let (plain, outcome) = decompress(compressed, expected: text.count)
        #expect(plain == text)
        guard case .decompressed = outcome else { Issue.record("expected .decompressed"); return }
        for (input, expected) in [(compressed, text.count - 1), (compressed, text.count + 1), (Array(compressed.dropLast(4)), text.count),
                                  (compressed + [0], text.count)] {
            guard case .needsStreamingRead = decompress(input, expected: expected).1 else {
                Issue.record("a wrong size, a truncation or trailing bytes must be left to the streaming reader")
                continue
            }
            #expect(input.withUnsafeBytes { inflater.decompressGzip($0, size: expected) } == nil)
        }
        #expect(compressed.withUnsafeBytes { inflater.decompressGzip($0, size: text.count) } == text)
    }

    @Test func storedBlocksAreAZlibStreamOfTheSameBytes() throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 65_535, 65_536, 200_001] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let stream = bytes.withUnsafeBytes { StoredZlib.stream($0, adler32: Adler32.checksum($0)) }
            #expect(stream.count == 2 + max(1, (size + 65_534) / 65_535) * 5 + size + 4)
            #expect(try Inflater.decompress(stream, format: .zlib) == bytes, "size \(size)")
        }
    }

    /// Cuts `bytes` into pieces of random sizes, single bytes among them.
    static func pieces(_ bytes: [UInt8], using generator: inout some RandomNumberGenerator) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let length = Bool.random(using: &generator) ? 1 : Int.random(in: 1...70_000, using: &generator)
            pieces.append(Array(bytes[start..<min(bytes.count, start + length)]))
            start += length
        }
        return pieces
    }

    /// A content read in pieces becomes the same zlib stream as the whole buffer would: a gzip member
    /// re-wrapped (its header with a file name, cut anywhere), and stored blocks.
    @Test func piecesMakeTheSameStreamsAsTheWholeBuffer() throws {
        var generator = SystemRandomNumberGenerator()
        let plain = text + (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var gzip = try Deflater.compress(plain, format: .gzip)
        gzip[3] |= 0x08  // FNAME: a zero-terminated name after the 10 fixed bytes
        gzip.insert(contentsOf: Array("grace-file.txt".utf8) + [0], at: 10)
        let whole = try #require(gzip.withUnsafeBytes { GzipToZlib.convert(gzip: $0, adler32: plain.withUnsafeBytes(Adler32.checksum)) })
        for _ in 0..<20 {
            var stream = GzipToZlib.Stream()
            var output: [UInt8] = [], adler = Adler32.initial
            for piece in Self.pieces(gzip, using: &generator) {
                #expect(piece.withUnsafeBytes { stream.feed($0) { output += $0 } })
            }
            for piece in Self.pieces(plain, using: &generator) { adler = piece.withUnsafeBytes { Adler32.update(adler, with: $0) } }
            #expect(stream.finish(adler32: adler) { output += $0 } == UInt32(plain.count))
            #expect(output == whole)
        }
        #expect(try Inflater.decompress(whole, format: .zlib) == plain)
        var notGzip = GzipToZlib.Stream(), passed = 0
        #expect(!Array("not a gzip member at all".utf8).withUnsafeBytes { notGzip.feed($0) { passed += $0.count } } && passed == 0)

        let random = Array(plain.suffix(200_001))
        let stored = random.withUnsafeBytes { StoredZlib.stream($0, adler32: Adler32.checksum($0)) }
        var storedStream = StoredZlib.Stream(size: Int64(random.count)), output: [UInt8] = []
        for piece in Self.pieces(random, using: &generator) { #expect(piece.withUnsafeBytes { storedStream.feed($0) { output += $0 } }) }
        #expect(storedStream.finish { output += $0 } == random.withUnsafeBytes(Adler32.checksum))
        #expect(output == stored)
        // More or fewer bytes than the size given: refused, not a stream of the wrong length.
        var tooMany = StoredZlib.Stream(size: 10), tooFew = StoredZlib.Stream(size: 10)
        #expect(!random.prefix(11).withUnsafeBytes { tooMany.feed($0) { _ in } })
        #expect(random.prefix(9).withUnsafeBytes { tooFew.feed($0) { _ in } } && tooFew.finish { _ in } == nil)
    }

    @Test func adler32IsZlibsChecksum() {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 5_551, 5_552, 5_553, 1_000_000] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // The definition (RFC 1950), byte by byte.
            var a: UInt32 = 1, b: UInt32 = 0
            for byte in bytes {
                a = (a + UInt32(byte)) % 65_521
                b = (b + a) % 65_521
            }
            #expect(bytes.withUnsafeBytes { Adler32.checksum($0) } == b << 16 | a, "size \(size)")
        }
    }

    @Test func incompressibleMeansRandomLookingNotText() {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(random.withUnsafeBytes { StoredZlib.looksIncompressible($0) })
        #expect(!text.withUnsafeBytes { StoredZlib.looksIncompressible($0) })
        // Half the byte values, evenly: seven bits per byte, which Huffman coding alone shrinks by an eighth.
        let halfAlphabet = (0..<100_000).map { _ in UInt8.random(in: 0...127, using: &generator) }
        #expect(!halfAlphabet.withUnsafeBytes { StoredZlib.looksIncompressible($0) })
        // Too short to judge: deflated as before.
        #expect(!Array(random.prefix(4000)).withUnsafeBytes { StoredZlib.looksIncompressible($0) })
    }
}
