// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Docket",
    // Linux only (no `platforms`): the store and the terminal code call Glibc directly (open,
    // write, flock) and link Debian's libsqlite3-dev and libreadline-dev.
    products: [
        .executable(name: "docket", targets: ["docket"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        // Debian's libsqlite3-dev, reached through a tiny shim header.
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Debian's libreadline-dev; its globals are reached through static inline accessors.
        .systemLibrary(
            name: "CReadline",
            providers: [.apt(["libreadline-dev"])]
        ),
        // Pure core: domain, utility, queue ordering, statistics. No IO, no clock, no unseeded randomness.
        .target(name: "DocketCore"),
        // The only code that speaks SQL: SQLite through our own thin wrapper, PostgreSQL through postgres-nio.
        .target(
            name: "DocketStore",
            dependencies: ["DocketCore", "CSQLite", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        // Commands, console seam, rendering.
        .target(
            name: "DocketCommands",
            dependencies: [
                "DocketCore", "DocketStore", "CReadline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(name: "docket", dependencies: ["DocketCommands"]),
        // Test support in two layers, so the core tests link neither SQLite nor readline: clocks,
        // scratch directories and fixtures on the core alone; running commands on top of it.
        .target(name: "DocketTestSupport", dependencies: ["DocketCore"]),
        .target(name: "DocketCommandTestSupport", dependencies: ["DocketCore", "DocketCommands", "DocketTestSupport"]),
        .testTarget(name: "DocketCoreTests", dependencies: ["DocketCore", "DocketTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DocketStoreTests", dependencies: ["DocketStore", "DocketTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "DocketCommandsTests",
            dependencies: [
                "DocketCommands", "DocketStore", "DocketTestSupport", "DocketCommandTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
