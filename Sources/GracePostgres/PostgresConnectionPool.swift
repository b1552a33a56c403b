import Logging
import PostgresNIO
import Synchronization

/// A small pool of plain connections. postgres-nio's `PostgresClient` was tried first: when the
/// server went away in the middle of a transaction, the transaction's `await` never returned,
/// and a down server was retried for two minutes before failing with only "circuit breaker
/// tripped". Plain connections fail at once, and each connect goes through
/// `PostgresGraceDatabase.connect` (its bounded retries during a restart).
final class PostgresConnectionPool: Sendable {
    private struct Pooled: Sendable {
        let connection: PostgresConnection
        let watch: ConnectionWatch
    }

    private struct State {
        var idle: [Pooled] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    let configuration: PostgresConnection.Configuration
    let maximum: Int
    let logger: Logger

    init(configuration: PostgresConnection.Configuration, maximum: Int, logger: Logger) {
        self.configuration = configuration
        self.maximum = maximum
        self.logger = logger
    }

    deinit {
        // A connection must outlive its close (postgres-nio asserts it is closed when it goes).
        for connection in state.withLock({ $0.idle.map(\.connection) }) {
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    /// Runs `body` on a connection of its own. A connection whose body failed is closed, not
    /// reused: its state (a broken transaction, a half-read result) is not worth guessing. The
    /// body fails with `ConnectionClosed` if the connection closes under it (`ConnectionWatch`).
    func withConnection<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        let pooled = try await acquire()
        let value: Value
        do {
            value = try await pooled.watch.run { try await body(pooled.connection) }
        } catch {
            try? await pooled.connection.close()
            release(nil)
            throw error
        }
        release(pooled)
        return value
    }

    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = self.logger
        return try await withConnection { connection in
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }

    private func acquire() async throws -> Pooled {
        while true {
            enum Next { case use(Pooled), connect, wait }
            let next = state.withLock { state -> Next in
                while let pooled = state.idle.popLast() {
                    if !pooled.connection.isClosed { return .use(pooled) }
                    state.open -= 1
                }
                guard state.open < maximum else { return .wait }
                state.open += 1
                return .connect
            }
            switch next {
            case let .use(connection):
                return connection
            case .connect:
                do {
                    let connection = try await PostgresGraceDatabase.connect(configuration, logger: logger)
                    return Pooled(connection: connection, watch: ConnectionWatch(connection))
                } catch {
                    release(nil)
                    throw error
                }
            case .wait:
                await withCheckedContinuation { waiter in
                    // Checked again under the lock, so a release between the two looks is never missed.
                    let free = state.withLock { state in
                        if !state.idle.isEmpty || state.open < maximum { return true }
                        state.waiters.append(waiter)
                        return false
                    }
                    if free { waiter.resume() }
                }
            }
        }
    }

    /// Gives a connection back, or (nil) the place of one that was closed; wakes one waiter.
    private func release(_ pooled: Pooled?) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let pooled, !pooled.connection.isClosed {
                state.idle.append(pooled)
            } else {
                state.open -= 1
            }
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
