import Crypto
import Foundation
import GraceGit
import GraceModel
import GraceStorage

extension ExportCatalog {
    /// The pack entries of the chain's newest full bundle and the incrementals after it, for a full
    /// export to hold copied whole; nil when the catalog cannot vouch for them: its state does not
    /// record which bundle holds each object (states before version 2), or a bundle's pack holds
    /// another number of objects than the state records for it.
    ///
    /// Such a chain holds every object its bundles need (`ExportBase.known(forChainFrom:)`), each once;
    /// the export checks that every reused commit is still reachable. The bundles are read once more
    /// when copied, and each must still have the SHA-256 its record names.
    ///
    /// - Parameter chain: the records from the newest full bundle on.
    func reusableEntries(_ chain: [BundleExportRecord], base: ExportBase?) async throws -> ReusedEntries? {
        guard let base, let lastFull = chain.first?.number, chain.first?.full == true, base.holds(bundle: lastFull) else { return nil }
        var heldBy: [Int: Int] = [:]
        var objects = Set<GitObjectID>(minimumCapacity: base.entryCount)
        base.forEachHolder { id, bundle in
            guard bundle >= lastFull else { return }
            heldBy[bundle, default: 0] += 1
            objects.insert(id)
        }
        var segments: [EntrySegment] = []
        for record in chain {
            let key = try ObjectKey(record.bundle)
            guard let (packOffset, count) = try await packLayout(of: key), count == heldBy[record.number] else { return nil }
            segments.append(EntrySegment(record: record, key: key, start: Int64(packOffset) + GitPackWriter.headerSize, count: count))
        }
        // Every object the state names is in exactly one of the bundles.
        guard segments.reduce(0, { $0 + $1.count }) == objects.count else { return nil }
        let store = self.store, copied = segments
        return ReusedEntries(objects: objects, commits: Set(base.allCommits.filter(objects.contains)), count: objects.count,
                             bytes: segments.reduce(0) { $0 + $1.end - $1.start }) { descriptor, offset in
            var position = offset
            for segment in copied {
                try await segment.copy(from: store, to: descriptor, at: position)
                position += UInt64(segment.end - segment.start)
            }
        }
    }

    /// Where a stored bundle's pack starts and how many objects it holds, read from its first bytes.
    func packLayout(of key: ObjectKey) async throws -> (packOffset: Int, objects: Int)? {
        var head: [UInt8] = []
        for try await piece in try await store.get(key) {
            head += piece.readableBytesView
            if let (_, packOffset) = try? GitBundleHeader.parse(Data(head)), head.count >= packOffset + Int(GitPackWriter.headerSize) {
                guard head[packOffset..<packOffset + 8].elementsEqual(Array("PACK".utf8) + [0, 0, 0, 2]) else { return nil }
                return (packOffset, head[packOffset + 8..<packOffset + 12].reduce(0) { $0 << 8 | Int($1) })
            }
            if head.count > 1 << 20 { return nil }
        }
        return nil
    }
}

/// The entries of one stored bundle: its pack between the pack's header and its trailing checksum.
struct EntrySegment: Sendable {
    let record: BundleExportRecord
    let key: ObjectKey
    /// Where the entries start and end in the bundle file.
    let start: Int64
    var end: Int64 { record.bundleBytes - 20 }
    let count: Int

    /// Copies the entries to `offset` in the file, checking the whole bundle against its record's
    /// SHA-256 as it streams by: a bundle damaged in the catalog is refused, not copied on.
    func copy(from store: any ObjectStore, to descriptor: Int32, at offset: UInt64) async throws {
        var hasher = SHA256()
        var position: Int64 = 0
        for try await piece in try await store.get(key) {
            try piece.withUnsafeReadableBytes { bytes in
                hasher.update(bufferPointer: bytes)
                let from = max(position, start), to = min(position + Int64(bytes.count), end)
                if from < to {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(from - position)..<Int(to - position)])
                    try GitPackWriter.write(slice, to: descriptor, at: offset + UInt64(from - start))
                }
            }
            position += Int64(piece.readableBytes)
        }
        let digest = Hex.encode(hasher.finalize())
        guard position == record.bundleBytes, digest == record.bundleSHA256 else {
            throw ExportCatalogFailure.damaged(key: key.rawValue, detail: "it is \(position) bytes with SHA-256 \(digest); its record says "
                                                    + "\(record.bundleBytes) bytes, \(record.bundleSHA256) (truncated or modified)", location: store.location)
        }
    }
}
