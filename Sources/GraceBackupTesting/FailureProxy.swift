import Foundation

/// Tests/Support/failure-proxy.py in front of an S3 server, refusing, throttling, dropping, truncating or
/// delaying a share of the requests; it exits when this object goes (its standard input closes).
public final class FailureProxy: Sendable {
    let process: Process
    let input: Pipe
    public let endpoint: URL

    /// - Parameter truncatingAbove: every GET answer longer than this many bytes is also cut in half.
    public init(upstream: URL, share: Double, failures: [String], seed: Int = 7, delaySeconds: Double = 2, truncatingAbove: Int? = nil) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Support/failure-proxy.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, upstream.absoluteString, "--share", "\(share)", "--seed", "\(seed)",
                             "--delay", "\(delaySeconds)", "--failures", failures.joined(separator: ","),
                             "--truncate-above", "\(truncatingAbove ?? 0)"]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        // Its standard input is ours to close: it exits at end of file, so it never outlives the test.
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(line) else { throw ProxyDidNotStart(output: line) }
        self.process = process
        self.input = input
        endpoint = URL(string: "http://127.0.0.1:\(port)")!
    }

    /// How many requests the proxy saw, and how many of each failure it injected (read with python3,
    /// as corelibs Foundation has no HTTP client without FoundationNetworking).
    public func stats() async throws -> [String: Int] {
        let fetched = try await ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())",
            endpoint.absoluteString + "/__proxy/stats",
        ])
        return try JSONDecoder().decode([String: Int].self, from: fetched.output)
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.terminate()
    }
}

public struct ProxyDidNotStart: Error { public let output: String }
