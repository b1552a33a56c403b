// Many independent BLAKE3 compressions at once, one per SIMD lane.
//
// Whole chunks are independent until the tree merges them, so `n` chunks (or `n` parent
// nodes) are hashed in lockstep with `SIMDn<UInt32>` words. The input arrives chunk-major
// (each lane's block is 64 contiguous bytes), so every block is transposed in registers into
// word-major vectors before compressing.

/// A SIMD vector of words usable as BLAKE3 lanes.
protocol Blake3VectorLanes: Blake3Lanes, SIMD where Scalar == UInt32 {
    /// Splits the concatenation `a ++ b` into its even-indexed and odd-indexed elements.
    /// Repeating this across pairs of rows is how the blocks get transposed.
    static func unzip(_ a: Self, _ b: Self) -> (even: Self, odd: Self)
}

/// The lane width used for bulk hashing. Eight lanes measured fastest on every x86-64
/// level tried (SSE2 baseline, AVX2, AVX-512): sixteen spills registers, four leaves
/// throughput unused. All three widths are correct.
typealias Blake3BulkLanes = SIMD8<UInt32>

extension Blake3VectorLanes {
    @inline(__always) init(broadcasting word: UInt32) { self.init(repeating: word) }

    @inline(__always) func rotatedRight(_ count: UInt32) -> Self {
        // `&+` rather than `|` (equal here: the halves share no bits). The standard library
        // implements `|` element by element, and on some targets (plain x86-64 among them) the
        // optimizer then turns each element into a scalar rotate, 6x slower; `&+` is a real
        // vector add, so the whole expression stays vectorized.
        (self &>> Self(repeating: count)) &+ (self &<< Self(repeating: 32 &- count))
    }

    @inline(__always) func word(inLane lane: Int) -> UInt32 { self[lane] }

    /// Low and high halves of the per-lane block counters `start + lane * step`.
    @inline(__always)
    static func counters(start: UInt64, step: UInt64) -> (low: Self, high: Self) {
        var low = Self(), high = Self()
        for lane in 0 ..< scalarCount {
            let counter = start &+ UInt64(lane) &* step
            low[lane] = UInt32(truncatingIfNeeded: counter)
            high[lane] = UInt32(truncatingIfNeeded: counter >> 32)
        }
        return (low, high)
    }

    /// Loads one 64-byte block per lane; lane `i` reads `base + i * laneStride`. Lanes at or
    /// beyond `usedLanes` re-read lane 0, so they never touch memory out of bounds.
    @inline(__always)
    static func loadBlocks(_ base: UnsafeRawPointer, laneStride: Int, usedLanes: Int) -> Blake3Message<Self> {
        // Row `r` holds words `r / lanes * lanes ..< +lanes` of lane `r % lanes`: the 16 words
        // of every lane's block, as `16 / lanes` square tiles of lanes x lanes words.
        @inline(__always) func row(_ r: Int) -> Self {
            let lane = r % scalarCount, firstWord = r / scalarCount * scalarCount
            let start = base + (lane < usedLanes ? lane : 0) &* laneStride
            return start.loadUnaligned(fromByteOffset: firstWord &* 4, as: Self.self)
        }
        var rows = Blake3Message(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7),
                                 row(8), row(9), row(10), row(11), row(12), row(13), row(14), row(15))
        // log2(lanes) unzip passes transpose every tile, so row `k` ends up holding word `k`
        // of every lane (see `unzip`). Pair distances below `lanes` stay inside one tile.
        rows.unzipPairs(distance: 1)
        rows.unzipPairs(distance: 2)
        if scalarCount > 4 { rows.unzipPairs(distance: 4) }
        if scalarCount > 8 { rows.unzipPairs(distance: 8) }
        return rows
    }
}

extension Blake3Message where W: Blake3VectorLanes {
    /// Replaces each pair of rows `(i, i + distance)` (with bit `distance` clear in `i`) by
    /// the even and odd elements of their concatenation.
    ///
    /// Each pass moves one bit of the row index into the top of the element index and the
    /// bottom element-index bit into the row index; after log2(lanes) passes the two indices
    /// have traded places, i.e. the tile is transposed.
    @inline(__always)
    mutating func unzipPairs(distance: Int) {
        @inline(__always) func unzip(_ a: inout W, _ b: inout W) { (a, b) = W.unzip(a, b) }
        switch distance {
        case 1:
            unzip(&m0, &m1); unzip(&m2, &m3); unzip(&m4, &m5); unzip(&m6, &m7)
            unzip(&m8, &m9); unzip(&m10, &m11); unzip(&m12, &m13); unzip(&m14, &m15)
        case 2:
            unzip(&m0, &m2); unzip(&m1, &m3); unzip(&m4, &m6); unzip(&m5, &m7)
            unzip(&m8, &m10); unzip(&m9, &m11); unzip(&m12, &m14); unzip(&m13, &m15)
        case 4:
            unzip(&m0, &m4); unzip(&m1, &m5); unzip(&m2, &m6); unzip(&m3, &m7)
            unzip(&m8, &m12); unzip(&m9, &m13); unzip(&m10, &m14); unzip(&m11, &m15)
        default:
            unzip(&m0, &m8); unzip(&m1, &m9); unzip(&m2, &m10); unzip(&m3, &m11)
            unzip(&m4, &m12); unzip(&m5, &m13); unzip(&m6, &m14); unzip(&m7, &m15)
        }
    }
}

