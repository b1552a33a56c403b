// BLAKE3 (default hash mode, 32-byte output), written from the BLAKE3 specification.
//
// Input is split into 1 KiB chunks, each chunk is hashed to a chaining value, and chaining
// values are merged pairwise into a binary tree whose left subtrees are always complete
// powers of two. Whole chunks go through the SIMD path many at a time; only a partial chunk
// (the start or end of an update that does not fall on a chunk boundary) is hashed one
// block at a time.

/// Incremental BLAKE3 (default hash mode, 32-byte output). Constant memory whatever the input size.
///
/// Feed bytes with any number of `update` calls of any sizes; the digest depends only on the
/// concatenated bytes, never on how they were split. A copy of a hasher continues independently.
public struct Blake3Hasher: Sendable {
    /// The chunk currently being filled (possibly empty, possibly complete).
    private var chunk = Blake3ChunkState(chunkCounter: 0)
    /// Chaining values of completed subtrees, largest (leftmost) first. Merging is lazy: a
    /// value is only merged once input after it arrives, because the last merge must be
    /// compressed as the root, and only `finalize` knows which one is last. At most 54
    /// entries (2^64 bytes); inputs under 2 KiB never allocate it.
    private var subtrees: [Blake3ChainingValue] = []

    /// Whole chunks hashed per batch; bounds the scratch space for their chaining values.
    private static let maxChunksPerBatch = 128

    /// A hasher that has seen no input.
    public init() {}

    /// Appends `bytes` to the input.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            if chunk.length == Blake3Layout.chunkLength {
                // More input follows, so this chunk is not the root and can be finished.
                pushSubtree(chunk.output().chainingValue(), chunksBefore: chunk.chunkCounter)
                chunk = Blake3ChunkState(chunkCounter: chunk.chunkCounter &+ 1)
            }
            let wholeChunks = min(remaining / Blake3Layout.chunkLength, Self.maxChunksPerBatch)
            // A lone first chunk that ends the input so far may turn out to be the root: keep it in `chunk`.
            let mightBeRoot = chunk.chunkCounter == 0 && remaining == Blake3Layout.chunkLength
            #if _endian(little)
            if chunk.length == 0 && wholeChunks > 0 && !mightBeRoot {
                hashWholeChunks(next, count: wholeChunks)
                next += wholeChunks &* Blake3Layout.chunkLength
                remaining &-= wholeChunks &* Blake3Layout.chunkLength
                continue
            }
            #endif
            let taken = min(Blake3Layout.chunkLength &- chunk.length, remaining)
            chunk.absorb(UnsafeRawBufferPointer(start: next, count: taken))
            next += taken
            remaining &-= taken
            // Input now exists after every stacked subtree, so none of them is the root:
            // merge them now, which leaves `finalize` a fully merged stack.
            mergeSubtrees(chunksBefore: chunk.chunkCounter)
        }
    }

    /// Appends `bytes` to the input. Contiguous collections such as `[UInt8]` are hashed in
    /// place; other sequences are copied through a small buffer.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let hashedInPlace: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        guard hashedInPlace == nil else { return }
        let bufferSize = 16 * Blake3Layout.chunkLength
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bufferSize) { buffer in
            var iterator = bytes.makeIterator()
            var filled = 0
            while let byte = iterator.next() {
                buffer[filled] = byte
                filled &+= 1
                if filled == bufferSize {
                    update(UnsafeRawBufferPointer(buffer))
                    filled = 0
                }
            }
            update(UnsafeRawBufferPointer(start: buffer.baseAddress, count: filled))
        }
    }

    /// The 32-byte BLAKE3 digest of everything passed to `update` so far. Does not change the
    /// hasher: more input may follow, and calling it again gives the digest of the longer input.
    public func finalize() -> [UInt8] {
        var root: Blake3NodeOutput
        var unmerged = subtrees.count
        if chunk.length > 0 || unmerged == 0 {
            root = chunk.output()
        } else {
            // The input ended on a chunk boundary, so the last two subtrees form the rightmost
            // parent. (A lone chunk 0 is never pushed, so there are at least two here.)
            root = .parent(subtrees[unmerged &- 2], subtrees[unmerged &- 1])
            unmerged &-= 2
        }
        while unmerged > 0 {
            root = .parent(subtrees[unmerged &- 1], root.chainingValue())
            unmerged &-= 1
        }
        return root.rootDigest()
    }

    /// Adds the chaining value of a complete subtree preceded by `chunksBefore` chunks.
    private mutating func pushSubtree(_ cv: Blake3ChainingValue, chunksBefore: UInt64) {
        mergeSubtrees(chunksBefore: chunksBefore)
        subtrees.append(cv)
    }

    /// Merges stacked subtrees until one remains per one bit of `chunksBefore`, the shape of a
    /// tree over exactly that many chunks. Only call this once input after them exists.
    private mutating func mergeSubtrees(chunksBefore: UInt64) {
        while subtrees.count > chunksBefore.nonzeroBitCount {
            let right = subtrees.removeLast()
            let left = subtrees.removeLast()
            subtrees.append(Blake3NodeOutput.parent(left, right).chainingValue())
        }
    }

    /// Hashes `count` whole chunks starting at the current (empty) chunk, then pushes them as
    /// complete subtrees, each as large as its alignment allows.
    private mutating func hashWholeChunks(_ base: UnsafeRawPointer, count: Int) {
        let firstChunk = chunk.chunkCounter
        withUnsafeTemporaryAllocation(of: Blake3ChainingValue.self, capacity: count) { scratch in
            let nodes = scratch.baseAddress!
            blake3ChunkChainingValues(base, count: count, firstChunk: firstChunk, into: nodes)
            var offset = 0
            while offset < count {
                let chunksBefore = firstChunk &+ UInt64(offset)
                // The largest power of two that fits in what is left and divides `chunksBefore`.
                var size = 1 << (Int.bitWidth &- 1 &- (count &- offset).leadingZeroBitCount)
                while chunksBefore & UInt64(size &- 1) != 0 { size &>>= 1 }
                let subtree = nodes + offset
                if size == 1 {
                    pushSubtree(subtree[0], chunksBefore: chunksBefore)
                } else {
                    // Reduce to the subtree's two children only: its own top node could be the
                    // root, which must not be compressed before `finalize`.
                    var width = size
                    while width > 2 {
                        blake3MergePairs(subtree, pairCount: width / 2)
                        width /= 2
                    }
                    pushSubtree(subtree[0], chunksBefore: chunksBefore)
                    pushSubtree(subtree[1], chunksBefore: chunksBefore &+ UInt64(size / 2))
                }
                offset &+= size
            }
        }
        chunk = Blake3ChunkState(chunkCounter: firstChunk &+ UInt64(count))
    }
}

