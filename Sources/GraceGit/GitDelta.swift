import Foundation

/// Git's delta format: the base's size and the result's size (base-128 varints), then
/// instructions: copy a slice of the base (high bit set; which offset and size bytes follow is
/// in the low seven bits) or insert 1-127 literal bytes.
public enum GitDelta {
    static let blockSize = 16
    /// Git caps a copy at 64 KiB when it writes deltas; readers accept more, we stay with Git.
    static let maxCopy = 0x10000

    /// A delta that turns `base` into `target`, or nil when it would not be much smaller than the
    /// target stored whole (`limit` bytes at most).
    public static func encode(base: UnsafeRawBufferPointer, target: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
        guard base.count >= blockSize, target.count >= blockSize else { return nil }
        var delta: [UInt8] = []
        delta.reserveCapacity(min(limit, target.count / 4 + 64))
        appendVarint(base.count, to: &delta)
        appendVarint(target.count, to: &delta)

        // Index the base by the hash of each aligned 16-byte block; later blocks win, which favours
        // nearby matches in appended text.
        let blocks = base.count / blockSize
        var tableSize = 1
        while tableSize < blocks * 2 { tableSize <<= 1 }
        let mask = tableSize - 1
        var table = [Int32](repeating: -1, count: tableSize)
        for block in 0..<blocks {
            table[Int(hash(base, at: block * blockSize)) & mask] = Int32(block * blockSize)
        }

        var pendingStart = 0  // first target byte not yet emitted
        var position = 0
        var rolling = hash(target, at: 0)
        while position + blockSize <= target.count {
            let candidate = Int(table[Int(rolling) & mask])
            if candidate >= 0, equal(base, candidate, target, position, blockSize) {
                // Extend backwards into the bytes not yet emitted, then forwards.
                var start = position, source = candidate
                while start > pendingStart, source > 0, base[source - 1] == target[start - 1] {
                    start -= 1
                    source -= 1
                }
                let matched = matchLength(base, candidate + blockSize, target, position + blockSize,
                                          limit: min(base.count - candidate, target.count - position) - blockSize)
                let end = position + blockSize + matched
                appendInsert(target, from: pendingStart, to: start, to: &delta)
                var offset = source, remaining = end - start
                while remaining > 0 {
                    let length = min(remaining, maxCopy)
                    appendCopy(offset: offset, length: length, to: &delta)
                    offset += length
                    remaining -= length
                }
                if delta.count > limit { return nil }
                pendingStart = end
                position = end
                if position + blockSize <= target.count { rolling = hash(target, at: position) }
                continue
            }
            if position + blockSize < target.count {
                rolling = roll(rolling, out: target[position], in: target[position + blockSize])
            }
            position += 1
        }
        appendInsert(target, from: pendingStart, to: target.count, to: &delta)
        return delta.count <= limit ? delta : nil
    }

    /// Applies `delta` to `base`.
    public static func apply(_ delta: [UInt8], to base: [UInt8]) throws(GitFormatError) -> [UInt8] {
        var index = 0
        let baseSize = try readVarint(delta, &index), targetSize = try readVarint(delta, &index)
        guard baseSize == base.count else { throw GitFormatError("a delta expects a base of \(baseSize) bytes, the base has \(base.count)") }
        var result: [UInt8] = []
        result.reserveCapacity(targetSize)
        while index < delta.count {
            let opcode = delta[index]
            index += 1
            if opcode & 0x80 != 0 {
                var offset = 0, size = 0
                for bit in 0..<4 where opcode & (1 << bit) != 0 {
                    guard index < delta.count else { throw GitFormatError("a delta copy is cut short") }
                    offset |= Int(delta[index]) << (8 * bit)
                    index += 1
                }
                for bit in 0..<3 where opcode & (0x10 << bit) != 0 {
                    guard index < delta.count else { throw GitFormatError("a delta copy is cut short") }
                    size |= Int(delta[index]) << (8 * bit)
                    index += 1
                }
                if size == 0 { size = 0x10000 }
                guard offset + size <= base.count else { throw GitFormatError("a delta copies past the end of its base") }
                result += base[offset..<(offset + size)]
            } else if opcode != 0 {
                let length = Int(opcode)
                guard index + length <= delta.count else { throw GitFormatError("a delta insert is cut short") }
                result += delta[index..<(index + length)]
                index += length
            } else {
                throw GitFormatError("a delta has the reserved opcode 0")
            }
        }
        guard result.count == targetSize else { throw GitFormatError("a delta made \(result.count) bytes, it promised \(targetSize)") }
        return result
    }

