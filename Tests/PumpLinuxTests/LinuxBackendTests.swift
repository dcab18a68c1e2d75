#if LinuxBackend && os(Linux)
import Foundation
import Testing
import PumpHAL
@testable import PumpLinux
import SystemPackage

@Suite("Linux backend")
struct LinuxBackendTests {
    @Test(arguments: [
        (Int32(121), HALError.Kind.noAcknowledge), (6, .noAcknowledge), (5, .bus), (110, .timeout), (11, .busy),
        (16, .busy), (19, .notFound), (2, .notFound), (95, .unsupported), (13, .other), (1, .other), (22, .other),
    ])
    func errnoMapsToAKind(errno: Int32, kind: HALError.Kind) {
        #expect(Errno(rawValue: errno).halKind == kind)
        let e = HALError(Errno(rawValue: errno), "x")
        #expect(e.errno == errno && e.kind == kind)
    }

    /// The build scripts say which libgpiod API a build was made against (PUMP_EXPECT_GPIOD_API:
    /// the main test build 1.6, the AddressSanitizer build 2.x); the shim must have picked it.
    @Test func theBackendUsesTheLibraryItWasBuiltFor() throws {
        #expect([1, 2].contains(GPIOLibrary.api))
        #expect(GPIOLibrary.version.hasPrefix("\(GPIOLibrary.api).") == true, "library \(GPIOLibrary.version), API \(GPIOLibrary.api)")
        if let expected = ProcessInfo.processInfo.environment["PUMP_EXPECT_GPIOD_API"] {
            #expect(String(GPIOLibrary.api) == expected, "built against libgpiod \(GPIOLibrary.version)")
        }
    }

    // These go through the real libgpiod and kernel, on a machine without the devices: the
    // failures must be typed errors, not crashes (the devices themselves: hardware-in-the-loop).
    @Test func missingGPIOChipIsNotFound() {
        do {
            _ = try GPIOChip(label: "no-such-chip-label")
            Issue.record("opened a chip that does not exist")
        } catch {
            #expect(error.kind == .notFound)
        }
    }

    @Test func missingI2CBusIsNotFoundWithItsErrno() {
        do {
            _ = try LinuxI2CBus(bus: 250)
            Issue.record("opened /dev/i2c-250")
        } catch {
            #expect(error.kind == .notFound && error.errno == Errno.noSuchFileOrDirectory.rawValue)
            #expect(error.detail.contains("/dev/i2c-250"))
        }
    }

    /// Raw transfers go through I2C_RDWR: on a device that is no adapter (/dev/null) the ioctl's
    /// ENOTTY comes back typed, with the path, address and transfer named; a transfer longer
    /// than i2c-dev takes is refused before any ioctl.
    @Test func rawTransfersFailTypedWithTheirErrno() async throws {
        let bus = try LinuxI2CBus(path: "/dev/null")
        let enotty: Int32 = 25
        await #expect(throws: HALError(.other, errno: enotty, "/dev/null 0x28: write 3 bytes")) {
            try await bus.write(address: 0x28, bytes: [0xAA, 0x00, 0x00])
        }
        await #expect(throws: HALError(.other, errno: enotty, "/dev/null 0x28: read 7 bytes")) { try await bus.read(address: 0x28, count: 7) }
        await #expect(throws: HALError(.other, errno: enotty, "/dev/null 0x50: write 1 bytes, read 2")) {
            try await bus.writeRead(address: 0x50, bytes: [0x10], count: 2)
        }
        do {
            _ = try await bus.read(address: 0x28, count: LinuxI2CBus.maxTransferBytes + 1)
            Issue.record("read more than one message may carry")
        } catch {
            #expect(error.errno == Errno.invalidArgument.rawValue && error.detail.contains("more than 8192 bytes"))
        }
    }

    @Test func unknownAdapterNameIsNotFound() {
        #expect(throws: HALError.self) { try LinuxI2CBus(adapterName: "no such adapter") }
    }

    @Test func missingWatchdogDeviceIsNotFound() {
        do {
            _ = try HardwareWatchdog(path: "/dev/no-such-watchdog")
            Issue.record("opened a watchdog that does not exist")
        } catch {
            #expect(error.kind == .notFound)
        }
    }

    /// Finding 17.B8: a board file's `watchdog_device` only had to start with /dev/; a disk or a
    /// file named there was opened read-write and written 'k' each second, 'V' at the end. What
    /// is not a character device answering WDIOC_GETSUPPORT is refused before any byte is written.
    @Test func whatIsNotAWatchdogIsNeverWritten() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-watchdog-\(UUID().uuidString)").path
        try "data".write(toFile: file, atomically: false, encoding: .utf8)
        defer { unlink(file) }
        for path in [file, "/dev/null", "/dev/zero"] {
            do {
                let w = try HardwareWatchdog(path: path)
                w.close()
                Issue.record("took \(path) for a watchdog")
            } catch {
                #expect(error.detail.contains(path), "\(error)")
            }
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "data")
    }
}
#endif
