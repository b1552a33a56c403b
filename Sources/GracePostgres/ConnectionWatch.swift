import PostgresNIO
import Synchronization

/// Fails the work in progress on a connection when the connection closes first. postgres-nio
/// leaves a statement that returns no rows waiting forever when the server drops the connection
/// without a word (an immediate shutdown, a crash): seen with an INSERT waiting on a lock, which
/// hung a restore after its server had gone. Work is run in a task of its own so the caller can
/// be answered; a statement stuck that way is abandoned with its connection.
final class ConnectionWatch: Sendable {
    private struct State {
        var closed = false
        var failCurrent: (@Sendable (any Error) -> Void)?
    }

    private let state = Mutex(State())

    init(_ connection: PostgresConnection) {
        connection.closeFuture.whenComplete { [weak self] _ in self?.closed() }
    }

    private func closed() {
        let fail = state.withLock { state in
            state.closed = true
            defer { state.failCurrent = nil }
            return state.failCurrent
        }
        fail?(ConnectionClosed())
    }

    func run<Value: Sendable>(_ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = Mutex<Task<Void, Never>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let answer = Answer(continuation)
                let alreadyClosed = state.withLock { state in
                    if !state.closed { state.failCurrent = { answer.resume(with: .failure($0)) } }
                    return state.closed
                }
                if alreadyClosed { return answer.resume(with: .failure(ConnectionClosed())) }
                task.withLock { $0 = Task {
                    let result: Result<Value, any Error>
                    do { result = .success(try await work()) } catch { result = .failure(error) }
                    self.state.withLock { $0.failCurrent = nil }
                    answer.resume(with: result)
                } }
            }
        } onCancel: {
            task.withLock { $0?.cancel() }
        }
    }

    /// A continuation resumed once, by whichever comes first.
    private final class Answer<Value: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<Value, any Error>?>
        init(_ continuation: CheckedContinuation<Value, any Error>) { self.continuation = Mutex(continuation) }
        func resume(with result: Result<Value, any Error>) {
            continuation.withLock { $0.take() }?.resume(with: result)
        }
    }
}

/// The server closed the connection without saying why: it stopped, crashed or was cut off.
struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the server closed the connection (it stopped, restarted or was cut off)" }
}
