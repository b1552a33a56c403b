import Foundation
import GraceStorage
import Testing

struct ScratchFilesTests {
    /// A process id that was just in use and is no longer.
    static func deadProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func onlyWhatADeadWriterOfThisMachineLeftLongAgoIsRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scratch-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let mine = ScratchFiles.name("put")
        let host = String(mine.dropFirst("put-".count).split(separator: "-").dropLast(2).joined(separator: "-"))
        #expect(mine.hasPrefix("put-\(host)-\(getpid())-"), "\(mine)")
        let dead = try Self.deadProcessID()
        let longAgo = Date().addingTimeInterval(-2 * ScratchFiles.abandonedAfter)
        func make(_ name: String, folder isFolder: Bool = false, modified: Date) throws {
            let path = folder.appendingPathComponent(name).path
            if isFolder {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } else {
                _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
            }
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        try make("put-\(host)-\(dead)-1", modified: longAgo)                     // removed
        try make("put-\(host)-\(dead)-2", folder: true, modified: longAgo)       // removed, a folder
        try make("put-\(host)-\(dead)-3", modified: Date())                      // recent: kept
        try make("put-\(host)-\(getpid())-4", modified: longAgo)                 // its writer runs: kept
        try make("put-elsewhere\(host)-\(dead)-5", modified: longAgo)            // another machine's: kept
        try make("other-\(host)-\(dead)-6", modified: longAgo)                   // another prefix: kept
        try make("put-\(host)-\(dead)-7", folder: true, modified: longAgo)       // a file inside still grows: kept
        try make("put-\(host)-\(dead)-7/bundle", modified: Date())
        try FileManager.default.setAttributes([.modificationDate: longAgo], ofItemAtPath: folder.appendingPathComponent("put-\(host)-\(dead)-7").path)

        let removed = ScratchFiles.removeAbandoned(in: folder, prefix: "put")
        #expect(Set(removed) == ["put-\(host)-\(dead)-1", "put-\(host)-\(dead)-2"])
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(left == ["other-\(host)-\(dead)-6", "put-\(host)-\(dead)-3", "put-\(host)-\(dead)-7", "put-\(host)-\(getpid())-4", "put-elsewhere\(host)-\(dead)-5"].sorted())
        #expect(ScratchFiles.removeAbandoned(in: folder.appendingPathComponent("missing"), prefix: "put").isEmpty)
    }
}
