import Foundation

/// The AWS CLI (`python3 -m awscli`, from PyPI): the independent client the tests check against.
enum AWSCLI {
    /// Runs `python3 -m awscli --endpoint-url ENDPOINT ARGUMENTS` with the test credentials.
    static func run(_ arguments: [String], endpoint: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "awscli", "--endpoint-url", endpoint.absoluteString] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = "testing"
        environment["AWS_SECRET_ACCESS_KEY"] = "testing"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment["AWS_CONFIG_FILE"] = "/dev/null"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw AWSCLIFailed(arguments: arguments, output: text) }
        return text
    }

    struct AWSCLIFailed: Error, CustomStringConvertible {
        let arguments: [String]
        let output: String
        var description: String { "aws \(arguments.joined(separator: " ")) failed: \(output)" }
    }
}
