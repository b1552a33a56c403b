import Foundation
import GraceBackupTesting
import Testing

/// Runs the built `grace-backup` executable, as a user or a cron job would.
struct CommandLineTool {
    struct Result {
        let exitCode: Int32
        let standardOutput: String
        let standardError: String
    }

    /// The executable beside the test bundle (`.build/<configuration>/grace-backup`).
    static let executable: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("grace-backup")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/grace-backup")
    }()

    @discardableResult
    static func run(_ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:]) async throws -> Result {
        try await runProgram(executable, arguments, in: folder, environment: environment)
    }

    /// Starts the executable without waiting for it; its output goes to the files given (created
    /// empty), or nowhere. `environment` adds to (or overrides) this process's environment.
    static func start(_ arguments: [String], environment: [String: String] = [:], output: URL? = nil, errors: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        func sink(_ file: URL?) throws -> FileHandle {
            guard let file else { return FileHandle.nullDevice }
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            return try FileHandle(forWritingTo: file)
        }
        process.standardOutput = try sink(output)
        process.standardError = try sink(errors)
        try process.run()
        return process
    }

    /// What a started process has written to `log` once it says `text`, or has exited, or 20 s have
    /// passed: a test starts what it tests once the process is ready, rather than after a sleep.
    static func waitUntil(_ process: Process, says text: String, in log: URL) async throws -> String {
        func written() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        for _ in 0..<400 where !written().contains(text) && process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        return written()
    }

    /// Runs `program`; `environment` adds to (or overrides) this process's environment.
    static func runProgram(_ program: URL, _ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:]) async throws -> Result {
        let finished = try await ChildProcess.run(program, arguments, in: folder,
                                                  environment: environment.isEmpty ? nil : ChildProcess.environment(adding: environment))
        return Result(exitCode: finished.status, standardOutput: finished.outputText, standardError: finished.errorText)
    }

    /// Runs a system tool (git, sha256sum, b3sum) by name. When GRACE_BACKUP_REQUIRE_TOOLS is set
    /// (scripts/test sets it) a missing tool fails the test; otherwise the test says what is missing.
    static func system(_ name: String, _ arguments: [String], in folder: URL? = nil) async throws -> Result {
        guard let path = ["/usr/bin", "/bin", "/usr/local/bin"].map({ "\($0)/\(name)" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw MissingTool(name: name)
        }
        return try await runProgram(URL(fileURLWithPath: path), arguments, in: folder)
    }
}

struct MissingTool: Error, CustomStringConvertible {
    let name: String
    var description: String { "\(name) is missing: apt-get install \(name == "b3sum" ? "b3sum" : name), or run scripts/test" }
}

/// A temporary folder removed when the test ends.
final class Scratch: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("grace-backup-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ relativePath: String, _ bytes: [UInt8]) throws {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
    }
}

extension Process {
    /// Waits for the process without holding a thread (`waitUntilExit` spins a run loop on one of
    /// the few threads every test shares); after `limit`, kills it and fails the test.
    func exit(within limit: Duration) async throws {
        let started = ContinuousClock.now
        while isRunning, ContinuousClock.now - started < limit { try await Task.sleep(for: .milliseconds(50)) }
        if isRunning {
            Issue.record("\(executableURL?.lastPathComponent ?? "process") \(arguments ?? []) did not exit within \(limit)")
            kill(processIdentifier, SIGKILL)
            while isRunning { try await Task.sleep(for: .milliseconds(50)) }
        }
    }
}
