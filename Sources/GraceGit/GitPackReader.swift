import Crypto
import Deflate
import Foundation

/// Reads a pack (version 2 or 3), checking its trailing SHA-1 and the id of every object while
/// it resolves deltas. Objects are located once and inflated again on demand, with a bounded
/// cache of recent ones, so memory stays bounded whatever the pack's size.
public final class GitPackReader {
    public struct Entry: Sendable {
        public var offset: Int
        /// 1-4 for whole objects, 6 OFS_DELTA, 7 REF_DELTA.
        var kind: UInt8
        var dataStart: Int
        var size: Int
        var baseOffset: Int?
        var baseID: GitObjectID?
    }

    /// Objects outside the pack a thin pack's REF_DELTAs may name (a bundle's prerequisites).
    public typealias ExternalObjects = (GitObjectID) throws -> (type: GitObjectType, content: [UInt8])?

    let bytes: Data
    let external: ExternalObjects?
    public private(set) var entries: [Entry] = []
    public private(set) var ids: [GitObjectID: Int] = [:]  // id → entry index
    private var typesByOffset: [Int: GitObjectType] = [:]
    private var entryIndexByOffset: [Int: Int] = [:]
    private var cache: [Int: [UInt8]] = [:]
    private var cacheOrder: [Int] = []
    private var cacheBytes = 0
    private let cacheLimit = 64 << 20
    private let inflater: Inflater

