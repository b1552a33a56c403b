import GraceStorage

/// Orphans moved aside by an in-place restore: `quarantine/<restore id>/<original key>` in the
/// same store, so `restore-quarantine` can put them back byte for byte.
public enum Quarantine {
    static func key(for original: ObjectKey, restoreID: String) throws -> ObjectKey {
        try ObjectKey("quarantine/\(restoreID)/\(original.rawValue)")
    }

    /// Copies, then deletes the original: a crash in between leaves two copies, never none.
    static func move(_ original: ObjectKey, in store: any ObjectStore, restoreID: String) async throws {
        let target = try key(for: original, restoreID: restoreID)
        _ = try await store.copy(original, to: target)
        try await store.delete(original)
    }

    /// Puts every object of one quarantine back under its original key. Returns how many.
    public static func restore(_ restoreID: String, in store: any ObjectStore) async throws -> Int {
        let prefix = try ObjectKey.Prefix("quarantine/\(restoreID)")
        var moved = 0
        for try await summary in store.list(under: prefix) {
            let original = try ObjectKey(String(summary.key.rawValue.dropFirst(prefix.rawValue.count)))
            _ = try await store.copy(summary.key, to: original)
            try await store.delete(summary.key)
            moved += 1
        }
        guard moved > 0 else { throw StorageFailure(.notFound, .list, key: prefix.rawValue, location: store.location, message: "no quarantine with this id") }
        return moved
    }
}
