import Foundation
import GraceStorage

/// Runs a program to its end for a test without holding one of the few threads every test shares.
///
/// Waiting for a child with `waitUntilExit` or a blocking read ties up a thread of Swift's
/// cooperative pool (two on a two-core machine) for the child's whole run: with two tests doing so,
/// every other test's timers and sleeps stop until a child ends (a quarter-second sleep was measured
/// resuming fifty seconds late). Here the waiting happens on a thread of its own, and at most
/// `limit` children run at once so the machine is not flooded once nothing holds the tests back.
public enum ChildProcess {
    public struct Result: Sendable {
        public let status: Int32
        public let output: Data
        public let errors: Data
        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: errors, as: UTF8.self) }
    }

    /// At most this many children run at once; the others wait their turn without holding a thread.
    public static let limit = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
    private static let turns = Turns(limit: limit)

    /// Runs `program` with `arguments`; `environment` replaces this process's environment when given.
    /// `input` is written to the child's standard input, which is then closed. With `mergingErrors`
    /// the child's standard error goes to `output` too.
    public static func run(_ program: URL, _ arguments: [String], in folder: URL? = nil, environment: [String: String]? = nil,
                           input: Data? = nil, mergingErrors: Bool = false) async throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let folder { process.currentDirectoryURL = folder }
        let output = Pipe(), errors = Pipe(), feed = Pipe()
        process.standardOutput = output
        process.standardError = mergingErrors ? output : errors
        process.standardInput = feed
        await turns.take()
        defer { turns.give() }
        try process.run()
        let outputBytes = ChildOutput(output), errorBytes = mergingErrors ? nil : ChildOutput(errors)
        return try await onAThreadOfItsOwn {
            if let input { try? feed.fileHandleForWriting.write(contentsOf: input) }
            try? feed.fileHandleForWriting.close()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, output: outputBytes.wait(), errors: errorBytes?.wait() ?? Data())
        }
    }

    /// This process's environment with `changes` on top.
    public static func environment(adding changes: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(changes) { $1 }
    }
}

/// Runs blocking `work` (waiting for a child, initdb, pg_ctl) on a thread of its own, not on one of
/// the few threads every test shares.
func onAThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { finished in
        Thread.detachNewThread { finished.resume(with: Result { try work() }) }
    }
}

/// A counting semaphore whose waiters suspend instead of blocking a thread.
private final class Turns: @unchecked Sendable {
    // Guarded by `lock`.
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private let lock = NSLock()

    init(limit: Int) { free = limit }

    func take() async {
        await withCheckedContinuation { (turn: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if free > 0 { free -= 1; return true }
                waiting.append(turn)
                return false
            }
            if now { turn.resume() }
        }
    }

    func give() {
        let next: CheckedContinuation<Void, Never>? = lock.withLock {
            if waiting.isEmpty { free += 1; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}