/// One-shot BLAKE3.
public enum Blake3 {
    /// The 32-byte BLAKE3 digest (default hash mode) of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = Blake3Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// The inputs of a node's final compression, kept uncompressed until we know whether the
/// node is the root (which changes its flags).
struct Blake3NodeOutput {
    var inputCV: Blake3ChainingValue
    var block: SIMD16<UInt32>
    var counter: UInt64
    var blockLength: Int
    var flags: UInt32

    static func parent(_ left: Blake3ChainingValue, _ right: Blake3ChainingValue) -> Blake3NodeOutput {
        Blake3NodeOutput(inputCV: .blake3IV, block: SIMD16(lowHalf: left, highHalf: right), counter: 0,
                         blockLength: Blake3Layout.blockLength, flags: Blake3Flags.parent)
    }

    func chainingValue() -> Blake3ChainingValue { compress(flags: flags, counter: counter) }

    /// The 32-byte digest when this node is the root of the whole tree.
    func rootDigest() -> [UInt8] {
        // The root's counter numbers output blocks, not chunks; only the first block is needed.
        let words = compress(flags: flags | Blake3Flags.root, counter: 0)
        var digest = [UInt8](repeating: 0, count: Blake3Layout.outputLength)
        for index in 0 ..< 8 {
            for byte in 0 ..< 4 { digest[index * 4 + byte] = UInt8(truncatingIfNeeded: words[index] >> (8 * byte)) }
        }
        return digest
    }

    private func compress(flags: UInt32, counter: UInt64) -> Blake3ChainingValue {
        let message = Blake3Message<UInt32>(
            block[0], block[1], block[2], block[3], block[4], block[5], block[6], block[7],
            block[8], block[9], block[10], block[11], block[12], block[13], block[14], block[15])
        return blake3Compress(
            Blake3ChainingWords(broadcasting: inputCV), message,
            counterLow: UInt32(truncatingIfNeeded: counter), counterHigh: UInt32(truncatingIfNeeded: counter >> 32),
            blockLength: UInt32(blockLength), flags: flags
        ).chainingValue(inLane: 0)
    }
}

/// A chunk being filled one block at a time. The last block is always kept uncompressed,
/// because its flags depend on whether it ends the chunk and whether the chunk is the root.
struct Blake3ChunkState: Sendable {
    let chunkCounter: UInt64
    private var cv = Blake3ChainingValue.blake3IV
    /// The pending block, as words decoded from little-endian bytes (zero-padded).
    private var block = SIMD16<UInt32>()
    private var blockLength = 0
    private var blocksCompressed = 0

    init(chunkCounter: UInt64) { self.chunkCounter = chunkCounter }

    /// Bytes of this chunk seen so far (0 ... 1024).
    var length: Int { blocksCompressed &* Blake3Layout.blockLength &+ blockLength }

    private var startFlag: UInt32 { blocksCompressed == 0 ? Blake3Flags.chunkStart : 0 }

    /// Appends `bytes`; the caller keeps the chunk within 1024 bytes.
    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            if blockLength == Blake3Layout.blockLength {
                // More bytes follow, so the buffered block is not the chunk's last.
                cv = Blake3NodeOutput(inputCV: cv, block: block, counter: chunkCounter,
                                      blockLength: Blake3Layout.blockLength, flags: startFlag).chainingValue()
                blocksCompressed &+= 1
                block = SIMD16()
                blockLength = 0
            }
            let taken = min(Blake3Layout.blockLength &- blockLength, bytes.count &- offset)
            if taken == Blake3Layout.blockLength {
                for index in 0 ..< 16 {
                    block[index] = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 4 &* index, as: UInt32.self))
                }
                blockLength = taken
                offset &+= taken
                continue
            }
            for index in 0 ..< taken {
                let position = blockLength &+ index
                block[position >> 2] |= UInt32(bytes[offset &+ index]) << (8 &* (position & 3))
            }
            blockLength &+= taken
            offset &+= taken
        }
    }

    /// The pending final compression of this chunk as it stands.
    func output() -> Blake3NodeOutput {
        Blake3NodeOutput(inputCV: cv, block: block, counter: chunkCounter, blockLength: blockLength,
                         flags: startFlag | Blake3Flags.chunkEnd)
    }
}
