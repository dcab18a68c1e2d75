// swift-tools-version: 6.2
import PackageDescription

/// Our own targets build with warnings as errors: the issue asks for no warnings. Through the
/// warning-control setting (tools 6.2), not `unsafeFlags`: SwiftPM refuses a dependency whose
/// targets carry unsafe flags, and applies warning control to the root package only, so another
/// package can depend on ours. Swift 6.2 is also the least the code needs (`nonisolated(nonsending)`).
/// (Cross-module optimization was tried for speed and dropped: with it, a release build of
/// pumpctl crashed on exit while the debug build ran clean, and a miscompiling flag has no place
/// in a pump.)
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]


let package = Package(
    name: "IntrathecalPump",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pumpctl", targets: ["pumpctl"]),
        .executable(name: "pumpd", targets: ["pumpd"]),
        .executable(name: "pump-hil", targets: ["pump-hil"]),
        .executable(name: "pump-bench", targets: ["pump-bench"]),
        .executable(name: "pump-fuzz", targets: ["pump-fuzz"]),
        .library(name: "Controller", targets: ["Controller"]),
        .library(name: "PumpSimulation", targets: ["PumpSimulation"]),
    ],
    traits: [
        .trait(
            name: "LinuxBackend",
            description: "The Linux backend (libgpiod v1 and i2c-dev). On by default; where libgpiod-dev and libi2c-dev are not installed, build with --disable-default-traits."),
        .trait(
            name: "Systemd",
            description: "systemd service notification (READY, WATCHDOG, STOPPING) through libsystemd's sd_notify. On by default; off for static builds (Debian ships no libsystemd.a) and where libsystemd-dev is missing."),
        .default(enabledTraits: ["LinuxBackend", "Systemd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // Pure core: units, drugs, prescriptions, alarms and the fault table. Imports nothing.
        .target(name: "PumpCore", swiftSettings: strict),
        // The one lock type shared state uses (pthread-based, so ThreadSanitizer sees it).
        .target(name: "PumpSync", swiftSettings: strict),
        // Hardware protocols the controller drives; implemented by fakes and (later) Linux backends.
        .target(name: "PumpHAL", dependencies: ["PumpCore"], swiftSettings: strict),
        // Dose scheduler, ledger, boluses, alarms, watchdog and the thin async shell.
        .target(
            name: "Controller",
            dependencies: [
                "PumpSync", "PumpCore", "PumpHAL", .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            swiftSettings: strict),
        // System libraries: libgpiod (pkg-config) and libi2c (no .pc file: the module map links it).
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CI2C", providers: [.apt(["libi2c-dev"])]),
        // No pkgConfig: SwiftPM would pass libsystemd.pc's -L/usr/lib/x86_64-linux-gnu ahead of the
        // unpacked libgpiod 2's -L, and -lgpiod would then find the system's 1.6. The module map links it.
        .systemLibrary(name: "CSystemd", providers: [.apt(["libsystemd-dev"])]),
        // The Linux backend: GPIO lines by name, /dev/i2c-N, errno → HALError, hardware watchdog.
        .target(
            name: "PumpLinux",
            dependencies: [
                "PumpHAL", "PumpSync", .product(name: "SystemPackage", package: "swift-system"),
                .target(name: "CGPIOD", condition: .when(platforms: [.linux], traits: ["LinuxBackend"])),
                .target(name: "CI2C", condition: .when(platforms: [.linux], traits: ["LinuxBackend"])),
            ],
            swiftSettings: strict),
        // Chip drivers over the bus and line primitives: stepper, ADS1115, ABP2, MAX17048.
        .target(name: "PumpDrivers", dependencies: ["PumpCore", "PumpHAL"], swiftSettings: strict),
        // The physical plant model (pump, catheter, sensor, battery) and the devices backed by it:
        // the simulator's and the simulated board's hardware, so pumpd links it.
        .target(
            name: "PumpPlant",
            dependencies: ["PumpCore", "PumpHAL", "PumpSync", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: strict),
        // Test doubles only (ordered-expectation bus fakes, fixed time zones): no shipped
        // program links them.
        .target(name: "PumpFakes", dependencies: ["PumpCore", "PumpHAL", "PumpSync"], swiftSettings: strict),
        // Reading configuration: JSON with field paths, board files, prescription files. It sees
        // the drivers so that a board file's sensor section can build its own driver (the registry
        // in PressureSensors.swift): adding a chip touches no switch elsewhere.
        .target(name: "PumpConfig", dependencies: ["PumpCore", "PumpHAL", "PumpDrivers"], swiftSettings: strict),
        // The independent judge of dosing: the micrograms a prescription asks for over any
        // interval, written apart from the controller (Foundation's calendar only) so a wrong
        // idea of what is prescribed cannot agree with itself.
        .target(name: "PumpReference", swiftSettings: strict),
        .testTarget(name: "PumpReferenceTests", dependencies: ["PumpReference"], swiftSettings: strict),
        // Scenario files, the virtual-time simulator and its reports.
        .target(
            name: "PumpSimulation",
            dependencies: ["PumpCore", "PumpHAL", "Controller", "PumpPlant", "PumpConfig", "PumpJournal", "PumpReference",
                           .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: strict),
        // The command interface between pumpctl and pumpd: wire format, keys, HMAC-SHA256
        // authentication with counters and expiry, and the command decoder (docs/commands.md).
        .target(
            name: "PumpCommands",
            dependencies: ["PumpCore", "PumpConfig", "Controller", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .testTarget(
            name: "PumpCommandsTests", dependencies: ["PumpCommands", "PumpCore", "PumpConfig", "Controller", "PumpPlant", "PumpFakes", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .executableTarget(
            name: "pumpctl",
            dependencies: [
                "PumpCore", "PumpSimulation", "PumpJournal", "PumpConfig", "PumpCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        // The daemon: board file → backend, drivers and controller; signals and logs.
        .executableTarget(
            name: "pumpd",
            dependencies: [
                "PumpCore", "PumpHAL", "Controller", "PumpConfig", "PumpDrivers", "PumpPlant", "PumpJournal", "PumpCommands", "PumpSync",
                .target(name: "PumpLinux", condition: .when(platforms: [.linux], traits: ["LinuxBackend"])),
                .target(name: "CSystemd", condition: .when(platforms: [.linux], traits: ["Systemd"])),
                "CSignalMask",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // pumpd's signals, blocked by a constructor before main (pumpd's SignalIntake takes them).
        .target(name: "CSignalMask"),
        // The crash-safe dose journal and event log in SQLite (GRDB).
        .target(
            name: "PumpJournal",
            dependencies: ["PumpCore", "PumpSync", "Controller", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .testTarget(name: "PumpJournalTests", dependencies: ["PumpCore", "PumpHAL", "Controller", "PumpPlant", "PumpFakes", "PumpJournal", "PumpSync"], swiftSettings: strict),
        // Coverage-guided fuzzing of every decoder that takes outside bytes (libFuzzer through
        // Scripts/fuzz, built with -D FUZZING -sanitize=fuzzer); in the ordinary build it replays
        // the kept corpus (Tests/Fuzz/corpus).
        .executableTarget(
            name: "pump-fuzz",
            dependencies: [
                "PumpCommands", "PumpConfig", "PumpSimulation", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        // Measurements for Scripts/bench.
        .executableTarget(
            name: "pump-bench",
            dependencies: [
                "PumpCore", "Controller", "PumpJournal", "PumpSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        // Hardware-in-the-loop: the plant that plays the physics at real pins, and the suite that
        // runs pumpd against it (VM with the kernel's simulators, or a rig with a loopback jig).
        .target(
            name: "PumpHIL",
            dependencies: [
                "PumpCore", "PumpHAL", "PumpConfig", "PumpDrivers", "PumpPlant", "Controller", "PumpSync",
                .product(name: "SystemPackage", package: "swift-system"),
                .target(name: "PumpLinux", condition: .when(platforms: [.linux], traits: ["LinuxBackend"])),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "pump-hil",
            dependencies: ["PumpConfig", "PumpHAL", "PumpHIL", "PumpSync", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .testTarget(name: "PumpHILTests", dependencies: ["PumpSync", "PumpCore", "PumpHAL", "PumpConfig", "PumpDrivers", "PumpPlant", "PumpFakes", "PumpHIL"], swiftSettings: strict),
        .testTarget(name: "PumpLinuxTests", dependencies: ["PumpHAL", "PumpLinux", .product(name: "SystemPackage", package: "swift-system")], swiftSettings: strict),
        .testTarget(name: "PumpDriversTests", dependencies: ["PumpCore", "PumpHAL", "PumpDrivers", "PumpPlant", "PumpFakes"], swiftSettings: strict),
        .testTarget(name: "PumpConfigTests", dependencies: ["PumpCore", "PumpHAL", "PumpConfig", "PumpDrivers", "PumpPlant", "PumpFakes"], swiftSettings: strict),
        .testTarget(name: "PumpCoreTests", dependencies: ["PumpCore", "PumpPlant", "PumpFakes"], swiftSettings: strict),
        .testTarget(
            name: "ControllerTests", dependencies: ["PumpSync", "PumpCore", "PumpHAL", "Controller", "PumpPlant", "PumpFakes", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: strict),
        .testTarget(name: "PumpPlantTests", dependencies: ["PumpCore", "PumpHAL", "PumpPlant", "PumpFakes"], swiftSettings: strict),
        .testTarget(name: "PumpFakesTests", dependencies: ["PumpHAL", "PumpFakes"], swiftSettings: strict),
        .testTarget(
            name: "PumpSimulationTests",
            dependencies: ["PumpCore", "Controller", "PumpPlant", "PumpFakes", "PumpSimulation", "PumpConfig", "PumpJournal", "PumpCommands", "PumpSync", "pumpctl"],
            // Replayable swarm failures, read from the source tree by #filePath.
            exclude: ["Regressions"],
            swiftSettings: strict),
    ]
)
