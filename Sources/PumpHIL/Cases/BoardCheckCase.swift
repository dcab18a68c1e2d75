import Foundation

/// The board-check case: `pumpd --check-board` on the live devices passes the suite's board field
/// by field, and fails a miswired board or a flipped ENABLE naming the wrong field. Its own file
/// because it is the one case that runs no plant and no delivering pumpd.
extension Suite {
    /// `pumpd --check-board` against the live devices, first (before any pumpd has configured the
    /// ADC): the board passes item by item, chips identified by their registers; a board with a
    /// miswired line name and a wrong address fails, naming both fields, and the rest still pass.
    func boardCheck() {
        func check(_ path: String) -> (status: Int32?, lines: [String]) {
            guard let p = try? ChildProcess(name: "pumpd --check-board", executable: settings.pumpdPath,
                                            arguments: ["--board", path, "--check-board"]) else { return (nil, []) }
            current = [p]
            _ = p.waitFor("board check ", timeout: 30)
            let status = p.waitForExit(timeout: 10)
            return (status, p.lines.map(\.text))
        }
        let good = check(settings.boardPath)
        let fields = ["gpio.chip_label"] + board.lineFields.map(\.field) + ["pressure_sensor.address", "battery_gauge.address"]
        let missing = fields.filter { f in !good.lines.contains { $0.hasPrefix("ok   \(f): ") } }
        record("board-check/board-passes", good.status == 0 && missing.isEmpty,
               "exit \(good.status.map(String.init) ?? "none"); \(missing.isEmpty ? "every field ok" : "not ok: \(missing.joined(separator: ", "))"); "
               + (good.lines.first { $0.contains("battery_gauge.address") } ?? ""))
        let adcIdentified = good.lines.contains { $0.contains("pressure_sensor.address") && $0.contains("ADS1115 (config 0x8583") }
        let gaugeIdentified = good.lines.contains { $0.contains("battery_gauge.address") && $0.contains("MAX17048/49 (VERSION 0x0012)") }
        record("board-check/chips-identified", adcIdentified && gaugeIdentified,
               good.lines.filter { $0.contains(".address") }.joined(separator: " | "))
        guard let s = board.stepper,
              let variant = try? boardVariant(named: "miswired", edit: { root in
                  var motor = root["motor"] as? [String: Any] ?? [:]
                  motor["step_line"] = "\(s.stepLine)-MISWIRED"
                  root["motor"] = motor
                  var sensor = root["pressure_sensor"] as? [String: Any] ?? [:]
                  sensor["address"] = "0x4b"
                  root["pressure_sensor"] = sensor
              }) else { record("board-check/board", false, "cannot write the board variant"); return }
        let bad = check(variant)
        let namesLine = bad.lines.contains { $0.hasPrefix("FAIL motor.step_line: no line '\(s.stepLine)-MISWIRED'") }
        let namesAddress = bad.lines.contains { $0.hasPrefix("FAIL pressure_sensor.address: 0x4b does not answer") }
        let restOK = bad.lines.contains { $0.hasPrefix("ok   motor.enable_line: ") } && bad.lines.contains { $0.hasPrefix("ok   battery_gauge.address: ") }
        record("board-check/miswired-board-fails", bad.status == 1 && namesLine && namesAddress && restOK,
               "exit \(bad.status.map(String.init) ?? "none"); " + bad.lines.filter { $0.hasPrefix("FAIL") || $0.hasPrefix("board check") }.joined(separator: " | "))
        // ENABLE's polarity, read at the pin: the board's own passes; flipped, ENABLE rests at what
        // the file calls active, and the check fails naming motor.enable_active, with nothing else.
        let flippedLevel = s.enableActive == .high ? "low" : "high"
        guard let flipped = try? boardVariant(named: "enable-flipped", edit: { root in
            var motor = root["motor"] as? [String: Any] ?? [:]
            motor["enable_active"] = flippedLevel
            root["motor"] = motor
        }) else { record("board-check/enable-polarity", false, "cannot write the board variant"); return }
        let wrong = check(flipped)
        let goodRest = good.lines.first { $0.hasPrefix("ok   motor.enable_active: '\(s.enableLine)' rests ") }
        let wrongFails = wrong.lines.filter { $0.hasPrefix("FAIL") }.map { String($0.prefix(26)) } == ["FAIL motor.enable_active: "]
        record("board-check/enable-polarity", goodRest != nil && wrong.status == 1 && wrongFails,
               "good board: \(goodRest ?? "no ok line for motor.enable_active"); flipped: exit \(wrong.status.map(String.init) ?? "none"); "
               + wrong.lines.filter { $0.hasPrefix("FAIL") }.joined(separator: " | "))
    }

    /// The hardware watchdog on a real kernel (in the VM: softdog with soft_noboot=1, so an expiry
    /// is logged instead of rebooting). pumpd sets the board's timeout and reads back the grant;
    /// healthy, it never lets it expire over three timeouts; frozen (SIGSTOP), or with its dose
    /// loop hung on a frozen journal filesystem, it lets it expire within timeout + 1 s, as the
}
