import Foundation

/// Where new identifiers come from. Production draws random version-4 UUIDs; the simulator
/// passes a seeded generator so the same seed gives the same deployment, ids included.
public struct IDGenerator: Sendable {
    private let next: @Sendable () -> UUID

    public init(_ next: @escaping @Sendable () -> UUID) { self.next = next }

    public static let random = IDGenerator { UUID() }

    public func make<Kind>() -> GraceID<Kind> { GraceID(next()) }
}

extension IDGenerator {
    /// Version-4-shaped UUIDs drawn from a seeded SplitMix64 stream: the same seed, the same ids.
    public static func seeded(_ seed: UInt64) -> IDGenerator {
        let state = SeedState(seed)
        return IDGenerator { state.next() }
    }
}

import Synchronization

private final class SeedState: Sendable {
    private let state: Mutex<UInt64>

    init(_ seed: UInt64) { state = Mutex(seed ^ 0x5EED_0F6E_ACE0_0000) }

    func next() -> UUID {
        var bytes = state.withLock { value -> [UInt8] in
            var out: [UInt8] = []
            for _ in 0..<2 {
                value &+= 0x9E37_79B9_7F4A_7C15
                var z = value
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                withUnsafeBytes(of: z ^ (z >> 31)) { out.append(contentsOf: $0) }
            }
            return out
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }
}
