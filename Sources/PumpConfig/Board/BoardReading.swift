/// Reading a board file: every section in order, each field checked with its path.
import PumpCore

extension Board {
    static func read(_ r: inout ObjectReader, _ problems: inout [FieldError]) -> Board? {
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
        // The simulated board feeds no device: a watchdog named there would silently not be fed
        // (outside attack: accepted, and pumpd ran without a word).
        if watchdog != nil, kind == .simulated { f.fail("watchdog_device", "is only for linux boards (the simulated board feeds no watchdog)") }
        let watchdogTimeout = f.integer(&r, "watchdog_timeout_s", Self.watchdogTimeoutRange, required: false)
        if watchdogTimeout != nil, watchdog == nil { f.fail("watchdog_timeout_s", "needs watchdog_device") }
        let jig = readJig(&r, &f, kind: kind)
        checkLinesUsedOnce(&f, stepper: motor.stepper, alarm: alarm, button: button, jig: jig)

        guard f.problems.count == before, let kind else { return nil }
        return Board(name: name, kind: kind, strokeVolume: motor.stroke, encoderCountsPerStroke: motor.counts, gpioChipLabel: bus.chip,
                     i2cBus: bus.number, i2cAdapterName: bus.adapter, stepper: motor.stepper, pressureSensor: pressure, fuelGauge: gauge,
                     alarmOutput: alarm, bolusButton: button, watchdogDevice: watchdog, watchdogTimeoutSeconds: watchdogTimeout, hilJig: jig)
    }

    static func readSchema(_ r: inout ObjectReader, _ f: inout Fields) {
        if let v = f.number(&r, "schema") {
            if v != Double(schemaVersion) { f.fail("schema", "this build reads schema \(schemaVersion), got \(v)") }
        } else {
            f.fail("schema", "is required (\(schemaVersion))")
        }
    }

    static func readMotor(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> (stroke: Nanolitres, counts: Int64, stepper: Stepper?) {
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
            } else if kind == nil {
                m.skipRemaining()   // the stepper's fields are judged against a known kind only
            }
            m.rejectUnknown(&f.problems)
        }
        return (stroke, counts, stepper)
    }

    /// `gpio` and `i2c`: linux boards only.
    static func readBus(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> (chip: String?, number: Int?, adapter: String?) {
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
        } else if kind == .simulated {
            for key in ["gpio", "i2c"] where r.value(key) != nil { f.fail(key, "is only for linux boards") }
        } else {
            for key in ["gpio", "i2c"] { _ = r.value(key) }   // no known kind to judge them against
        }
        return (chip, bus, adapter)
    }

    static func readBatteryGauge(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> MAX17048? {
        guard var b = f.object(&r, "battery_gauge", required: true) else { return nil }
        var gauge: MAX17048?
        let model = f.text(&b, "model", required: true)
        switch (kind, model) {
        case (.linux, "max17048"?): gauge = MAX17048(address: f.address(&b, "address") ?? 0)
        case (.simulated, "simulated"?): break
        case (nil, _), (_, nil): b.skipRemaining()
        case (_, let m?):
            f.fail("battery_gauge.model", kind == .linux ? "must be max17048, got '\(m)'" : "must be simulated, got '\(m)'")
            b.skipRemaining()
        }
        b.rejectUnknown(&f.problems)
        return gauge
    }

    static func readOptionalLine(_ r: inout ObjectReader, _ f: inout Fields, _ key: String, kind: Kind?) -> Line? {
        guard var o = f.object(&r, key, required: false) else { return nil }
        defer { o.rejectUnknown(&f.problems) }
        if kind == .simulated { f.fail(key, "is only for linux boards (the simulated board has no lines)") }
        let n = f.line(&o, "line"), a = f.level(&o, "active")   // both read: each is reported on its own
        guard let n, let a else { return nil }
        return Line(name: n, active: a)
    }
}
