import Foundation
import Glibc
import PumpConfig
import PumpDrivers
import PumpHAL
#if canImport(PumpLinux)
import PumpLinux
#endif

/// `pumpd --board F --check-board`: the board file against the live rig before anything moves.
/// It looks and never drives: the kernel's line info says who holds each line; ENABLE alone is
/// requested, as an input, to read the level it rests at with nothing driving it (the level a dead
/// pumpd leaves); the I²C chips are only read, and the watchdog device is not opened (opening it
/// starts it).
/// One line per item, each naming the board-file field it checks.
enum BoardCheck {
    struct Item: Equatable {
        var field: String
        var ok: Bool
        var detail: String
        var line: String { "\(ok ? "ok  " : "FAIL") \(field): \(detail)" }
    }

    /// The consumer name pumpd requests its lines under (GPIOChip's default).
    static let ownConsumer = "pumpd"

    static func run(board: Board) async -> [Item] {
        guard board.kind == .linux else {
            return [Item(field: "kind", ok: true, detail: "simulated: nothing on the rig to check")]
        }
        #if canImport(PumpLinux)
        var items: [Item] = []
        items += await checkLines(board)
        items += await checkBus(board)
        if let w = board.watchdogDevice {
            items.append(checkWatchdog(w))
        } else {
            items.append(Item(field: "watchdog_device", ok: true, detail: "none in the board file: no hardware watchdog is used"))
        }
        return items
        #else
        return [Item(field: "kind", ok: false, detail: "this build has no Linux backend (built without the LinuxBackend trait)")]
        #endif
    }

    #if canImport(PumpLinux)
    private static func checkLines(_ board: Board) async -> [Item] {
        guard let label = board.gpioChipLabel else { return [Item(field: "gpio.chip_label", ok: false, detail: "missing")] }
        let chip: GPIOChip
        do { chip = try GPIOChip(label: label, consumer: "pumpd-board-check") } catch {
            return [Item(field: "gpio.chip_label", ok: false, detail: "\(error.detail) (\(error.kind), errno \(error.errno ?? 0); `gpiodetect` lists the chips and their labels)")]
                + board.lineFields.map { Item(field: $0.field, ok: false, detail: "'\($0.name)' not checked: no chip (gpio.chip_label)") }
                + (board.stepper.map { [Item(field: "motor.enable_active", ok: false, detail: "'\($0.enableLine)' at rest not checked: no chip (gpio.chip_label)")] } ?? [])
        }
        var items = [Item(field: "gpio.chip_label", ok: true, detail: "chip '\(label)' found (libgpiod \(GPIOLibrary.version))")]
        for (field, name) in board.lineFields {
            guard let info = chip.info(named: name) else {
                items.append(Item(field: field, ok: false, detail: "no line '\(name)' on chip '\(label)'"))
                continue
            }
            let direction = info.isOutput ? "output" : "input"
            switch (info.used, info.consumer) {
            case (false, _):
                items.append(Item(field: field, ok: true, detail: "'\(name)' present, free (\(direction))"))
            case (true, ownConsumer?):
                items.append(Item(field: field, ok: true, detail: "'\(name)' present, held by pumpd (\(direction): pumpd is running)"))
            case (true, let holder):
                items.append(Item(field: field, ok: false, detail: "'\(name)' present but held by '\(holder ?? "the kernel")' (\(direction)): pumpd could not request it"))
            }
        }
        if let s = board.stepper, let info = chip.info(named: s.enableLine) {
            items.append(await restingEnable(chip, s, held: info.used))
        }
        return items
    }

