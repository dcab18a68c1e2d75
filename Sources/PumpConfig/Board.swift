import Foundation
import PumpCore

/// A rig, as described by its board file in Boards/ (schema: docs/board-files.md). Only
/// `Board.parse` makes one, so a `Board` is always complete and in range: a board file with a
/// missing or wrong field is refused, with the field named, before any hardware is touched.
public struct Board: Sendable, Equatable {
    public enum Kind: String, Sendable { case simulated, linux }
    public enum Level: String, Sendable { case high, low }

    /// Stepper motor wiring and timing (linux boards).
    public struct Stepper: Sendable, Equatable {
        public var stepLine: String
        public var directionLine: String
        public var enableLine: String
        /// The ENABLE level that lets the driver move the motor; the other level is the safe state.
        public var enableActive: Level
        public var faultLine: String
        /// The nFAULT level that means "fault" (low on most drivers).
        public var faultActive: Level
        public var encoderLine: String
        public var stepPulseMicroseconds: Int
        public var maxStepRateHz: Int
        /// How long a step waits for its encoder edges before it reports what it saw.
        public var encoderTimeoutMilliseconds: Int
        public init(stepLine: String, directionLine: String, enableLine: String, enableActive: Level, faultLine: String,
                    faultActive: Level, encoderLine: String, stepPulseMicroseconds: Int, maxStepRateHz: Int,
                    encoderTimeoutMilliseconds: Int) {
            self.stepLine = stepLine
            self.directionLine = directionLine
            self.enableLine = enableLine
            self.enableActive = enableActive
            self.faultLine = faultLine
            self.faultActive = faultActive
            self.encoderLine = encoderLine
            self.stepPulseMicroseconds = stepPulseMicroseconds
            self.maxStepRateHz = maxStepRateHz
            self.encoderTimeoutMilliseconds = encoderTimeoutMilliseconds
        }
    }

    /// Maxim MAX17048 fuel gauge on the I²C bus.
    public struct MAX17048: Sendable, Equatable {
        public var address: UInt8
        public init(address: UInt8) { self.address = address }
    }

    public struct Line: Sendable, Equatable {
        public var name: String
        public var active: Level
        public init(name: String, active: Level) {
            self.name = name
            self.active = active
        }
    }

    public var name: String
    public var kind: Kind
    /// The board's calibration: the volume one motor step pushes.
    public var strokeVolume: Nanolitres
    public var encoderCountsPerStroke: Int64
    /// Linux boards: GPIO chip label (lines are found by name on it), I²C bus number, devices.
    public var gpioChipLabel: String?
    /// The I²C bus: a number (/dev/i2c-N), or the adapter's name when the number is not fixed
    /// (the kernel's i2c-stub is "SMBus stub driver").
    public var i2cBus: Int?
    public var i2cAdapterName: String?
    public var stepper: Stepper?
    /// Linux boards: the registered model `pressure_sensor.model` names (PressureSensors.swift).
    public var pressureSensor: PressureSensorConfig?
    public var fuelGauge: MAX17048?
    /// Optional on any board.
    public var alarmOutput: Line?
    public var bolusButton: Line?
    /// A hardware watchdog device (e.g. /dev/watchdog), fed only while both tasks are healthy.
    public var watchdogDevice: String?
    /// The timeout pumpd sets on it (WDIOC_SETTIMEOUT), seconds; nil keeps the driver's. At least
    /// three of pumpd's feeds, so one late wake never resets the board.
    public var watchdogTimeoutSeconds: Int?
    /// How often pumpd feeds the hardware watchdog (while both loops are healthy).
    public static let watchdogFeedSeconds = 1
    public static let watchdogTimeoutRange = (3 * watchdogFeedSeconds)...60
    /// How the hardware-in-the-loop plant reaches this board's pins (docs/hil.md); nil: no HIL.
    public var hilJig: HILJig?

