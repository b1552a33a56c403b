import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Names for scratch files and folders that say which process on which machine writes them,
/// `<prefix>-<host>-<pid>-<random>`, so that what a killed process left (SIGKILL and crashes skip
/// every cleanup) is found and removed by a later run instead of piling up.
public enum ScratchFiles {
    /// A leftover is removed only when its writer is not running and it has not changed for this
    /// long: the folder may be shared with containers of the same host name whose processes this
    /// one cannot see.
    public static let abandonedAfter: TimeInterval = 3600

    public static func name(_ prefix: String) -> String {
        "\(prefix)-\(host)-\(getpid())-\(String(UInt32.random(in: .min ... .max), radix: 16))"
    }

    /// A new empty file beside `destination`, to be renamed over it once written whole, so that a
    /// failure leaves nothing under that name; those a killed run left beside it go first.
    public static func create(beside destination: URL) throws -> URL {
        let folder = destination.deletingLastPathComponent()
        let prefix = ".\(destination.lastPathComponent).partial"
        removeAbandoned(in: folder, prefix: prefix)
        let partial = folder.appendingPathComponent(name(prefix))
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw StorageFailure(.unavailable, .write, location: folder.path, message: "cannot create \(destination.lastPathComponent) there: \(String(cString: strerror(errno)))")
        }
        return partial
    }

    /// Removes from `folder` what `name(prefix)` named for a process of this machine that is gone,
    /// unchanged for `abandonedAfter`; returns the names removed. Failures are left for a later run.
    @discardableResult
    public static func removeAbandoned(in folder: URL, prefix: String, now: Date = Date()) -> [String] {
        let ours = "\(prefix)-\(host)-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { name in
            guard name.hasPrefix(ours), let pid = Int32(name.dropFirst(ours.count).prefix { $0 != "-" }), !isRunning(pid) else { return false }
            let path = folder.appendingPathComponent(name).path
            guard now.timeIntervalSince(lastChange(path)) > abandonedAfter else { return false }
            return (try? FileManager.default.removeItem(atPath: path)) != nil
        }
    }

    /// The host name with the separator taken out, so a name reads back unambiguously.
    static let host: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        // Byte by byte: `replacingOccurrences` bridges to NSString, whose first use walks the runtime's
        // conformance records, on every start of every command.
        let name = buffer.prefix { $0 != 0 }.map { $0 == CChar(UInt8(ascii: "-")) || $0 == CChar(UInt8(ascii: "/")) ? UInt8(ascii: "_") : UInt8(bitPattern: $0) }
        return name.isEmpty ? "host" : String(decoding: name, as: UTF8.self)
    }()

    static func isRunning(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// The newest modification time of a file, or of a folder and what is directly in it (a folder's
    /// own time does not change while a file in it grows).
    static func lastChange(_ path: String) -> Date {
        func modified(_ path: String) -> Date {
            (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantFuture
        }
        let inside = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return inside.map { modified(path + "/" + $0) }.reduce(modified(path), max)
    }
}
