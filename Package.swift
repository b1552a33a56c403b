// swift-tools-version:6.1
import PackageDescription

// Heavy dependencies stay out of GraceModel so the hashes and the model build and test fast.
// A concrete generic type's metadata is reached through its accessor, not by demangling its name:
// the runtime checks a demangled type's generic requirements by walking every conformance record of
// the executable (11,000), once per type, about 0.1 ms each on every start. With it, an incremental
// export by a new process walked 51 times instead of 77 (docs/design-decisions.md);
// scripts/lib/release.sh gives the dependencies the same flag.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

// BLAKE3 hashes eight chunks at once in SIMD8<UInt32> lanes; AVX2 makes that about 1.55x faster
// (docs/performance.md). Every x86-64 CPU since 2013 has it; the flag is left out elsewhere.
#if arch(x86_64)
let simdSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let simdSettings: [SwiftSetting] = []
#endif
// The hashes are optimized in debug builds too: unoptimized SIMD code hashes at about 2 MB/s,
// which would make `swift run grace-backup quickstart` and the test suite crawl.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "grace-backup",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "grace-backup", targets: ["GraceBackupCLI"]),
        .library(name: "GraceModel", targets: ["GraceModel"]),
        .library(name: "GraceStorage", targets: ["GraceStorage"]),
        .library(name: "GraceBackup", targets: ["GraceBackup"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "GraceModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings + simdSettings + optimizedInDebug),
        // zlib itself, from the system; Deflate wraps it. compress-nio does not expose where a
        // deflate stream ends, which gzip truncation checks and git packs both need.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "Deflate",
            dependencies: ["CZlib"],
            swiftSettings: strictSettings),
        // Git's object, pack, delta and bundle formats: no Grace in here. Optimized in debug builds
        // like the hashes, since deltas are byte loops.
        .target(
            name: "GraceGit",
            dependencies: ["Deflate", "CFileSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings + optimizedInDebug),
        // The S3 backend: AWS Signature Version 4 (pure, checked against AWS's vectors) and an
        // ObjectStore on async-http-client. Its own target: the HTTP stack is the heaviest build here.
        .target(
            name: "GraceS3",
            dependencies: [
                "GraceStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),
        // The Grace database on a PostgreSQL server (postgres-nio): its own target, like the S3 backend.
        .target(
            name: "GracePostgres",
            dependencies: ["GraceStorage", "GraceModel", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strictSettings),
        // syncfs(2), which Swift's Glibc module does not export: one flush of a whole file system.
        .target(name: "CFileSystem"),
        .target(
            name: "GraceStorage",
            dependencies: [
                "GraceModel", "Deflate", "CFileSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings),
        .target(
            name: "GraceBackup",
            dependencies: ["GraceModel", "GraceStorage", "GraceGit", "Deflate", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings),
        .target(
            name: "GraceBackupTesting",
            dependencies: ["GraceStorage", .product(name: "NIOCore", package: "swift-nio"), .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "GraceBackupCLI",
            dependencies: [
                "GraceModel", "GraceStorage", "GraceBackup", "GraceS3", "GracePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings,
            // Linked with the Swift runtime in (`--static-swift-stdlib`), the executable would export every
            // symbol (the runtime's link arguments say `-export-dynamic`): about 49,000, which the dynamic
            // loader hashes and `dladdr` walks on every start, 2 ms of `--help`'s 15. Nothing loads the
            // executable as a library, so nothing needs them.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])]),
        .testTarget(name: "GraceModelTests", dependencies: ["GraceModel"], swiftSettings: strictSettings),
        .testTarget(name: "DeflateTests", dependencies: ["Deflate"], swiftSettings: strictSettings),
        .testTarget(name: "GraceS3Tests", dependencies: ["GraceS3", "GraceStorage", "GraceBackup", "GraceModel", "GraceBackupTesting", .product(name: "AsyncHTTPClient", package: "async-http-client")], swiftSettings: strictSettings),
        .testTarget(name: "GracePostgresTests", dependencies: ["GracePostgres", "GraceStorage", "GraceModel", "GraceBackup", "GraceBackupTesting"], swiftSettings: strictSettings),
        .testTarget(name: "GraceGitTests", dependencies: ["GraceGit", "Deflate", "GraceBackupTesting"], swiftSettings: strictSettings),
        .testTarget(name: "GraceStorageTests", dependencies: ["GraceStorage", "GraceBackupTesting", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strictSettings),
        .testTarget(name: "GraceBackupTests", dependencies: ["GraceBackup", "GraceStorage", "GraceBackupTesting", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strictSettings),
        .testTarget(name: "GraceBackupCLITests", dependencies: ["GraceBackupCLI", "GraceBackupTesting"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
