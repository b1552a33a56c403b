import Synchronization

/// The contents a window's deltas are planned against, kept from the moment each is read for its own
/// blob until the delta against it takes it: without them every delta read its base from object
/// storage a second time (decompressed and checked again), and in a history of edits most blobs
/// after the first version of a file are deltas.
///
/// A base its delta asks for before it is read (the two run at once), or one past the memory budget,
/// is not kept: the delta reads it from storage as before. Nothing stays once its deltas are done.
final class DeltaBaseContents: Sendable {
    /// What the window's contents may hold at once, in bytes of content.
    static let budget = 64 << 20

    private struct Held {
        /// By a content's Grace SHA-256: how many planned deltas have not asked for it yet.
        var wanted: [String: Int]
        var contents: [String: [UInt8]] = [:]
        var bytes = 0
    }

    private let held: Mutex<Held>

    /// - Parameter wanted: by Grace SHA-256, how many deltas are planned against each base.
    init(wanted: [String: Int]) {
        held = Mutex(Held(wanted: wanted))
    }

    /// Keeps a content just read and checked, when a delta is still to ask for it and it fits.
    func keep(_ plain: [UInt8], sha256 hash: String) {
        held.withLock { held in
            guard held.wanted[hash, default: 0] > 0, held.contents[hash] == nil, held.bytes + plain.count <= Self.budget else { return }
            held.contents[hash] = plain
            held.bytes += plain.count
        }
    }

    /// The content of a base, when kept; the last delta to ask lets it go.
    func take(sha256 hash: String) -> [UInt8]? {
        held.withLock { held in
            let left = held.wanted[hash, default: 1] - 1
            held.wanted[hash] = left > 0 ? left : nil
            guard let plain = held.contents[hash] else { return nil }
            if left <= 0 {
                held.contents[hash] = nil
                held.bytes -= plain.count
            }
            return plain
        }
    }

    /// How many bytes of content are held now.
    var heldBytes: Int { held.withLock { $0.bytes } }
}
