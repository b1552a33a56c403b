// The BLAKE3 compression function, written once and used at every width.
//
// Every operation is generic over `Blake3Lanes`: `UInt32` runs one compression (used for
// partial chunks and tree merges), `SIMDn<UInt32>` runs n independent compressions, one per
// lane. The generic code is specialized by the optimizer, so the lane types cost nothing.

/// Domain-separation flags mixed into the last state word of every compression.
enum Blake3Flags {
    static let chunkStart: UInt32 = 1 << 0
    static let chunkEnd: UInt32 = 1 << 1
    static let parent: UInt32 = 1 << 2
    static let root: UInt32 = 1 << 3
}

/// Sizes fixed by the BLAKE3 specification.
enum Blake3Layout {
    static let blockLength = 64
    static let chunkLength = 1024
    static let blocksPerChunk = 16
    static let outputLength = 32
}

/// A chaining value: eight little-endian words, the output of one compression.
typealias Blake3ChainingValue = SIMD8<UInt32>

extension SIMD8 where Scalar == UInt32 {
    /// The BLAKE3 IV (borrowed from SHA-256). A computed literal rather than a stored `static let`
    /// so hot loops constant-fold it instead of going through lazy-global initialization.
    @inline(__always)
    static var blake3IV: SIMD8<UInt32> {
        SIMD8(0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A,
              0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19)
    }
}

/// Words processed in lockstep: one lane per independent compression.
protocol Blake3Lanes {
    init(broadcasting word: UInt32)
    static func &+ (lhs: Self, rhs: Self) -> Self
    static func ^ (lhs: Self, rhs: Self) -> Self
    func rotatedRight(_ count: UInt32) -> Self
    /// The word in `lane`.
    func word(inLane lane: Int) -> UInt32
}

extension UInt32: Blake3Lanes {
    @inline(__always) init(broadcasting word: UInt32) { self = word }
    @inline(__always) func rotatedRight(_ count: UInt32) -> UInt32 { (self &>> count) | (self &<< (32 &- count)) }
    @inline(__always) func word(inLane lane: Int) -> UInt32 { self }
}

/// The sixteen message words of one block (per lane).
struct Blake3Message<W: Blake3Lanes> {
    var m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15: W

    @inline(__always)
    init(_ m0: W, _ m1: W, _ m2: W, _ m3: W, _ m4: W, _ m5: W, _ m6: W, _ m7: W,
         _ m8: W, _ m9: W, _ m10: W, _ m11: W, _ m12: W, _ m13: W, _ m14: W, _ m15: W) {
        (self.m0, self.m1, self.m2, self.m3, self.m4, self.m5, self.m6, self.m7) = (m0, m1, m2, m3, m4, m5, m6, m7)
        (self.m8, self.m9, self.m10, self.m11, self.m12, self.m13, self.m14, self.m15) =
            (m8, m9, m10, m11, m12, m13, m14, m15)
    }

    /// The fixed BLAKE3 message permutation applied between rounds. After inlining it is only
    /// a renaming of registers, which is why the rounds can use the same word order every time.
    @inline(__always)
    func permuted() -> Blake3Message {
        Blake3Message(m2, m6, m3, m10, m7, m0, m4, m13, m1, m11, m12, m5, m9, m14, m15, m8)
    }
}

/// Eight chaining-value words (per lane).
struct Blake3ChainingWords<W: Blake3Lanes> {
    var h0, h1, h2, h3, h4, h5, h6, h7: W

    @inline(__always)
    init(broadcasting cv: Blake3ChainingValue) {
        (h0, h1, h2, h3) = (W(broadcasting: cv[0]), W(broadcasting: cv[1]), W(broadcasting: cv[2]), W(broadcasting: cv[3]))
        (h4, h5, h6, h7) = (W(broadcasting: cv[4]), W(broadcasting: cv[5]), W(broadcasting: cv[6]), W(broadcasting: cv[7]))
    }

    /// The chaining value carried by `lane`.
    @inline(__always)
    func chainingValue(inLane lane: Int) -> Blake3ChainingValue {
        SIMD8(h0.word(inLane: lane), h1.word(inLane: lane), h2.word(inLane: lane), h3.word(inLane: lane),
              h4.word(inLane: lane), h5.word(inLane: lane), h6.word(inLane: lane), h7.word(inLane: lane))
    }
}

/// The 4x4 working state of one compression (per lane).
private struct Blake3State<W: Blake3Lanes> {
    var v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15: W

    @inline(__always)
    static func mix(_ a: inout W, _ b: inout W, _ c: inout W, _ d: inout W, _ x: W, _ y: W) {
        a = a &+ b &+ x
        d = (d ^ a).rotatedRight(16)
        c = c &+ d
        b = (b ^ c).rotatedRight(12)
        a = a &+ b &+ y
        d = (d ^ a).rotatedRight(8)
        c = c &+ d
        b = (b ^ c).rotatedRight(7)
    }

    @inline(__always)
    mutating func round(_ m: Blake3Message<W>) {
        // Columns, then diagonals.
        Self.mix(&v0, &v4, &v8, &v12, m.m0, m.m1)
        Self.mix(&v1, &v5, &v9, &v13, m.m2, m.m3)
        Self.mix(&v2, &v6, &v10, &v14, m.m4, m.m5)
        Self.mix(&v3, &v7, &v11, &v15, m.m6, m.m7)
        Self.mix(&v0, &v5, &v10, &v15, m.m8, m.m9)
        Self.mix(&v1, &v6, &v11, &v12, m.m10, m.m11)
        Self.mix(&v2, &v7, &v8, &v13, m.m12, m.m13)
        Self.mix(&v3, &v4, &v9, &v14, m.m14, m.m15)
    }
}

/// One BLAKE3 compression per lane, truncated to the chaining value (the only output the
/// default 32-byte hash ever needs, root included).
@inline(__always)
func blake3Compress<W: Blake3Lanes>(
    _ cv: Blake3ChainingWords<W>, _ message: Blake3Message<W>,
    counterLow: W, counterHigh: W, blockLength: W, flags: W
) -> Blake3ChainingWords<W> {
    let iv = Blake3ChainingValue.blake3IV
    var state = Blake3State(
        v0: cv.h0, v1: cv.h1, v2: cv.h2, v3: cv.h3, v4: cv.h4, v5: cv.h5, v6: cv.h6, v7: cv.h7,
        v8: W(broadcasting: iv[0]), v9: W(broadcasting: iv[1]), v10: W(broadcasting: iv[2]), v11: W(broadcasting: iv[3]),
        v12: counterLow, v13: counterHigh, v14: blockLength, v15: flags)
    var m = message
    state.round(m); m = m.permuted()
    state.round(m); m = m.permuted()
    state.round(m); m = m.permuted()
    state.round(m); m = m.permuted()
    state.round(m); m = m.permuted()
    state.round(m); m = m.permuted()
    state.round(m)
    var out = cv
    out.h0 = state.v0 ^ state.v8
    out.h1 = state.v1 ^ state.v9
    out.h2 = state.v2 ^ state.v10
    out.h3 = state.v3 ^ state.v11
    out.h4 = state.v4 ^ state.v12
    out.h5 = state.v5 ^ state.v13
    out.h6 = state.v6 ^ state.v14
    out.h7 = state.v7 ^ state.v15
    return out
}