    /// Parses `bytes` (a whole pack, from `PACK` to its checksum) and resolves every object.
    public init(bytes: Data, external: ExternalObjects? = nil) throws {
        self.bytes = bytes
        self.external = external
        inflater = try Inflater(.zlib)
        guard bytes.count >= 32, bytes.prefix(4).elementsEqual("PACK".utf8) else { throw GitFormatError("not a pack: it does not start with PACK") }
        let version = Self.readUInt32(bytes, 4), count = Int(Self.readUInt32(bytes, 8))
        guard version == 2 || version == 3 else { throw GitFormatError("pack version \(version) is not supported") }
        let trailerStart = bytes.count - 20
        var hasher = Insecure.SHA1()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<trailerStart])) }
        guard Array(hasher.finalize()).elementsEqual(bytes.suffix(20)) else {
            throw GitFormatError("the pack's checksum does not match its bytes: it is truncated or damaged")
        }
        var position = 12
        // Whole objects of `GitLargeObject.bytes` or more are identified as they are first inflated, never held
        // whole (`streamContent` passes them on in pieces).
        var largeEntries = Set<Int>()
        for index in 0..<count {
            guard position < trailerStart else { throw GitFormatError("the pack says \(count) objects but ends after \(index)") }
            let entry = try parseHeader(at: position, end: trailerStart)
            let type = GitObjectType(rawValue: entry.kind)
            var hasher = type.flatMap { entry.size >= GitLargeObject.bytes ? GitObjectHasher($0, size: Int64(entry.size)) : nil }
            let (consumed, inflatedSize) = try inflatedLength(from: entry.dataStart, end: trailerStart) { hasher?.update($0) }
            guard inflatedSize == entry.size else {
                throw GitFormatError("object \(index) at offset \(position) inflates to \(inflatedSize) bytes, its header says \(entry.size)")
            }
            if let hasher, let type {
                ids[hasher.finalize()] = index
                typesByOffset[position] = type
                largeEntries.insert(index)
            }
            entries.append(entry)
            entryIndexByOffset[position] = index
            position = entry.dataStart + consumed
        }
        guard position == trailerStart else { throw GitFormatError("the pack has \(trailerStart - position) bytes after its last object") }
        // A REF_DELTA may name a base later in the pack: resolve what can be, then the rest, until done.
        var pending = entries.indices.filter { !largeEntries.contains($0) }
        while !pending.isEmpty {
            var deferred: [Int] = []
            for index in pending {
                guard try baseIsKnown(index) else {
                    deferred.append(index)
                    continue
                }
                let (type, content) = try resolve(index)
                ids[GitObjectID.of(type, content: content)] = index
            }
            if deferred.count == pending.count {
                let entry = entries[deferred[0]]
                throw GitFormatError("a delta at offset \(entry.offset) is based on an object that neither the pack nor the prerequisites hold")
            }
            pending = deferred
        }
    }

    /// The object `id`, if the pack holds it.
    public func object(_ id: GitObjectID) throws -> (type: GitObjectType, content: [UInt8])? {
        guard let index = ids[id] else { return nil }
        return try resolve(index)
    }

    public var objectIDs: Dictionary<GitObjectID, Int>.Keys { ids.keys }

    /// The size of object `id` when the pack holds it whole, not as a delta: what `streamContent` passes.
    public func wholeSize(of id: GitObjectID) -> Int? {
        guard let index = ids[id], (1...4).contains(entries[index].kind) else { return nil }
        return entries[index].size
    }

    /// Passes the content of object `id`, held whole in the pack, to `body` in pieces as it is inflated,
    /// each valid during its call: for an object too large to hold. False when the pack does not hold
    /// `id` whole (a delta is rebuilt whole by `object`). The pieces were checked when the pack was read.
    public func streamContent(of id: GitObjectID, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard let index = ids[id], (1...4).contains(entries[index].kind) else { return false }
        try inflater.reset()
        _ = try bytes.withUnsafeBytes { raw in
            try inflater.feed(UnsafeRawBufferPointer(rebasing: raw[entries[index].dataStart..<(raw.count - 20)]), output: body)
        }
        return true
    }

    /// The type of object `id`, if the pack holds it, without inflating it again: every object's type
    /// is known once the pack is read.
    public func type(of id: GitObjectID) -> GitObjectType? {
        ids[id].flatMap { typesByOffset[entries[$0].offset] }
    }

    // MARK: - Parsing

    private func parseHeader(at offset: Int, end: Int) throws -> Entry {
        var position = offset
        func next() throws -> UInt8 {
            guard position < end else { throw GitFormatError("an object header at offset \(offset) is cut short") }
            defer { position += 1 }
            return bytes[bytes.startIndex + position]
        }
        var byte = try next()
        let kind = (byte >> 4) & 0x07
        var size = Int(byte & 0x0f), shift = 4
        while byte & 0x80 != 0 {
            byte = try next()
            guard shift < 57 else { throw GitFormatError("an object size at offset \(offset) is too large") }
            size |= Int(byte & 0x7f) << shift
            shift += 7
        }
        var entry = Entry(offset: offset, kind: kind, dataStart: 0, size: size)
        switch kind {
        case 1...4: break
        case 6:
            byte = try next()
            var distance = Int(byte & 0x7f)
            while byte & 0x80 != 0 {
                byte = try next()
                distance = ((distance + 1) << 7) | Int(byte & 0x7f)
            }
            guard distance > 0, distance <= offset else { throw GitFormatError("a delta at offset \(offset) names a base before the pack") }
            entry.baseOffset = offset - distance
        case 7:
            guard position + 20 <= end else { throw GitFormatError("a delta at offset \(offset) is cut short") }
            entry.baseID = GitObjectID(bytes: Array(bytes[(bytes.startIndex + position)..<(bytes.startIndex + position + 20)]))
            position += 20
        default:
            throw GitFormatError("an object at offset \(offset) has type \(kind)")
        }
        entry.dataStart = position
        return entry
    }

    /// Inflates the zlib stream at `start` to find where it ends, passing what it inflates to `body`;
    /// returns the compressed length and the inflated size.
    private func inflatedLength(from start: Int, end: Int, _ body: (UnsafeRawBufferPointer) -> Void = { _ in }) throws -> (Int, Int) {
        try inflater.reset()
        var produced = 0
        let consumed = try bytes.withUnsafeBytes { raw in
            try inflater.feed(UnsafeRawBufferPointer(rebasing: raw[start..<end])) {
                produced += $0.count
                body($0)
            }
        }
        guard inflater.isFinished else { throw GitFormatError("an object's compressed data at offset \(start) is cut short") }
        return (consumed, produced)
    }

    private func inflate(_ entry: Entry) throws -> [UInt8] {
        try inflater.reset()
        var content: [UInt8] = []
        content.reserveCapacity(entry.size)
        _ = try bytes.withUnsafeBytes { raw in
            try inflater.feed(UnsafeRawBufferPointer(rebasing: raw[entry.dataStart..<(raw.count - 20)])) { content.append(contentsOf: $0) }
        }
        return content
    }

    // MARK: - Resolving

    /// Whether the object at the root of `index`'s delta chain can be found now.
    private func baseIsKnown(_ index: Int) throws -> Bool {
        var entry = entries[index]
        while true {
            switch entry.kind {
            case 6:
                guard let baseIndex = entryIndexByOffset[entry.baseOffset!] else { return true }  // resolve names the error
                entry = entries[baseIndex]
            case 7:
                if ids[entry.baseID!] != nil { return true }
                return try external?(entry.baseID!) != nil
            default:
                return true
            }
        }
    }

    private func resolve(_ index: Int) throws -> (type: GitObjectType, content: [UInt8]) {
        let entry = entries[index]
        if let cached = cache[entry.offset], let type = typesByOffset[entry.offset] { return (type, cached) }
        let result: (type: GitObjectType, content: [UInt8])
        switch entry.kind {
        case 1...4:
            result = (GitObjectType(rawValue: entry.kind)!, try inflate(entry))
        case 6:
            guard let baseIndex = entryIndexByOffset[entry.baseOffset!] else {
                throw GitFormatError("a delta at offset \(entry.offset) names offset \(entry.baseOffset!), where no object starts")
            }
            let base = try resolve(baseIndex)
            result = (base.type, try GitDelta.apply(try inflate(entry), to: base.content))
        default:
            let baseID = entry.baseID!
            let base: (type: GitObjectType, content: [UInt8])
            if let baseIndex = ids[baseID] {
                base = try resolve(baseIndex)
            } else if let found = try external?(baseID) {
                base = found
            } else {
                throw GitFormatError("a delta at offset \(entry.offset) is based on \(baseID), which neither the pack nor the prerequisites hold")
            }
            result = (base.type, try GitDelta.apply(try inflate(entry), to: base.content))
        }
        typesByOffset[entry.offset] = result.type
        remember(entry.offset, result.content)
        return result
    }

    private func remember(_ offset: Int, _ content: [UInt8]) {
        guard content.count < cacheLimit / 4 else { return }
        cache[offset] = content
        cacheOrder.append(offset)
        cacheBytes += content.count
        while cacheBytes > cacheLimit, !cacheOrder.isEmpty {
            let oldest = cacheOrder.removeFirst()
            cacheBytes -= cache.removeValue(forKey: oldest)?.count ?? 0
        }
    }

    static func readUInt32(_ bytes: Data, _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[bytes.startIndex + offset + $1]) }
    }
}
