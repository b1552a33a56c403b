import Foundation
import GraceBackupTesting

/// The AWS CLI (`python3 -m awscli`, from PyPI): the independent client the tests check against.
enum AWSCLI {
    /// Runs `python3 -m awscli --endpoint-url ENDPOINT ARGUMENTS` with the test credentials.
    static func run(_ arguments: [String], endpoint: URL) async throws -> String {
        let finished = try await ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-m", "awscli", "--endpoint-url", endpoint.absoluteString] + arguments,
                                                  environment: ChildProcess.environment(adding: [
                                                      "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                                      "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
                                                  ]),
                                                  mergingErrors: true)
        guard finished.status == 0 else { throw AWSCLIFailed(arguments: arguments, output: finished.outputText) }
        return finished.outputText
    }

    struct AWSCLIFailed: Error, CustomStringConvertible {
        let arguments: [String]
        let output: String
        var description: String { "aws \(arguments.joined(separator: " ")) failed: \(output)" }
    }
}
