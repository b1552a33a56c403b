/// Pauses between tries while something is away (a database restarting, a store cut off): each
/// twice the last, up to `limit`, and back to `first` once a try succeeds.
public struct Backoff: Sendable {
    public let first: Duration
    public let limit: Duration
    private var upcoming: Duration

    public init(first: Duration, limit: Duration) {
        self.first = first
        self.limit = limit
        upcoming = first
    }

    /// The pause to take now; the one after is twice as long, up to `limit`.
    public mutating func next() -> Duration {
        defer { upcoming = min(upcoming * 2, limit) }
        return upcoming
    }

    public mutating func reset() { upcoming = first }
}

/// Sleeps for `duration`, or less once `stop` says so (asked every quarter second): a process
/// waiting out an outage still stops promptly on a signal.
public func sleep(for duration: Duration, unless stop: () -> Bool) async throws {
    let end = ContinuousClock.now + duration
    while !stop(), ContinuousClock.now < end {
        try await Task.sleep(for: min(.milliseconds(250), end - ContinuousClock.now))
    }
}
