import Foundation
import Testing

/// A PostgreSQL 15 cluster of a test's own, for tests that stop or restart the server (which the
/// shared one, used by tests running alongside, must never see). Run as the `postgres` user,
/// as the server requires; scripts/test runs as root, which can. Removed when released.
public final class PrivatePostgresCluster: Sendable {
    public let port: Int
    public let folder: URL
    let password: String
    static let binaries = "/usr/lib/postgresql/15/bin"

    /// A new running cluster; nil (a recorded issue when scripts/test asked for every tool) when
    /// PostgreSQL or the postgres user is not there.
    public static func start() async throws -> PrivatePostgresCluster? {
        guard FileManager.default.isExecutableFile(atPath: "\(binaries)/initdb"), getuid() == 0 else {
            if ProcessInfo.processInfo.environment["GRACE_BACKUP_REQUIRE_TOOLS"] != nil {
                Issue.record("a private PostgreSQL cluster needs \(binaries) and root (to run it as the postgres user)")
            }
            return nil
        }
        let cluster = try await onAThreadOfItsOwn { try PrivatePostgresCluster() }
        try await cluster.startServer()
        return cluster
    }

    private init() throws {
        folder = URL(fileURLWithPath: "/tmp/grace-private-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        password = "private-\(UUID().uuidString.prefix(8))"
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        close(socket)
        let passwordFile = folder.appendingPathComponent("pw")
        try Data("\(password)\n".utf8).write(to: passwordFile)
        try Self.runAsPostgres("chown", ["-R", "postgres", folder.path], asRoot: true)
        try Self.runAsPostgres("\(Self.binaries)/initdb", ["-D", folder.appendingPathComponent("data").path, "-U", "grace", "--pwfile=\(passwordFile.path)",
                                                           "--auth=scram-sha-256", "-E", "UTF8"])
    }

    /// `postgres://grace@127.0.0.1:<port>/postgres`; the password is `environment["PGPASSWORD"]`.
    public var url: String { "postgres://grace@127.0.0.1:\(port)/postgres" }
    public var environment: [String: String] { ["PGPASSWORD": password] }

    public func startServer() async throws {
        try await onAThreadOfItsOwn { [self] in try startServerWaiting() }
    }

    /// Stops at once, as a crash or a failover would (`-m immediate`).
    public func stopServer() async throws {
        try await onAThreadOfItsOwn { [self] in try stopServerWaiting() }
    }

    private func startServerWaiting() throws {
        try Self.runAsPostgres("\(Self.binaries)/pg_ctl", ["-D", folder.appendingPathComponent("data").path, "-l", folder.appendingPathComponent("log").path, "-w",
                                                          "-o", "-h 127.0.0.1 -p \(port) -k \(folder.path) -c fsync=off", "start"])
    }

    private func stopServerWaiting() throws {
        try Self.runAsPostgres("\(Self.binaries)/pg_ctl", ["-D", folder.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
    }

    /// Stops the server at once and starts it again `pause` later, timed on a thread of its own:
    /// the tests' tasks share as many threads as there are cores, and another test's blocking wait
    /// can hold them all for seconds, which would stretch a short outage into a long one.
    public func restart(after pause: Duration) async throws -> Restart {
        try await stopServer()
        let restart = Restart()
        Thread { [self] in
            Thread.sleep(forTimeInterval: pause / .seconds(1))
            restart.finish(Result { try self.startServerWaiting() })
        }.start()
        return restart
    }

    /// A restart under way; `serving()` returns once the server is back (or throws why not).
    public final class Restart: @unchecked Sendable {
        // Guarded by `lock`.
        private var outcome: Result<Void, any Error>?
        private let lock = NSLock()

        func finish(_ result: Result<Void, any Error>) { lock.withLock { outcome = result } }

        public func serving() async throws {
            while true {
                if let outcome = lock.withLock({ outcome }) { return try outcome.get() }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    deinit {
        try? stopServerWaiting()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Spawns and reaps the program itself: Foundation's `Process` sometimes never reaps a
    /// `runuser` whose command leaves a daemon behind (pg_ctl start), and would wait forever.
    static func runAsPostgres(_ program: String, _ arguments: [String], asRoot: Bool = false) throws {
        let argv = asRoot ? [program] + arguments : ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for descriptor: Int32 in [1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0) }
        // Nothing else of ours goes with it: the server outlives the call, and an inherited end of
        // some test's pipe would keep that test reading forever (it hung the whole suite once).
        // glibc declares posix_spawn_file_actions_addclosefrom_np only under _GNU_SOURCE, which Swift's
        // Glibc module is built without: it is looked up by name (glibc 2.34 and later have it).
        guard let closeFrom = Self.addCloseFrom else { throw ClusterFailure(description: "this C library cannot close descriptors on spawn (glibc 2.34 or later can)") }
        guard closeFrom(&actions, 3) == 0 else { throw ClusterFailure(description: "cannot ask the spawn to close descriptors") }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw ClusterFailure(description: "cannot start \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            throw ClusterFailure(description: "\(program) \(arguments.joined(separator: " ")) failed (status \(status))")
        }
    }

    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    struct ClusterFailure: Error, CustomStringConvertible { let description: String }
}
