import Foundation

/// Runs the real `git` for the tests (shared by the test targets): every format we write is checked by Git itself.
public enum GitTool {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    @discardableResult
    public static func run(_ arguments: [String], in folder: URL? = nil, input: Data? = nil) async throws -> String {
        let finished = try await ChildProcess.run(git, arguments, in: folder, environment: environment, input: input)
        guard finished.status == 0 else {
            throw Failed(description: "git \(arguments.joined(separator: " ")) exited \(finished.status): \(finished.errorText)")
        }
        return finished.outputText
    }

    /// Both streams, whatever the exit status.
    public static func runAllowingFailure(_ arguments: [String], in folder: URL? = nil) async throws -> (status: Int32, output: String) {
        let finished = try await ChildProcess.run(git, arguments, in: folder, environment: environment, mergingErrors: true)
        return (finished.status, finished.outputText)
    }

    private static let git = URL(fileURLWithPath: "/usr/bin/git")

    /// A fixed identity and no system or user configuration, so every machine's git behaves alike.
    private static let environment = ChildProcess.environment(adding: [
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory(),
    ])
}
