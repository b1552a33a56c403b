import Foundation
import GraceModel
import GraceStorage

extension Vault {
    /// The vault's store as a locking one, when the vault was made with Object Lock.
    var lockingStore: (any ObjectLocking)? { config.objectLock == nil ? nil : store as? any ObjectLocking }

    /// What of `keys` is locked past `now`, with each lock's end; in an unlocked vault, nothing.
    func locked(_ keys: some Collection<String>, now: Instant) async throws -> [String: Instant] {
        guard let lockingStore else { return [:] }
        var locked: [String: Instant] = [:]
        try await forEachConcurrently(Array(keys), limit: 16, { key in
            (key, try await lockingStore.lockedUntil(try ObjectKey(key)))
        }, collect: { key, until in
            if let until, until > now { locked[key] = until }
        })
        return locked
    }

    /// Keeps every object the vault still holds locked for at least half the retention: objects
    /// written more than half a retention ago whose lock ends sooner get it moved to a full
    /// retention from `now`. Condemned objects (in a prune record) are left to expire. Returns how
    /// many locks were extended.
    ///
    /// Cost: one listing, one HEAD per object older than half the retention, one PutObjectRetention
    /// per lock moved (each object's lock moves at most once per half retention).
    public func extendLocks(now: Instant, progress: ProgressSink? = nil) async throws -> Int {
        guard let lockingStore, let setting = config.objectLock else { return 0 }
        let half = Double(setting.retentionSeconds) / 2
        let horizon = now.adding(seconds: half)
        let condemned = Set(try await pruneRecords().flatMap(\.record.condemned))
        var candidates: [ObjectKey] = []
        for try await summary in store.list(under: .all) where setting.locks(summary.key) && !condemned.contains(summary.key.rawValue) {
            // Written within half a retention: its lock from the write still reaches past the horizon.
            if let written = summary.lastModified, written.adding(seconds: half) > now { continue }
            candidates.append(summary.key)
        }
        let until = now.adding(seconds: Double(setting.retentionSeconds))
        var extended = 0
        try await forEachConcurrently(candidates, limit: 16, { key -> Bool in
            guard let current = try await lockingStore.lockedUntil(key), current < horizon else { return false }
            try await lockingStore.extendLock(of: key, until: until)
            return true
        }, collect: { if $0 { extended += 1 } })
        if extended > 0 { progress?.yield(.note("extended the Object Lock of \(extended) object(s) to \(until)")) }
        return extended
    }
}