    /// The plant's side of a hardware-in-the-loop setup.
    public enum HILJig: Sendable, Equatable {
        /// The kernel's simulators (gpio-sim, i2c-stub): the plant reads the controller's outputs
        /// and drives its inputs through sysfs, and writes the chips' registers into i2c-stub.
        case kernelSimulators
        /// A real rig wired back to spare lines of the same GPIO chip, with a DAC feeding the
        /// pressure ADC's input.
        case loopback(Loopback)
    }

    /// Jig lines, named like the board's own: each pump line is wired to the jig line here.
    public struct Loopback: Sendable, Equatable {
        public var stepIn: String, directionIn: String, enableIn: String
        public var encoderOut: String, faultOut: String, bolusOut: String?
        /// MCP4725 12-bit DAC on the board's I²C bus, its output wired to the ADC's channel.
        public var dacAddress: UInt8
        public var dacFullScaleMillivolts: Int
        public init(stepIn: String, directionIn: String, enableIn: String, encoderOut: String, faultOut: String, bolusOut: String?,
                    dacAddress: UInt8, dacFullScaleMillivolts: Int) {
            self.stepIn = stepIn
            self.directionIn = directionIn
            self.enableIn = enableIn
            self.encoderOut = encoderOut
            self.faultOut = faultOut
            self.bolusOut = bolusOut
            self.dacAddress = dacAddress
            self.dacFullScaleMillivolts = dacFullScaleMillivolts
        }
    }

    public static let schemaVersion = 1

    /// The pressure sensor when it is an ADS1115 (the hardware-in-the-loop plant's only one).
    public var pressureADC: ADS1115? { pressureSensor?.section as? ADS1115 }

    public static func parse(_ data: Data) throws(ValidationErrors) -> Board {
        try ObjectReader.document(data) { r, problems in read(&r, &problems) }
    }