    /// ENABLE's level with nothing driving it must be the inactive one: it is what holds the motor
    /// off whenever pumpd is gone (crash, stop, boot), and the board file's `enable_active` is
    /// otherwise only trusted. A wrong polarity there, or no pull resistor to the inactive level,
    /// shows here before the first start, not as a motor that runs when pumpd dies.
    private static func restingEnable(_ chip: GPIOChip, _ s: Board.Stepper, held: Bool) async -> Item {
        let field = "motor.enable_active", name = s.enableLine
        // Not measured is not passed: any program can hold a line under the name "pumpd".
        guard !held else { return Item(field: field, ok: false, detail: "'\(name)' is held: its resting level is not measured while pumpd (or another program) runs; stop it and check again") }
        let level: Bool
        do {
            let line = try chip.input(named: name, edges: .rising)
            defer { line.close() }
            level = try await line.get()
        } catch {
            return Item(field: field, ok: false, detail: "'\(name)': cannot read its resting level: \(error.detail) (\(error.kind), errno \(error.errno ?? 0))")
        }
        let rest = level ? "high" : "low", inactive = s.enableActive == .high ? "low" : "high"
        if rest == inactive {
            return Item(field: field, ok: true, detail: "'\(name)' rests \(rest) with nothing driving it: the inactive level (enable_active \(s.enableActive.rawValue)); the motor is off when pumpd is gone")
        }
        return Item(field: field, ok: false, detail: "'\(name)' rests \(rest) with nothing driving it, its active level by enable_active '\(s.enableActive.rawValue)': the driver would be enabled whenever pumpd is gone (enable_active wrong, or no pull resistor to \(inactive): docs/board-files.md, \"Supply and levels\")")
    }

    private static func checkBus(_ board: Board) async -> [Item] {
        let field = board.i2cBus != nil ? "i2c.bus" : "i2c.adapter_name"
        let bus: LinuxI2CBus
        do { bus = try LinuxI2CBus(number: board.i2cBus, adapterName: board.i2cAdapterName) } catch {
            let chips = [board.pressureSensor.map { ("pressure_sensor.address", $0.address) }, board.fuelGauge.map { ("battery_gauge.address", $0.address) }]
            return [Item(field: field, ok: false, detail: "\(error.detail) (\(error.kind), errno \(error.errno ?? 0))")]
                + chips.compactMap { $0 }.map { Item(field: $0.0, ok: false, detail: "0x\(String($0.1, radix: 16)) not checked: no bus (\(field))") }
        }
        var items = [Item(field: field, ok: true, detail: "\(bus.path) open")]
        if let sensor = board.pressureSensor {
            items.append(await chip("pressure_sensor.address", sensor.address) { () async throws(HALError) -> ChipIdentity in
                try await sensor.section.identify(bus: bus)
            })
        }
        if let gauge = board.fuelGauge {
            items.append(await chip("battery_gauge.address", gauge.address) { () async throws(HALError) -> ChipIdentity in
                try await MAX17048.identify(bus: bus, address: gauge.address)
            })
        }
        return items
    }

    private static func chip(_ field: String, _ address: UInt8, _ identify: () async throws(HALError) -> ChipIdentity) async -> Item {
        let hex = "0x" + String(address, radix: 16)
        do {
            let id = try await identify()
            return Item(field: field, ok: id.matches, detail: "\(hex) answers: \(id.detail)")
        } catch {
            return Item(field: field, ok: false, detail: "\(hex) does not answer (\(error.kind), errno \(error.errno ?? 0))")
        }
    }

    private static func checkWatchdog(_ path: String) -> Item {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return Item(field: "watchdog_device", ok: false, detail: "\(path): \(String(cString: strerror(errno))) (on a Pi: dtparam=watchdog=on, then reboot)")
        }
        guard (st.st_mode & S_IFMT) == S_IFCHR else { return Item(field: "watchdog_device", ok: false, detail: "\(path) is not a character device") }
        // A watchdog is the misc device 10:130 (/dev/watchdog) or one of the watchdog class
        // (/dev/watchdogN): anything else (/dev/zero, a tty) is the wrong device.
        let major = (st.st_rdev >> 8) & 0xFFF, minor = (st.st_rdev & 0xFF) | ((st.st_rdev >> 12) & 0xFFF00)
        let subsystem = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/dev/char/\(major):\(minor)/subsystem")) ?? ""
        guard (major == 10 && minor == 130) || subsystem.hasSuffix("/watchdog") else {
            return Item(field: "watchdog_device", ok: false, detail: "\(path) is the character device \(major):\(minor), not a watchdog")
        }
        let access = Glibc.access(path, R_OK | W_OK) == 0 ? "" : " but not writable by this user"
        return Item(field: "watchdog_device", ok: access.isEmpty,
                    detail: "\(path) is a character device\(access) (not opened: opening starts it)")
    }
    #endif
}
