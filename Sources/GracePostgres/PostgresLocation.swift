import Foundation
import GraceStorage

/// `postgres://user@host:port/database`: where a PostgreSQL Grace database is. The password comes
/// from `PGPASSWORD` (or, discouraged, the URL); `description` never shows it.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: text), components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw InvalidLocation(text: DeploymentLocation.hidingPassword(text), reason: "is not a postgres://user@host:port/database URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw InvalidLocation(text: DeploymentLocation.hidingPassword(text), reason: "names no host (postgres://user@host:port/database)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw InvalidLocation(text: DeploymentLocation.hidingPassword(text), reason: "names no user (postgres://user@host:port/database)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw InvalidLocation(text: DeploymentLocation.hidingPassword(text), reason: "names no database (postgres://user@host:port/database)")
        }
        if let query = components.query, !query.isEmpty {
            throw InvalidLocation(text: DeploymentLocation.hidingPassword(text), reason: "has parameters (\(query)), which this version does not take")
        }
        self.host = host
        port = components.port ?? 5432
        username = user
        password = components.password ?? environment["PGPASSWORD"]
        self.database = database
    }

    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

}
