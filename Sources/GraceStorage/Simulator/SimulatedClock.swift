import GraceModel
import Synchronization

/// A clock the simulator moves by hand, so the same seed gives the same timestamps and weeks
/// of activity (and Grace's retention) fit in a few seconds. Shared by the writer and the
/// database it writes, so commit times follow simulated time too.
public final class SimulatedClock: Sendable {
    private let current: Mutex<Instant>

    public init(start: Instant) { current = Mutex(start) }

    public func now() -> Instant { current.withLock { $0 } }

    public func advance(seconds: Double) { current.withLock { $0 = $0.adding(seconds: seconds) } }

    public func set(_ instant: Instant) { current.withLock { $0 = instant } }
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same sequence on
/// every platform, which `SystemRandomNumberGenerator` does not promise.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A normal variate (Box-Muller), for log-normal file sizes.
    public mutating func nextGaussian() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }

import Foundation
