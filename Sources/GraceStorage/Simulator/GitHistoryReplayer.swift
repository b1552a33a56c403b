import Foundation
import GraceModel

/// Replays a Git repository's first-parent history of its current branch as promotions on a
/// Grace repository's `main`: one Assign-style promotion per commit, the commit's tree as the
/// root directory version, author time and message carried over.
///
/// Git modes Grace has no word for are mapped, not refused: an executable file is a plain
/// file, a symbolic link a file holding its target, and a submodule is left out.
public struct GitHistoryReplayer: Sendable {
    let writer: GraceWriter
    let clock: SimulatedClock
    let gitRepository: URL

    public init(writer: GraceWriter, clock: SimulatedClock, gitRepository: URL) {
        self.writer = writer
        self.clock = clock
        self.gitRepository = gitRepository
    }

    public struct Report: Sendable, Codable, Hashable {
        public var repositoryID: String
        public var commits = 0
        public var skippedSubmodules = 0
        public var storedBytes: Int64 = 0
    }

    struct Commit {
        let id: String
        let authorTime: Instant
        let message: String
    }

    public func run(repositoryName: String, progress: ProgressSink? = nil) async throws -> Report {
        let started = ContinuousClock.now
        let commits = try readFirstParentHistory()
        guard let first = commits.first else { throw GitReplayFailure(repository: gitRepository.path, message: "has no commits on its current branch") }
        clock.set(first.authorTime)
        let owner = try await writer.createOwner(name: "git-import")
        let organization = try await writer.createOrganization(name: "git-import", owner: owner)
        let (repository, main) = try await writer.createRepository(name: repositoryName, organization: organization)
        var report = Report(repositoryID: repository.repositoryID.description)
        progress?.yield(.phaseStarted(.replayingGit, totalItems: commits.count, totalBytes: nil))
        let blobs = try GitBlobReader(repository: gitRepository)
        defer { blobs.close() }
        var known: [String: FileVersion] = [:]  // "<blob id> <path>" → the file version stored for it
        for commit in commits {
            var tree = WorkingTree()
            for entry in try listTree(commit.id) {
                if entry.type == "commit" { report.skippedSubmodules += 1; continue }
                guard entry.type == "blob" else { continue }
                try SafePath.validate(entry.path, for: .filesystem)
                if let version = known["\(entry.objectID) \(entry.path)"] {
                    tree.files[entry.path] = .stored(version)
                } else {
                    tree.files[entry.path] = .content(try blobs.read(entry.objectID))
                }
            }
            // Grace stamps a reference when it records it, so times only move forward, even where Git's author dates do not.
            clock.set(max(commit.authorTime, clock.now().adding(seconds: 0.001)))
            let recorded = try await writer.assign(tree, to: main.branchID, message: commit.message)
            for entry in try listTree(commit.id) where entry.type == "blob" {
                if let version = recorded.files[entry.path] { known["\(entry.objectID) \(entry.path)"] = version }
            }
            report.commits += 1
            report.storedBytes += recorded.uploadedBytes
            progress?.yield(.advanced(items: 1, bytes: recorded.uploadedBytes))
        }
        progress?.yield(.phaseFinished(.replayingGit, elapsedSeconds: (ContinuousClock.now - started).seconds))
        return report
    }

    func readFirstParentHistory() throws -> [Commit] {
        let output = try git(["log", "--first-parent", "--reverse", "--format=%H%x00%at%x00%B%x1e", "HEAD"])
        return output.split(separator: 0x1e).compactMap { record in
            let fields = record.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return nil }
            let id = String(decoding: fields[0], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let seconds = Int64(String(decoding: fields[1], as: UTF8.self)) else { return nil }
            var message = String(decoding: fields[2], as: UTF8.self)
            while message.hasSuffix("\n") { message.removeLast() }
            return Commit(id: id, authorTime: Instant(secondsSinceEpoch: seconds), message: message)
        }
    }

    struct TreeEntry {
        let mode: String
        let type: String
        let objectID: String
        let path: String
    }

    func listTree(_ commit: String) throws -> [TreeEntry] {
        try git(["ls-tree", "-r", "-z", "--full-tree", commit]).split(separator: 0).compactMap { line in
            guard let tab = line.firstIndex(of: 9) else { return nil }
            let header = String(decoding: line[line.startIndex..<tab], as: UTF8.self).split(separator: " ")
            guard header.count == 3 else { return nil }
            return TreeEntry(mode: String(header[0]), type: String(header[1]), objectID: String(header[2]),
                             path: String(decoding: line[(tab + 1)...], as: UTF8.self))
        }
    }

    private func git(_ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", gitRepository.path] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw GitReplayFailure(repository: gitRepository.path, message: "cannot run git: \(error)")
        }
        let errorBytes = ChildOutput(errors)
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorText = String(decoding: errorBytes.wait(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw GitReplayFailure(repository: gitRepository.path, message: "git \(arguments.first ?? "") failed: \(errorText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return Array(bytes)
    }
}

/// Reads blobs through one long-running `git cat-file --batch`.
final class GitBlobReader {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered: [UInt8] = []

    init(repository: URL) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", repository.path, "cat-file", "--batch"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func read(_ objectID: String) throws -> [UInt8] {
        input.fileHandleForWriting.write(Data((objectID + "\n").utf8))
        let header = String(decoding: try readLine(), as: UTF8.self).split(separator: " ")
        guard header.count == 3, header[1] == "blob", let size = Int(header[2]) else {
            throw GitReplayFailure(repository: "", message: "git cat-file could not read blob \(objectID)")
        }
        let content = try readExactly(size)
        _ = try readExactly(1)  // the newline after the content
        return content
    }

    func close() {
        try? input.fileHandleForWriting.close()  // closing our end of a pipe; git exits on EOF
        process.waitUntilExit()
    }

    private func fill() throws {
        let chunk = output.fileHandleForReading.availableData
        guard !chunk.isEmpty else { throw GitReplayFailure(repository: "", message: "git cat-file ended early") }
        buffered += chunk
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let newline = buffered.firstIndex(of: 10) {
                let line = Array(buffered[..<newline])
                buffered.removeFirst(newline + 1)
                return line
            }
            try fill()
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffered.count < count { try fill() }
        let bytes = Array(buffered[..<count])
        buffered.removeFirst(count)
        return bytes
    }
}

public struct GitReplayFailure: BackupFailure {
    public let repository: String
    public let message: String
    public var kind: FailureKind { .invalidInput }
    public var description: String { "git repository \(repository) \(message)" }
}
