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
        #expect(throws: DeflateError.self) { try Inflater.decompress(compressed, format: .gzip) }
        #expect(throws: DeflateError.self) { try Inflater.decompress([1, 2, 3, 4, 5], format: .gzip) }
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
        }
    }
}
