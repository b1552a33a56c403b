import Foundation
import GraceModel
import GraceStorage

/// The repositories, branches and references one snapshot has that another does not.
public struct SnapshotDiff: Sendable, Codable, Hashable {
    public enum Change: String, Sendable, Codable { case added, removed }

    public struct Entry: Sendable, Codable, Hashable {
        public var change: Change
        public var kind: EntityKind
        public var id: String
        /// The repository or branch name, or the reference's type and text.
        public var name: String
    }

    public var from: String
    public var to: String
    public var entries: [Entry]

    public static func between(_ earlier: SnapshotRecord, and later: SnapshotRecord, in vault: Vault) async throws -> SnapshotDiff {
        let before = try await vault.databaseState(of: earlier)
        let after = try await vault.databaseState(of: later)
        var entries: [Entry] = []
        for kind in [EntityKind.repository, .branch, .reference] {
            let beforeKeys = Set(before.documents.keys.filter { $0.kind == kind })
            let afterKeys = Set(after.documents.keys.filter { $0.kind == kind })
            for key in afterKeys.subtracting(beforeKeys).sorted() { entries.append(Entry(change: .added, kind: kind, id: key.id, name: name(of: kind, after.documents[key]!))) }
            for key in beforeKeys.subtracting(afterKeys).sorted() { entries.append(Entry(change: .removed, kind: kind, id: key.id, name: name(of: kind, before.documents[key]!))) }
        }
        return SnapshotDiff(from: earlier.id, to: later.id, entries: entries)
    }

    static func name(of kind: EntityKind, _ json: String) -> String {
        let data = Data(json.utf8)
        return switch kind {
        case .repository: (try? GraceJSON.decode(Repository.self, from: data))?.repositoryName ?? ""
        case .branch: (try? GraceJSON.decode(Branch.self, from: data))?.branchName ?? ""
        case .reference: (try? GraceJSON.decode(Reference.self, from: data)).map { "\($0.referenceType.rawValue): \($0.referenceText)" } ?? ""
        default: ""
        }
    }
}
