import Foundation
import GraceModel
import Testing

/// BLAKE3 checked three ways: against published digests, against itself under every way of
/// splitting the input into updates, and against Debian's `b3sum` on random files.
struct Blake3Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let input: [UInt8]
        let blake3: String
        var testDescription: String { name }
    }

    /// Copied from shared/grace/golden-vectors.json (`blake3_known_vectors`, whose "official"
    /// entries come from BLAKE3-team/BLAKE3 test_vectors.json with input bytes `i % 251`, and
    /// `file_hash_cases`). Tests never read that file at run time: these literals are the contract.
    static let vectors: [Vector] = [
        Vector(name: "BLAKE3", input: Array("BLAKE3".utf8),
               blake3: "f890484173e516bfd935ef3d22b912dc9738de38743993cfedf2c9473b3216a4"),
        Vector(name: "alpha chunk", input: Array("alpha chunk".utf8),
               blake3: "292e1ffe8d05890ad016853e3dfee1b6f612165bc4dae763c1167d9fcef9d0e8"),
        Vector(name: "beta chunk", input: Array("beta chunk".utf8),
               blake3: "2da114e540d4af623dfe76635e77dfe7630ba425021e13e47b46dfa9fea184b3"),
        Vector(name: "official input_len 1023", input: officialInput(length: 1023),
               blake3: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"),
        Vector(name: "official input_len 1024", input: officialInput(length: 1024),
               blake3: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"),
        Vector(name: "official input_len 1025", input: officialInput(length: 1025),
               blake3: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"),
        Vector(name: "official input_len 2049", input: officialInput(length: 2049),
               blake3: "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"),
        Vector(name: "official input_len 8193", input: officialInput(length: 8193),
               blake3: "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"),
        Vector(name: "official input_len 102400", input: officialInput(length: 102_400),
               blake3: "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"),
        Vector(name: "file empty", input: bytes(hex: ""),
               blake3: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"),
        Vector(name: "file abc", input: bytes(hex: "616263"),
               blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
        Vector(name: "file binary", input: bytes(hex: "0001020304ff80400a0d"),
               blake3: "08127a2b7e4a048ef7db8e3a94a4134688b78630e2fed93d58a1aaa14c51402e"),
    ]

    /// Piece sizes around the block, chunk and caller-buffer boundaries.
    static let pieceSizes = [1, 3, 1023, 1024, 1025, 65536]

    @Test(arguments: vectors)
    func oneShotHashMatchesVector(_ vector: Vector) {
        #expect(hexString(Blake3.hash(vector.input)) == vector.blake3)
    }

    @Test(arguments: vectors, pieceSizes)
    func splitUpdatesMatchVector(_ vector: Vector, pieceSize: Int) {
        var hasher = Blake3Hasher()
        vector.input.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: pieceSize) {
                hasher.update(UnsafeRawBufferPointer(rebasing: all[start ..< min(start + pieceSize, all.count)]))
            }
        }
        #expect(hexString(hasher.finalize()) == vector.blake3)
    }

    @Test(arguments: vectors)
    func sequenceUpdatesMatchVector(_ vector: Vector) {
        // A lazy map is not contiguous, so this goes through the copying path; the slices do not.
        var copied = Blake3Hasher()
        copied.update(vector.input.lazy.map { $0 })
        #expect(hexString(copied.finalize()) == vector.blake3)

        var sliced = Blake3Hasher()
        let middle = vector.input.count / 2
        sliced.update(vector.input[..<middle])
        sliced.update(vector.input[middle...])
        #expect(hexString(sliced.finalize()) == vector.blake3)
    }

    @Test func finalizeLeavesHasherUsable() {
        let input = Self.officialInput(length: 102_400)
        let prefix = Array(input[..<50_000])
        var hasher = Blake3Hasher()
        hasher.update(prefix)
        let early = hasher.finalize()
        #expect(hasher.finalize() == early)
        #expect(early == Blake3.hash(prefix))

        let copy = hasher
        hasher.update(input[50_000...])
        #expect(hexString(hasher.finalize()) == "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085")
        #expect(copy.finalize() == early)
    }

    /// Sizes on both sides of block, chunk and 64 KiB boundaries, plus two large odd sizes
    /// that exercise deep trees.
    @Test(arguments: [0, 1, 1023, 1024, 1025, 4097, 65535, 65537, 1_000_003, 20_000_017])
    func matchesB3sumOnRandomFile(size: Int) throws {
        let b3sumPath = "/usr/bin/b3sum"
        try #require(FileManager.default.isExecutableFile(atPath: b3sumPath),
                     "b3sum is missing: apt-get install b3sum, or run scripts/test")

        var generator = SplitMix64(seed: 0xB1A4E3 &+ UInt64(size))
        let content = generator.bytes(count: size)
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("Blake3Tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("random-\(size).bin")
        try Data(content).write(to: file)

        let expected = try b3sum(b3sumPath, file: file)
        // Fed like the callers feed it: 64 KiB buffers.
        var hasher = Blake3Hasher()
        content.withUnsafeBytes { all in
            for start in stride(from: 0, to: size, by: 65536) {
                hasher.update(UnsafeRawBufferPointer(rebasing: all[start ..< min(start + 65536, size)]))
            }
        }
        #expect(hexString(hasher.finalize()) == expected)
    }

    /// The digest `b3sum` prints for `file`.
    private func b3sum(_ executable: String, file: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--no-names", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "b3sum failed on \(file.path)")
        return String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The input the official BLAKE3 test vectors use: byte `i` is `i % 251`.
    static func officialInput(length: Int) -> [UInt8] {
        (0 ..< length).map { UInt8($0 % 251) }
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0 ..< $0 + 2], as: UTF8.self), radix: 16)! }
    }
}

private func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// A small seeded generator (SplitMix64), so the random files are the same on every run.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var offset = 0
            while offset < count {
                let take = min(8, count - offset)
                withUnsafeBytes(of: next().littleEndian) { word in
                    UnsafeMutableRawPointer(buffer.baseAddress! + offset).copyMemory(from: word.baseAddress!, byteCount: take)
                }
                offset += take
            }
            initialized = count
        }
    }
}
