import GraceStorage
import Synchronization
import Testing

@Suite struct BoundedConcurrencyTests {
    /// Counts tasks at work: never more than the limit.
    final class Flight: Sendable {
        let counts = Mutex((now: 0, most: 0))
        func enter() { counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
        func leave() { counts.withLock { $0.now -= 1 } }
    }

    @Test func everyResultComesOnceWithinTheLimit() async throws {
        let flight = Flight()
        var collected: [Int] = []
        try await forEachConcurrently(Array(0..<24), limit: 4, { element in
            flight.enter()
            defer { flight.leave() }
            try await Task.sleep(for: .milliseconds(5))
            return element
        }) { element in
            collected.append(element)
        }
        #expect(collected.sorted() == Array(0..<24))
        #expect(flight.counts.withLock { $0.most } == 4)
    }

    @Test func resultsInFinishingOrderDoNotWaitForASlowOne() async throws {
        var collected: [Int] = []
        try await forEachConcurrently([0, 1, 2], limit: 3, { element in
            try await Task.sleep(for: .milliseconds(element == 0 ? 300 : 1))
            return element
        }) { collected.append($0) }
        #expect(collected.last == 0 && collected.count == 3)
    }
}
