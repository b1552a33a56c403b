import Foundation
import GraceS3
import Testing

struct AWSCredentialsTests {
    @Test func theEnvironmentComesFirst() throws {
        let credentials = try AWSCredentials.resolve(profile: nil, environment: [
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token", "AWS_PROFILE": "other",
        ])
        #expect(credentials == AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token"))
        #expect(!credentials.description.contains("secret") || credentials.description.contains("secret hidden"))
        #expect(!"\(credentials)".contains("token,") && !"\(credentials)".contains("\"secret\""))
    }

    @Test func aNamedProfileIsReadFromTheSharedFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try """
            # a comment
            [default]
            aws_access_key_id = DEFAULTID
            aws_secret_access_key = defaultsecret

            [backup]
            aws_access_key_id=BACKUPID
            aws_secret_access_key = backup/secret+key
            aws_session_token = session
            """.write(to: file, atomically: true, encoding: .utf8)
        let environment = ["AWS_SHARED_CREDENTIALS_FILE": file.path, "AWS_ACCESS_KEY_ID": "ENVID", "AWS_SECRET_ACCESS_KEY": "envsecret"]
        // A profile named by the location wins over the environment, as --profile does for the AWS CLI.
        #expect(try AWSCredentials.resolve(profile: "backup", environment: environment)
            == AWSCredentials(accessKeyID: "BACKUPID", secretAccessKey: "backup/secret+key", sessionToken: "session"))
        #expect(try AWSCredentials.resolve(profile: nil, environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path])
            == AWSCredentials(accessKeyID: "DEFAULTID", secretAccessKey: "defaultsecret"))
        #expect(try AWSCredentials.resolve(profile: nil, environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path, "AWS_PROFILE": "backup"]).accessKeyID == "BACKUPID")
        let failure = #expect(throws: CredentialsFailure.self) {
            try AWSCredentials.resolve(profile: "missing", environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path])
        }
        #expect(failure?.description.contains("has no profile [missing]") == true)
        #expect(failure?.description.contains("secret") == false)
    }

    @Test func noCredentialsAtAllSaysWhereItLooked() {
        let failure = #expect(throws: CredentialsFailure.self) {
            try AWSCredentials.resolve(profile: nil, environment: ["HOME": "/nonexistent-home"])
        }
        #expect(failure?.description.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write a profile in /nonexistent-home/.aws/credentials") == true)
        #expect(throws: CredentialsFailure.self) { try AWSCredentials.resolve(profile: nil, environment: ["AWS_ACCESS_KEY_ID": "AKID"]) }
    }
}
