import Deflate
import Foundation
import GraceModel
import GraceStorage
import NIOCore

/// Copies a file version's stored bytes between stores (deployment to vault, vault to
/// deployment), unchanged, while decoding and hashing them as they stream: a mismatch with the
/// file version's hashes or size is an error, never a silent copy. Memory stays constant.
struct ObjectCopier: Sendable {
    struct Mismatch: BackupFailure {
        let key: ObjectKey
        let location: String
        let detail: String
        var kind: FailureKind { .integrity }
        var description: String { "\(key) in \(location): \(detail); nothing was stored" }
    }

    /// Copies `source` to `target`; on a mismatch the target key is deleted again and `Mismatch` thrown.
    /// Returns the stored bytes copied.
    @discardableResult
    static func copy(_ file: FileVersion, from sourceStore: any ObjectStore, at source: ObjectKey,
                     to targetStore: any ObjectStore, at target: ObjectKey) async throws -> Int64 {
        let verifier = try StreamVerifier(isBinary: file.isBinary)
        let input = try await sourceStore.get(source)
        let checked = input.map { piece -> ByteBuffer in
            try verifier.consume(piece)
            return piece
        }
        let summary = try await targetStore.put(target, from: checked)
        let contents: (FileHashes, Int64)
        do {
            contents = try verifier.finish()
        } catch {
            try? await targetStore.delete(target)  // best effort: the key holds bytes that failed verification
            throw Mismatch(key: source, location: sourceStore.location, detail: "\(error)")
        }
        guard contents.0 == file.hashes, contents.1 == file.size else {
            try? await targetStore.delete(target)
            throw Mismatch(key: source, location: sourceStore.location,
                           detail: "the bytes hash to \(contents.0) and are \(contents.1) bytes long; the file version says \(file.hashes), \(file.size) bytes")
        }
        return summary.sizeBytes
    }
}

/// Decodes and hashes a stream piece by piece. Used by one copy at a time; the lock is only
/// there because the mapping closure must be `Sendable`.
final class StreamVerifier: @unchecked Sendable {
    // Guarded by `lock`.
    private var hasher = FileHasher()
    private let inflater: Inflater?
    private var failure: (any Error)?
    private let lock = NSLock()

    init(isBinary: Bool) throws {
        inflater = isBinary ? nil : try Inflater(.gzip)
    }

    func consume(_ piece: ByteBuffer) throws {
        try lock.withLock {
            try piece.withUnsafeReadableBytes { bytes in
                guard let inflater else { hasher.update(bytes); return }
                let used = try inflater.feed(bytes) { hasher.update($0) }
                if used < bytes.count { throw DeflateError(.trailingBytes) }
            }
        }
    }

    func finish() throws -> (FileHashes, Int64) {
        try lock.withLock {
            try inflater?.finish()
            return (hasher.finalize(), hasher.byteCount)
        }
    }
}