extension SIMD4: Blake3Lanes, Blake3VectorLanes where Scalar == UInt32 {
    @inline(__always) static func unzip(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        let both = SIMD8(lowHalf: a, highHalf: b)
        return (both.evenHalf, both.oddHalf)
    }
}

extension SIMD8: Blake3Lanes, Blake3VectorLanes where Scalar == UInt32 {
    @inline(__always) static func unzip(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        let both = SIMD16(lowHalf: a, highHalf: b)
        return (both.evenHalf, both.oddHalf)
    }
}

extension SIMD16: Blake3Lanes, Blake3VectorLanes where Scalar == UInt32 {
    @inline(__always) static func unzip(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        let both = SIMD32(lowHalf: a, highHalf: b)
        return (both.evenHalf, both.oddHalf)
    }
}

/// Hashes `inputCount` independent inputs in lockstep, `W.scalarCount` at a time.
///
/// Input `i` is `blockCount` consecutive 64-byte blocks at `base + i * inputStride`; its
/// counter is `counter + i * counterStep`. Every block gets `flags`; the first block also gets
/// `firstBlockFlags` and the last `lastBlockFlags`. Writes one chaining value per input.
/// The SIMD loads assume little-endian memory; big-endian targets never call this.
@inline(__always)
func blake3CompressInLanes<W: Blake3VectorLanes>(
    _: W.Type, _ base: UnsafeRawPointer, inputCount: Int, inputStride: Int, blockCount: Int,
    counter: UInt64, counterStep: UInt64, flags: UInt32, firstBlockFlags: UInt32, lastBlockFlags: UInt32,
    into output: UnsafeMutablePointer<Blake3ChainingValue>
) {
    var done = 0
    while done < inputCount {
        let usedLanes = min(W.scalarCount, inputCount &- done)
        let (counterLow, counterHigh) = W.counters(start: counter &+ UInt64(done) &* counterStep, step: counterStep)
        let blockLength = W(broadcasting: UInt32(Blake3Layout.blockLength))
        let groupBase = base + done &* inputStride
        var cv = Blake3ChainingWords<W>(broadcasting: .blake3IV)
        for block in 0 ..< blockCount {
            var blockFlags = flags
            if block == 0 { blockFlags |= firstBlockFlags }
            if block == blockCount &- 1 { blockFlags |= lastBlockFlags }
            let message = W.loadBlocks(groupBase + block &* Blake3Layout.blockLength,
                                       laneStride: inputStride, usedLanes: usedLanes)
            cv = blake3Compress(cv, message, counterLow: counterLow, counterHigh: counterHigh,
                                blockLength: blockLength, flags: W(broadcasting: blockFlags))
        }
        for lane in 0 ..< usedLanes {
            output[done &+ lane] = cv.chainingValue(inLane: lane)
        }
        done &+= usedLanes
    }
}

/// Chaining values of `count` whole chunks at `base`, the first numbered `firstChunk`.
func blake3ChunkChainingValues(
    _ base: UnsafeRawPointer, count: Int, firstChunk: UInt64, into output: UnsafeMutablePointer<Blake3ChainingValue>
) {
    blake3CompressInLanes(
        Blake3BulkLanes.self, base, inputCount: count, inputStride: Blake3Layout.chunkLength,
        blockCount: Blake3Layout.blocksPerChunk, counter: firstChunk, counterStep: 1, flags: 0,
        firstBlockFlags: Blake3Flags.chunkStart, lastBlockFlags: Blake3Flags.chunkEnd, into: output)
}

/// Replaces `2 * pairCount` chaining values with the `pairCount` parents of adjacent pairs,
/// in place (parent `i` lands where child `i` was; all children of a batch are read first).
func blake3MergePairs(_ nodes: UnsafeMutablePointer<Blake3ChainingValue>, pairCount: Int) {
    // A pair of native chaining values is laid out exactly like a parent's 64-byte block.
    blake3CompressInLanes(
        Blake3BulkLanes.self, UnsafeRawPointer(nodes), inputCount: pairCount, inputStride: Blake3Layout.blockLength,
        blockCount: 1, counter: 0, counterStep: 0, flags: Blake3Flags.parent,
        firstBlockFlags: 0, lastBlockFlags: 0, into: nodes)
}
