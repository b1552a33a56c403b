import ArgumentParser
import GraceStorage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade a deployment's database schema (safe to run again), and record where its objects are.",
        discussion: """
            A PostgreSQL deployment (postgres://user@host:port/database, password from PGPASSWORD) records its objects' \
            location in the database: give it once with --objects. Each schema version is applied in one transaction \
            under the writers' lock, so two migrations at once, or a migration during writes, are safe. A database \
            written by a newer grace-backup is refused (exit 7).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions
    @Option(help: "Where the deployment keeps its objects: a folder, file:///path or s3://bucket/prefix (recorded; required the first time for postgres://).",
            transform: { try StorageLocation(parsing: $0) })
    var objects: StorageLocation?

    struct Report: Encodable {
        let deployment: String
        let database: String
        let schemaVersion: Int
        let objects: String
    }

    func run() async throws {
        let opened = try await deployment.open(.create, objects: objects)
        let objectsAt = opened.objects.location
        let report = Report(deployment: opened.location.description, database: opened.database.location,
                            schemaVersion: opened.database.schemaVersion, objects: objectsAt)
        try global.emit(report) {
            "\(report.deployment): schema version \(report.schemaVersion), objects in \(report.objects)"
        }
    }
}
