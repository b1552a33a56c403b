import GraceStorage
import Testing

struct BackoffTests {
    @Test func pausesDoubleUpToTheLimitAndStartOverAfterASuccess() {
        var backoff = Backoff(first: .milliseconds(250), limit: .seconds(1))
        #expect((0..<5).map { _ in backoff.next() } == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(1), .seconds(1)])
        backoff.reset()
        #expect(backoff.next() == .milliseconds(250))
    }

    /// Counted, not timed: the tests share a few threads, and a timed bound would measure them
    /// (a day, so that even a machine that held this task back for minutes ends by being told).
    @Test func aSleepEndsOnceToldToStop() async throws {
        var checks = 0
        try await sleep(for: .seconds(86_400), unless: { checks += 1; return checks >= 3 })
        #expect(checks == 3, "asked three times, slept twice a quarter second, not a day")
        let started = ContinuousClock.now
        try await sleep(for: .milliseconds(300), unless: { false })
        #expect(ContinuousClock.now - started >= .milliseconds(300))
    }
}