    public static func load(path: String) throws(ValidationErrors) -> Board {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationErrors([FieldError(path, "cannot read the board file")])
        }
        return try parse(data)
    }

    // MARK: Reading

    private static func read(_ r: inout ObjectReader, _ problems: inout [FieldError]) -> Board? {
        let before = problems.count
        var f = Fields(problems: problems)
        defer { problems = f.problems }

        readSchema(&r, &f)
        let name = f.text(&r, "name", required: true) ?? ""
        let kindText = f.text(&r, "kind", required: true)
        let kind = kindText.flatMap(Kind.init(rawValue:))
        if let kindText, kind == nil { f.fail("kind", "must be simulated or linux, got '\(kindText)'") }
        let motor = readMotor(&r, &f, kind: kind)
        let bus = readBus(&r, &f, kind: kind)
        let pressure = readPressureSensor(&r, &f, kind: kind)
        let gauge = readBatteryGauge(&r, &f, kind: kind)
        if let pressure, let gauge, pressure.address == gauge.address {
            f.fail("battery_gauge.address", "is the pressure sensor's address too")
        }
        let alarm = readOptionalLine(&r, &f, "alarm_output", kind: kind)
        let button = readOptionalLine(&r, &f, "bolus_button", kind: kind)
        let watchdog = f.text(&r, "watchdog_device", required: false)
        if let w = watchdog, !w.hasPrefix("/dev/") { f.fail("watchdog_device", "must be a device under /dev/, got '\(w)'") }
        let watchdogTimeout = f.integer(&r, "watchdog_timeout_s", Self.watchdogTimeoutRange, required: false)
        if watchdogTimeout != nil, watchdog == nil { f.fail("watchdog_timeout_s", "needs watchdog_device") }
        let jig = readJig(&r, &f, kind: kind)
        checkLinesUsedOnce(&f, stepper: motor.stepper, alarm: alarm, button: button, jig: jig)

        guard f.problems.count == before, let kind else { return nil }
        return Board(name: name, kind: kind, strokeVolume: motor.stroke, encoderCountsPerStroke: motor.counts, gpioChipLabel: bus.chip,
                     i2cBus: bus.number, i2cAdapterName: bus.adapter, stepper: motor.stepper, pressureSensor: pressure, fuelGauge: gauge,
                     alarmOutput: alarm, bolusButton: button, watchdogDevice: watchdog, watchdogTimeoutSeconds: watchdogTimeout, hilJig: jig)
    }

    private static func readSchema(_ r: inout ObjectReader, _ f: inout Fields) {
        if let v = f.number(&r, "schema") {
            if v != Double(schemaVersion) { f.fail("schema", "this build reads schema \(schemaVersion), got \(v)") }
        } else {
            f.fail("schema", "is required (\(schemaVersion))")
        }
    }

    private static func readMotor(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> (stroke: Nanolitres, counts: Int64, stepper: Stepper?) {
        var stroke = Nanolitres(0), counts: Int64 = 0
        var stepper: Stepper?
        if var m = f.object(&r, "motor", required: true) {
            stroke = Nanolitres(Int64(f.integer(&m, "stroke_volume_nl", ValidPlant.strokeVolumeNanolitres, required: true) ?? 0))
            counts = Int64(f.integer(&m, "encoder_counts_per_stroke", 1...64, required: true) ?? 0)
            if kind == .linux {
                stepper = Stepper(
                    stepLine: f.line(&m, "step_line") ?? "", directionLine: f.line(&m, "dir_line") ?? "",
                    enableLine: f.line(&m, "enable_line") ?? "", enableActive: f.level(&m, "enable_active") ?? .high,
                    faultLine: f.line(&m, "fault_line") ?? "", faultActive: f.level(&m, "fault_active") ?? .low,
                    encoderLine: f.line(&m, "encoder_line") ?? "",
                    stepPulseMicroseconds: f.integer(&m, "step_pulse_us", 1...50_000, required: true) ?? 1,
                    maxStepRateHz: f.integer(&m, "max_step_rate_hz", 1...5000, required: true) ?? 1,
                    encoderTimeoutMilliseconds: f.integer(&m, "encoder_timeout_ms", 1...1000, required: true) ?? 1)
                if let s = stepper, s.stepPulseMicroseconds * 2 * s.maxStepRateHz > 1_000_000 {
                    f.fail("motor.max_step_rate_hz", "leaves no low time after a \(s.stepPulseMicroseconds) µs pulse")
                }
            }
            m.rejectUnknown(&f.problems)
        }
        return (stroke, counts, stepper)
    }

    /// `gpio` and `i2c`: linux boards only.
    private static func readBus(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> (chip: String?, number: Int?, adapter: String?) {
        var chip: String?, bus: Int?, adapter: String?
        if kind == .linux {
            if var g = f.object(&r, "gpio", required: true) {
                chip = f.text(&g, "chip_label", required: true)
                g.rejectUnknown(&f.problems)
            }
            if var i = f.object(&r, "i2c", required: true) {
                let hasBus = i.value("bus") != nil, hasName = i.value("adapter_name") != nil
                if hasBus == hasName {
                    f.fail("i2c", "needs exactly one of bus (a number) and adapter_name")
                } else if hasBus {
                    bus = f.integer(&i, "bus", 0...255, required: true)
                } else {
                    adapter = f.text(&i, "adapter_name", required: true)
                }
                i.rejectUnknown(&f.problems)
            }
        } else {
            for key in ["gpio", "i2c"] where r.value(key) != nil { f.fail(key, "is only for linux boards") }
        }
        return (chip, bus, adapter)
    }

    private static func readBatteryGauge(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> MAX17048? {
        guard var b = f.object(&r, "battery_gauge", required: true) else { return nil }
        var gauge: MAX17048?
        let model = f.text(&b, "model", required: true)
        switch (kind, model) {
        case (.linux, "max17048"?): gauge = MAX17048(address: f.address(&b, "address") ?? 0)
        case (.simulated, "simulated"?), (nil, _), (_, nil): break
        case (_, let m?):
            f.fail("battery_gauge.model", kind == .linux ? "must be max17048, got '\(m)'" : "must be simulated, got '\(m)'")
        }
        b.rejectUnknown(&f.problems)
        return gauge
    }

    private static func readOptionalLine(_ r: inout ObjectReader, _ f: inout Fields, _ key: String, kind: Kind?) -> Line? {
        guard var o = f.object(&r, key, required: false) else { return nil }
        defer { o.rejectUnknown(&f.problems) }
        if kind == .simulated { f.fail(key, "is only for linux boards (the simulated board has no lines)") }
        let n = f.line(&o, "line"), a = f.level(&o, "active")   // both read: each is reported on its own
        guard let n, let a else { return nil }
        return Line(name: n, active: a)
    }

    private static func readJig(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> HILJig? {
        guard var j = f.object(&r, "hil_jig", required: false) else { return nil }
        var jig: HILJig?
        if kind == .simulated { f.fail("hil_jig", "is only for linux boards") }
        switch f.text(&j, "kind", required: true) {
        case "kernel-sim"?: jig = .kernelSimulators
        case "loopback"?:
            var dacAddress: UInt8?, scale: Int?
            if var d = f.object(&j, "pressure_dac", required: true) {
                if let m = f.text(&d, "model", required: true), m != "mcp4725" { f.fail("hil_jig.pressure_dac.model", "must be mcp4725, got '\(m)'") }
                dacAddress = f.address(&d, "address")
                scale = f.integer(&d, "full_scale_mv", 1000...5500, required: true)
                d.rejectUnknown(&f.problems)
            }
            let loop = Loopback(stepIn: f.line(&j, "step_in") ?? "", directionIn: f.line(&j, "dir_in") ?? "",
                                enableIn: f.line(&j, "enable_in") ?? "", encoderOut: f.line(&j, "encoder_out") ?? "",
                                faultOut: f.line(&j, "fault_out") ?? "",
                                bolusOut: j.value("bolus_out") == nil ? nil : f.line(&j, "bolus_out"),
                                dacAddress: dacAddress ?? 0, dacFullScaleMillivolts: scale ?? 0)
            jig = .loopback(loop)
        case let k?: f.fail("hil_jig.kind", "must be kernel-sim or loopback, got '\(k)'")
        case nil: break
        }
        j.rejectUnknown(&f.problems)
        return jig
    }

    /// Every line name used once.
    private static func checkLinesUsedOnce(_ f: inout Fields, stepper: Stepper?, alarm: Line?, button: Line?, jig: HILJig?) {
        var seen: [String: String] = [:]
        var lines: [(String, String?)] = [
            ("motor.step_line", stepper?.stepLine), ("motor.dir_line", stepper?.directionLine),
            ("motor.enable_line", stepper?.enableLine), ("motor.fault_line", stepper?.faultLine),
            ("motor.encoder_line", stepper?.encoderLine), ("alarm_output.line", alarm?.name), ("bolus_button.line", button?.name),
        ]
        if case .loopback(let l)? = jig {
            lines += [("hil_jig.step_in", l.stepIn), ("hil_jig.dir_in", l.directionIn), ("hil_jig.enable_in", l.enableIn),
                      ("hil_jig.encoder_out", l.encoderOut), ("hil_jig.fault_out", l.faultOut), ("hil_jig.bolus_out", l.bolusOut)]
        }
        for (path, name) in lines {
            guard let name, !name.isEmpty else { continue }
            if let other = seen[name] { f.fail(path, "line '\(name)' is already \(other)") } else { seen[name] = path }
        }
    }

    /// Every GPIO line of the board proper, by name (what a simulated chip must offer).
    public var lineNames: [String] { lineFields.map(\.name) }

    /// The controller's lines with the board-file fields that name them (the board check reports
    /// by field). The HIL jig's lines are the plant's, not listed.
    public var lineFields: [(field: String, name: String)] {
        guard let s = stepper else { return [] }
        var fields = [("motor.step_line", s.stepLine), ("motor.dir_line", s.directionLine), ("motor.enable_line", s.enableLine),
                      ("motor.fault_line", s.faultLine), ("motor.encoder_line", s.encoderLine)]
        if let a = alarmOutput { fields.append(("alarm_output.line", a.name)) }
        if let b = bolusButton { fields.append(("bolus_button.line", b.name)) }
        return fields
    }
}

/// Typed field readers that append problems with the field's path.
struct Fields {
    var problems: [FieldError]

    mutating func fail(_ path: String, _ message: String) { problems.append(FieldError(path, message)) }

    mutating func number(_ r: inout ObjectReader, _ key: String) -> Double? { r.number(key, &problems) }

    mutating func text(_ r: inout ObjectReader, _ key: String, required: Bool) -> String? {
        guard let s = r.string(key, &problems) else {
            if required, r.value(key) == nil { fail(r.child(key), "is required") }
            return nil
        }
        if s.isEmpty { fail(r.child(key), "must not be empty"); return nil }
        // Names and paths go to C (a NUL would cut them short) and to terminals and logs.
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            fail(r.child(key), "must not contain control characters")
            return nil
        }
        if s.utf8.count > 255 { fail(r.child(key), "is longer than 255 bytes"); return nil }
        return s
    }

    mutating func object(_ r: inout ObjectReader, _ key: String, required: Bool) -> ObjectReader? {
        let o = r.object(key, &problems)
        if o == nil, required, r.value(key) == nil { fail(r.child(key), "is required") }
        return o
    }

    mutating func integer(_ r: inout ObjectReader, _ key: String, _ range: ClosedRange<Int>, required: Bool) -> Int? {
        guard let v = r.number(key, &problems) else {
            if required, r.value(key) == nil { fail(r.child(key), "is required") }
            return nil
        }
        guard v.isFinite, v.rounded() == v, v >= Double(range.lowerBound), v <= Double(range.upperBound) else {
            fail(r.child(key), "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(v)
    }

    mutating func real(_ r: inout ObjectReader, _ key: String, _ range: ClosedRange<Double>) -> Double? {
        guard let v = r.number(key, &problems) else {
            if r.value(key) == nil { fail(r.child(key), "is required") }
            return nil
        }
        guard v.isFinite, range.contains(v) else {
            fail(r.child(key), "must be from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return v
    }

    /// A GPIO line name: lines are found by name, never by number.
    mutating func line(_ r: inout ObjectReader, _ key: String) -> String? {
        guard let s = text(&r, key, required: true) else { return nil }
        if s.allSatisfy(\.isNumber) { fail(r.child(key), "must be a line name, not a number ('\(s)'): lines are found by name") }
        return s
    }

    mutating func level(_ r: inout ObjectReader, _ key: String) -> Board.Level? {
        guard let s = text(&r, key, required: true) else { return nil }
        guard let l = Board.Level(rawValue: s) else { fail(r.child(key), "must be high or low, got '\(s)'"); return nil }
        return l
    }

    /// A 7-bit I²C address, as a number or a "0x48" string; 0x03–0x77 (the rest are reserved).
    mutating func address(_ r: inout ObjectReader, _ key: String) -> UInt8? {
        var value: Int?
        switch r.value(key) {
        case .number(let d)?: value = d.isFinite && d.rounded() == d && abs(d) < 1000 ? Int(d) : -1
        case .string(let s)?:
            let hex = s.lowercased().hasPrefix("0x") ? String(s.dropFirst(2)) : nil
            value = hex.flatMap { Int($0, radix: 16) } ?? -1
        case nil:
            fail(r.child(key), "is required")
            return nil
        case let other?:
            fail(r.child(key), "must be a number or a \"0x48\" string, got \(other.typeName)")
            return nil
        }
        guard let v = value, (0x03...0x77).contains(v) else {
            fail(r.child(key), "must be a 7-bit address from 0x03 to 0x77")
            return nil
        }
        return UInt8(v)
    }
}
