import Foundation
import GRDB
import GraceBackup
import GraceModel
import GraceStorage
import Testing

struct DeploymentCheckerTests {
    /// A small simulated deployment in its own folder.
    struct Fixture {
        let folder: URL
        let deployment: Deployment

        init() async throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("checker-\(UUID().uuidString)")
            let clock = SimulatedClock(start: Instant(secondsSinceEpoch: 1_767_225_600))
            deployment = try await DeploymentLocation(folder: folder).open(.create, now: { clock.now() })
            var options = SimulationOptions()
            options.files = 80
            options.operations = 30
            options.binaryShare = 0.3
            _ = try await Simulator(writer: GraceWriter(deployment: deployment, now: { clock.now() }, ids: .seeded(5)), clock: clock, options: options).run()
        }

        func check() async throws -> CheckReport { try await DeploymentChecker(deployment: deployment).check() }

        /// The stored file of some file version: text (gzip) or binary (raw).
        func objectFile(binary: Bool) async throws -> (ObjectKey, URL) {
            let view = try await deployment.database.openReadView(.latest)
            for directory in try await view.all(DirectoryVersion.self, .directoryVersion) {
                for file in directory.files where file.isBinary == binary && file.size > 100 {
                    let key = try ObjectKey.fileVersion(file, in: directory.repositoryID)
                    return (key, deployment.location.folder!.appendingPathComponent(DeploymentLocation.objectsFolderName).appendingPathComponent(key.rawValue))
                }
            }
            throw CancellationError()
        }

        func sql(_ statement: String) throws {
            let queue = try DatabaseQueue(path: DeploymentLocation.databasePath(in: deployment.location.folder!))
            try queue.write { try $0.execute(sql: statement) }
        }
    }

    @Test func aSimulatedDeploymentIsClean() async throws {
        let fixture = try await Fixture()
        let report = try await fixture.check()
        #expect(report.problems == [])
        #expect(report.repositories == 2 && report.references > 10 && report.objects > 50 && report.bytesHashed > 0)
    }

    @Test func aFlippedByteInABinaryObjectIsNamed() async throws {
        let fixture = try await Fixture()
        let (key, file) = try await fixture.objectFile(binary: true)
        var bytes = try Array(Data(contentsOf: file))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: file)
        let problems = try await fixture.check().problems
        #expect(problems.map(\.kind) == [.objectHashMismatch])
        #expect(problems.first?.entity == key.rawValue)
    }

    @Test func aFlippedByteInATextObjectIsNamed() async throws {
        let fixture = try await Fixture()
        let (key, file) = try await fixture.objectFile(binary: false)
        var bytes = try Array(Data(contentsOf: file))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: file)
        let problems = try await fixture.check().problems
        #expect(problems.count == 1)
        #expect([.objectUndecodable, .objectHashMismatch].contains(problems.first?.kind))
        #expect(problems.first?.entity == key.rawValue)
    }

    @Test func aTruncatedGzipObjectAndAMissingObjectAreNamed() async throws {
        let fixture = try await Fixture()
        let (truncatedKey, truncated) = try await fixture.objectFile(binary: false)
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count - 10).write(to: truncated)
        let (missingKey, missing) = try await fixture.objectFile(binary: true)
        try FileManager.default.removeItem(at: missing)
        let problems = try await fixture.check().problems
        #expect(problems.contains { $0.kind == .objectUndecodable && $0.entity == truncatedKey.rawValue && $0.message.contains("truncated") })
        #expect(problems.contains { $0.kind == .objectMissing && $0.entity == missingKey.rawValue })
    }

    @Test func aWrongSizeAWrongHashAndAnUndecodableDocumentAreNamed() async throws {
        let fixture = try await Fixture()
        let view = try await fixture.deployment.database.openReadView(.latest)
        let directories = try await view.all(DirectoryVersion.self, .directoryVersion).filter { !$0.files.isEmpty }
        var wrongSize = directories[0]
        wrongSize.size += 1
        var wrongHash = directories[1]
        wrongHash.blake3Hash = String(repeating: "0", count: 64)
        for directory in [wrongSize, wrongHash] {
            let json = String(decoding: try GraceJSON.encode(directory), as: UTF8.self).replacingOccurrences(of: "'", with: "''")
            try fixture.sql("UPDATE directory_versions SET document = '\(json)' WHERE directory_version_id = '\(directory.directoryVersionID)'")
        }
        try fixture.sql("UPDATE directory_versions SET document = '{not json' WHERE directory_version_id = '\(directories[2].directoryVersionID)'")
        let problems = try await fixture.check().problems
        #expect(problems.contains { $0.kind == .sizeMismatch && $0.entity == "DirectoryVersion \(wrongSize.directoryVersionID)" })
        #expect(problems.contains { $0.kind == .directoryHashMismatch && $0.entity == "DirectoryVersion \(wrongHash.directoryVersionID)" })
        #expect(problems.contains { $0.kind == .documentUndecodable && $0.entity == "DirectoryVersion \(directories[2].directoryVersionID)" })
    }

    @Test func checkChangesNothing() async throws {
        let fixture = try await Fixture()
        let before = try await fixture.deployment.database.changes(after: 0, limit: 1_000_000).count
        _ = try await fixture.check()
        #expect(try await fixture.deployment.database.changes(after: 0, limit: 1_000_000).count == before)
    }
}
