import Foundation
import Logging
import PostgresNIO
import Testing

/// The real PostgreSQL 15 server scripts/test starts (GRACE_POSTGRES_TEST_URL, password in
/// PGPASSWORD); each test makes a database of its own on it.
public enum PostgresTestServer {
    /// `postgres://user@host:port/<new database>`, or nil when no server was started (which fails
    /// the test when scripts/test asked for every tool).
    public static func newDatabaseURL() async throws -> String? {
        guard let text = ProcessInfo.processInfo.environment["GRACE_POSTGRES_TEST_URL"], var components = URLComponents(string: text) else {
            if ProcessInfo.processInfo.environment["GRACE_BACKUP_REQUIRE_TOOLS"] != nil {
                Issue.record("GRACE_POSTGRES_TEST_URL is not set: scripts/test starts PostgreSQL and sets it")
            }
            return nil
        }
        let name = "grace_\(UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await query("CREATE DATABASE \(name)", in: text)
        components.path = "/\(name)"
        return components.string
    }

    static func connect(_ url: String, password: String?) async throws -> PostgresConnection {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw PostgresError.protocol("not a postgres:// URL: \(url)")
        }
        let configuration = PostgresConnection.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                             password: password ?? ProcessInfo.processInfo.environment["PGPASSWORD"],
                                                             database: String(components.path.dropFirst()), tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "tests"))
    }

    /// Runs one statement on a test database (to inspect or damage it as a test needs) and returns
    /// its rows' first column as text.
    @discardableResult
    public static func query(_ sql: String, in url: String, password: String? = nil) async throws -> [String?] {
        let connection = try await connect(url, password: password)
        do {
            var values: [String?] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "tests")) {
                values.append(try row.first.flatMap { cell in try cell.decode(String?.self) })
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A connection that runs `statements` in an open transaction and keeps it open (holding
    /// whatever locks they took) until `release`, or until the server goes.
    public static func holding(_ statements: [String], in url: String, password: String? = nil) async throws -> HeldTransaction {
        let connection = try await connect(url, password: password)
        try await connection.query("BEGIN", logger: Logger(label: "tests"))
        for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "tests")) }
        return HeldTransaction(connection: connection)
    }

    public final class HeldTransaction: Sendable {
        let connection: PostgresConnection
        init(connection: PostgresConnection) { self.connection = connection }
        public func release() async { try? await connection.close() }
    }
}