    // MARK: - Encoding pieces

    private static let multiplier: UInt32 = 0x0100_0193
    /// multiplier^16, to take the outgoing byte out of the rolling hash.
    private static let outgoingFactor: UInt32 = {
        var factor: UInt32 = 1
        for _ in 0..<blockSize { factor = factor &* multiplier }
        return factor
    }()

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, at start: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in start..<(start + blockSize) { value = value &* multiplier &+ UInt32(bytes[index]) }
        return value
    }

    @inline(__always)
    private static func roll(_ value: UInt32, out: UInt8, in incoming: UInt8) -> UInt32 {
        value &* multiplier &+ UInt32(incoming) &- UInt32(out) &* outgoingFactor
    }

    /// How many bytes from `a[aStart...]` and `b[bStart...]` are the same, at most `limit`: a word at a
    /// time, since an edited file's copy runs on for most of its length.
    @inline(__always)
    private static func matchLength(_ a: UnsafeRawBufferPointer, _ aStart: Int, _ b: UnsafeRawBufferPointer, _ bStart: Int, limit: Int) -> Int {
        var length = 0
        while length + 8 <= limit {
            let difference = a.loadUnaligned(fromByteOffset: aStart + length, as: UInt64.self)
                ^ b.loadUnaligned(fromByteOffset: bStart + length, as: UInt64.self)
            // The first differing byte in memory is the lowest one once the word is little-endian.
            if difference != 0 { return length + difference.littleEndian.trailingZeroBitCount / 8 }
            length += 8
        }
        while length < limit, a[aStart + length] == b[bStart + length] { length += 1 }
        return length
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawBufferPointer, _ aStart: Int, _ b: UnsafeRawBufferPointer, _ bStart: Int, _ count: Int) -> Bool {
        memcmp(a.baseAddress! + aStart, b.baseAddress! + bStart, count) == 0
    }

    private static func appendInsert(_ target: UnsafeRawBufferPointer, from start: Int, to end: Int, to delta: inout [UInt8]) {
        var index = start
        while index < end {
            let length = min(127, end - index)
            delta.append(UInt8(length))
            delta.append(contentsOf: UnsafeRawBufferPointer(rebasing: target[index..<(index + length)]))
            index += length
        }
    }

    private static func appendCopy(offset: Int, length: Int, to delta: inout [UInt8]) {
        var opcode: UInt8 = 0x80
        var operands: [UInt8] = []
        for bit in 0..<4 {
            let byte = UInt8((offset >> (8 * bit)) & 0xff)
            if byte != 0 {
                opcode |= 1 << bit
                operands.append(byte)
            }
        }
        let size = length == 0x10000 ? 0 : length
        for bit in 0..<3 {
            let byte = UInt8((size >> (8 * bit)) & 0xff)
            if byte != 0 {
                opcode |= 0x10 << bit
                operands.append(byte)
            }
        }
        delta.append(opcode)
        delta += operands
    }

    static func appendVarint(_ value: Int, to bytes: inout [UInt8]) {
        var value = value
        repeat {
            var byte = UInt8(value & 0x7f)
            value >>= 7
            if value > 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value > 0
    }

    static func readVarint(_ bytes: [UInt8], _ index: inout Int) throws(GitFormatError) -> Int {
        var value = 0, shift = 0
        while true {
            guard index < bytes.count, shift < 63 else { throw GitFormatError("a delta header is cut short") }
            let byte = bytes[index]
            index += 1
            value |= Int(byte & 0x7f) << shift
            shift += 7
            if byte & 0x80 == 0 { return value }
        }
    }
}
