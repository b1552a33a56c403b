import ArgumentParser
import GraceBackup
import GraceStorage

struct RepositoriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repositories",
        abstract: "List a deployment's repositories: the ids and branch names `export-bundle`, `import-bundle` and `restore --repository-id` take.",
        discussion: "Each branch with its promotions (the commits an export makes of it) and the newest one's time. Changes nothing.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var deployment: DeploymentOptions

    func run() async throws {
        let listing = try await RepositoryListing.read(try await deployment.open(.readOnly))
        try global.emit(listing) { Self.describe(listing) }
    }

    static func describe(_ listing: RepositoryListing) -> String {
        var lines = ["\(listing.repositories.count) repositories in \(listing.deployment) as of change \(listing.position)"]
        for repository in listing.repositories {
            let deleted = repository.deletedAt.map { " (deleted \($0))" } ?? ""
            lines.append("\(repository.id)  \(repository.owner)/\(repository.organization)/\(repository.name)\(deleted)")
            for branch in repository.branches {
                let isDefault = branch.name == repository.defaultBranch ? " (default)" : ""
                let latest = branch.latestPromotionAt.map { ", newest \($0)" } ?? ""
                lines.append("  \(branch.name)\(isDefault): \(branch.promotions) promotion(s)\(latest)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
