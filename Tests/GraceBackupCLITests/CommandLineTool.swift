import Foundation
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
    static func run(_ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        try runProgram(executable, arguments, in: folder, environment: environment)
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

    /// Runs `program`; `environment` adds to (or overrides) this process's environment.
    static func runProgram(_ program: URL, _ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let folder { process.currentDirectoryURL = folder }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes while the process runs so neither fills up and blocks it.
        let errorData = LockedData()
        let errorReader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        errorReader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { Thread.sleep(forTimeInterval: 0.01) }
        return Result(exitCode: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                      standardError: String(decoding: errorData.value, as: UTF8.self))
    }

    /// Runs a system tool (git, sha256sum, b3sum) by name. When GRACE_BACKUP_REQUIRE_TOOLS is set
    /// (scripts/test sets it) a missing tool fails the test; otherwise the test says what is missing.
    static func system(_ name: String, _ arguments: [String], in folder: URL? = nil) throws -> Result {
        guard let path = ["/usr/bin", "/bin", "/usr/local/bin"].map({ "\($0)/\(name)" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw MissingTool(name: name)
        }
        return try runProgram(URL(fileURLWithPath: path), arguments, in: folder)
    }
}

struct MissingTool: Error, CustomStringConvertible {
    let name: String
    var description: String { "\(name) is missing: apt-get install \(name == "b3sum" ? "b3sum" : name), or run scripts/test" }
}

final class LockedData: @unchecked Sendable {
    // Guarded by `lock`.
    private var data: Data?
    private let lock = NSLock()
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
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
