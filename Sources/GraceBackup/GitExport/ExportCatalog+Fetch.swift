import Crypto
import Foundation
import GraceModel
import GraceStorage

/// The bundles a repository is rebuilt from, copied out of an export catalog into a local folder.
public struct FetchedChain: Sendable, Codable, Hashable {
    public var repositoryID: String
    /// The catalog.
    public var location: String
    public var folder: String
    /// File names in `folder`, in the order to fetch them: the newest full bundle first.
    public var bundles: [String]
    public var bytes: Int64
    /// Export numbers of the first and last bundle.
    public var firstExport: Int
    public var newestExport: Int
    /// Every ref after the newest bundle.
    public var refs: [String: String]
    /// Bundles copied by this run; the others were in the folder already, whole.
    public var copied: Int
    public var elapsedSeconds: Double
}

extension ExportCatalog {
    /// The records of the bundles that rebuild the repository: from the newest full bundle to the newest.
    public func restoreChain() async throws -> [BundleExportRecord] {
        guard let newest = try await newestRecord() else {
            throw StorageFailure(.notFound, .read, location: store.location, message: "no export of repository \(repositoryID) is recorded there")
        }
        return try await chain(from: try await lastFull(asOf: newest), through: newest)
    }

    /// Copies the restore chain's bundles into `folder` under their catalog names, which sort in chain
    /// order. Each is checked against its record (size and SHA-256) as it streams by and renamed into
    /// place only then: a damaged bundle is refused by name and leaves nothing under it. A bundle
    /// already in the folder with its record's SHA-256 is kept, so an interrupted fetch resumes.
    public func fetchChain(into folder: URL, progress: ProgressSink? = nil) async throws -> FetchedChain {
        let started = ContinuousClock.now
        let records = try await restoreChain()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var fetched = FetchedChain(repositoryID: repositoryID.description, location: store.location, folder: folder.path, bundles: [],
                                   bytes: records.reduce(0) { $0 + $1.bundleBytes }, firstExport: records[0].number,
                                   newestExport: records[records.count - 1].number, refs: records[records.count - 1].allRefs, copied: 0, elapsedSeconds: 0)
        progress?.yield(.phaseStarted(.fetchingBundles, totalItems: records.count, totalBytes: fetched.bytes))
        for record in records {
            let key = try ObjectKey(record.bundle)
            let name = String(record.bundle.split(separator: "/").last ?? "")
            // The record names the file written here: only a bundle's name, never one that leaves the folder.
            guard name.hasSuffix(".bundle"), !name.hasPrefix(".") else {
                throw ExportCatalogFailure.damaged(key: "\(root)/exports/\(Self.numbered(record.number)).json", detail: "its bundle \"\(record.bundle)\" is not a bundle's name",
                                                   location: store.location)
            }
            let destination = folder.appendingPathComponent(name)
            if try Self.sha256(ofFile: destination) != record.bundleSHA256 {
                try await copy(key, of: record, to: destination)
                fetched.copied += 1
            }
            fetched.bundles.append(name)
            progress?.yield(.advanced(items: 1, bytes: record.bundleBytes))
        }
        fetched.elapsedSeconds = (ContinuousClock.now - started).seconds
        progress?.yield(.phaseFinished(.fetchingBundles, elapsedSeconds: fetched.elapsedSeconds))
        return fetched
    }

    private func copy(_ key: ObjectKey, of record: BundleExportRecord, to destination: URL) async throws {
        let folder = destination.deletingLastPathComponent()
        let partial = try ScratchFiles.create(beside: destination)
        defer { try? FileManager.default.removeItem(at: partial) }
        let handle = try FileHandle(forWritingTo: partial)
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await piece in try await store.get(key) {
                try piece.withUnsafeReadableBytes { bytes in
                    hasher.update(bufferPointer: bytes)
                    try handle.write(contentsOf: bytes)
                }
                size += Int64(piece.readableBytes)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        let digest = Hex.encode(hasher.finalize())
        guard size == record.bundleBytes, digest == record.bundleSHA256 else {
            throw ExportCatalogFailure.damaged(key: key.rawValue, detail: "it is \(size) bytes with SHA-256 \(digest); its record says "
                                                    + "\(record.bundleBytes) bytes, \(record.bundleSHA256) (truncated or modified)", location: store.location)
        }
        guard rename(partial.path, destination.path) == 0 else {
            throw StorageFailure(.unavailable, .write, location: folder.path, message: "cannot name \(destination.lastPathComponent): \(String(cString: strerror(errno)))")
        }
    }

    /// The file's SHA-256 in hex; nil when there is no such file.
    private static func sha256(ofFile file: URL) throws -> String? {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Hex.encode(hasher.finalize())
    }
}
