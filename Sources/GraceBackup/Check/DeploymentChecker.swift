import Deflate
import Foundation
import GraceModel
import GraceStorage

/// The closure check of a live deployment, as of one consistent database position: every
/// reference resolves to a root whose hashes match it; every directory version's children
/// exist and its size and both hashes recompute; every file version's object exists, decodes
/// and hashes to both of its hashes. It never writes.
public struct DeploymentChecker: Sendable {
    public let deployment: Deployment
    /// How many objects are read and hashed at once.
    public let concurrency: Int

    public init(deployment: Deployment, concurrency: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)) {
        self.deployment = deployment
        self.concurrency = concurrency
    }

    public func check(progress: ProgressSink? = nil) async throws -> CheckReport {
        let started = ContinuousClock.now
        let view = try await deployment.database.openReadView(.snapshot)
        var report = CheckReport(deployment: deployment.location.description, position: view.position)

        // Directory versions are checked on this task while readers hash the objects they name,
        // as they are found: the hashing starts at once instead of after the metadata pass.
        progress?.yield(.phaseStarted(.checkingObjects, totalItems: nil, totalBytes: nil))
        let (discovered, discoveries) = AsyncStream.makeStream(of: (key: ObjectKey, file: FileVersion).self)
        async let objectOutcome = checkObjects(discovered, progress: progress)
        var seen: Set<ObjectKey> = []
        do {
            for document in try await view.documents(of: .repository, in: nil) {
                guard let repository = decode(Repository.self, document, into: &report) else { continue }
                report.repositories += 1
                try await checkRepository(repository, view: view, report: &report) { key, file in
                    if seen.insert(key).inserted { discoveries.yield((key, file)) }
                }
            }
        } catch {
            discoveries.finish()
            _ = await objectOutcome
            throw error
        }
        discoveries.finish()
        let (problems, bytes) = await objectOutcome
        report.objects = seen.count
        report.problems += problems
        report.bytesHashed = bytes
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        progress?.yield(.phaseFinished(.checkingObjects, elapsedSeconds: report.elapsedSeconds))
        return report
    }

    private func checkRepository(_ repository: Repository, view: any GraceReadView, report: inout CheckReport,
                                 found: (ObjectKey, FileVersion) -> Void) async throws {
        let repositoryID = repository.repositoryID
        var directories: [DirectoryVersionID: DirectoryVersion] = [:]
        for document in try await view.documents(of: .directoryVersion, in: repositoryID) {
            if let directory = decode(DirectoryVersion.self, document, into: &report) { directories[directory.directoryVersionID] = directory }
        }
        report.directoryVersions += directories.count
        for document in try await view.documents(of: .branch, in: repositoryID) where decode(Branch.self, document, into: &report) != nil {
            report.branches += 1
        }
        for document in try await view.documents(of: .reference, in: repositoryID) {
            guard let reference = decode(Reference.self, document, into: &report) else { continue }
            report.references += 1
            let entity = "Reference \(reference.referenceID)"
            guard let root = directories[reference.directoryID] else {
                report.problems.append(CheckProblem(.referenceDangling, entity: entity, expected: "DirectoryVersion \(reference.directoryID)", actual: "none",
                                                    message: "its root directory version does not exist"))
                continue
            }
            if root.relativePath != DirectoryVersion.rootPath {
                report.problems.append(CheckProblem(.referenceDangling, entity: entity, path: root.relativePath, expected: ".", actual: root.relativePath,
                                                    message: "its DirectoryId is not a root directory version"))
            }
            if root.hashes != reference.hashes {
                report.problems.append(CheckProblem(.referenceHashMismatch, entity: entity, path: root.relativePath,
                                                    expected: root.hashes.description, actual: reference.hashes.description,
                                                    message: "its hashes differ from its root directory version's"))
            }
        }
        for directory in directories.values.sorted(by: { $0.directoryVersionID < $1.directoryVersionID }) {
            checkDirectory(directory, among: directories, report: &report, found: found)
        }
    }

    private func checkDirectory(_ directory: DirectoryVersion, among directories: [DirectoryVersionID: DirectoryVersion],
                                report: inout CheckReport, found: (ObjectKey, FileVersion) -> Void) {
        let entity = "DirectoryVersion \(directory.directoryVersionID)"
        let path = directory.relativePath
        if !SafePath.isSafe(path, for: .storage, allowRoot: true) {
            report.problems.append(CheckProblem(.unsafePath, entity: entity, path: path, message: unsafeReason(path, allowRoot: true)))
        }
        var children: [DirectoryChild] = []
        var complete = true
        for childID in directory.directories {
            guard let child = directories[childID] else {
                complete = false
                report.problems.append(CheckProblem(.childMissing, entity: entity, path: path, expected: "DirectoryVersion \(childID)", actual: "none",
                                                    message: "a child directory version does not exist"))
                continue
            }
            if SafePath.parent(of: child.relativePath) != path || child.relativePath == DirectoryVersion.rootPath {
                report.problems.append(CheckProblem(.childPathMismatch, entity: entity, path: path, expected: "a child of \(path)", actual: child.relativePath,
                                                    message: "child directory \(childID) is not inside this directory"))
            }
            children.append(DirectoryChild(directory: child))
        }
        var size: Int64 = 0
        for file in directory.files {
            size += file.size
            children.append(DirectoryChild(file: file))
            if !SafePath.isSafe(file.relativePath, for: .storage) {
                report.problems.append(CheckProblem(.unsafePath, entity: entity, path: file.relativePath, message: unsafeReason(file.relativePath, allowRoot: false)))
                continue
            }
            if SafePath.parent(of: file.relativePath) != path {
                report.problems.append(CheckProblem(.childPathMismatch, entity: entity, path: file.relativePath, expected: "a file in \(path)",
                                                    actual: file.relativePath, message: "a file version is not inside this directory"))
            }
            guard file.hashes.isWellFormed else {
                report.problems.append(CheckProblem(.malformedHash, entity: entity, path: file.relativePath, expected: "64 lowercase hex digits each",
                                                    actual: file.hashes.description, message: "a file version's hashes are not full hashes"))
                continue
            }
            guard file.contentReference.kind == .wholeFileContent else {
                report.problems.append(CheckProblem(.unsupported, entity: entity, path: file.relativePath,
                                                    message: "manifest-backed large files are not supported by grace-backup yet; not checked"))
                continue
            }
            // The path passed SafePath above, so the key is valid.
            if let key = try? ObjectKey.fileVersion(file, in: directory.repositoryID) { found(key, file) }
        }
        if size != directory.size {
            report.problems.append(CheckProblem(.sizeMismatch, entity: entity, path: path, expected: String(size), actual: String(directory.size),
                                                message: "Size is not the sum of the sizes of its files"))
        }
        guard complete else { return }
        let recomputed = DirectoryHasher.hashes(relativePath: path, children: children)
        if recomputed != directory.hashes {
            report.problems.append(CheckProblem(.directoryHashMismatch, entity: entity, path: path, expected: recomputed.description,
                                                actual: directory.hashes.description, message: "its hashes do not recompute"))
        }
    }

    /// Reads and hashes every object as it arrives, `concurrency` at a time.
    private func checkObjects(_ objects: AsyncStream<(key: ObjectKey, file: FileVersion)>, progress: ProgressSink?) async -> ([CheckProblem], Int64) {
        var problems: [CheckProblem] = []
        var bytes: Int64 = 0
        await withTaskGroup(of: ([CheckProblem], Int64).self) { group in
            func collect(_ found: [CheckProblem], _ hashed: Int64) {
                problems += found
                bytes += hashed
                progress?.yield(.advanced(items: 1, bytes: hashed))
                for problem in found { progress?.yield(.note(problem.description)) }
            }
            var inFlight = 0
            for await (key, file) in objects {
                if inFlight == concurrency, let (found, hashed) = await group.next() {
                    collect(found, hashed)
                    inFlight -= 1
                }
                group.addTask { await checkObject(key, file) }
                inFlight += 1
            }
            for await (found, hashed) in group { collect(found, hashed) }
        }
        return (problems.sorted { $0.entity < $1.entity }, bytes)
    }

    private func checkObject(_ key: ObjectKey, _ file: FileVersion) async -> ([CheckProblem], Int64) {
        let entity = key.rawValue
        do {
            let contents = try await GraceBlob.readForVerification(key, isBinary: file.isBinary, expectedSizeBytes: file.size, from: deployment.objects)
            var problems: [CheckProblem] = []
            if contents.sizeBytes != file.size {
                problems.append(CheckProblem(.objectSizeMismatch, entity: entity, path: file.relativePath, expected: String(file.size),
                                             actual: String(contents.sizeBytes), message: "the object's uncompressed length differs from the file version's Size"))
            }
            if contents.hashes != file.hashes {
                problems.append(CheckProblem(.objectHashMismatch, entity: entity, path: file.relativePath, expected: file.hashes.description,
                                             actual: contents.hashes.description, message: "the object's bytes do not hash to the file version's hashes"))
            }
            return (problems, contents.sizeBytes)
        } catch let failure as StorageFailure where failure.reason == .notFound {
            return ([CheckProblem(.objectMissing, entity: entity, path: file.relativePath, message: "the object does not exist")], 0)
        } catch let error as DeflateError {
            return ([CheckProblem(.objectUndecodable, entity: entity, path: file.relativePath, message: "text is stored gzip-compressed, but \(error)")], 0)
        } catch {
            return ([CheckProblem(.objectUnreadable, entity: entity, path: file.relativePath, message: "\(error)")], 0)
        }
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ document: StoredDocument, into report: inout CheckReport) -> Value? {
        do {
            return try GraceJSON.decode(type, from: document.json)
        } catch {
            report.problems.append(CheckProblem(.documentUndecodable, entity: "\(document.kind.rawValue) \(document.id)", message: "the stored document does not decode: \(error)"))
            return nil
        }
    }

    private func unsafeReason(_ path: String, allowRoot: Bool) -> String {
        do {
            try SafePath.validate(path, for: .storage, allowRoot: allowRoot)
            return "safe"
        } catch {
            return error.description
        }
    }
}
