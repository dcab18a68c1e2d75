import Foundation

/// The kill case: after SIGKILL the kernel releases ENABLE to its inactive pull, and the fail-safe
/// holder (`pumpd --hold-safe`) refuses while pumpd runs, then holds and releases. Its own file
/// because it alone starts the holder.
extension Suite {
    /// process is gone the kernel releases its lines, and ENABLE must fall to its inactive level
    /// by itself (the pin's pull; on a Pi, `dtparam=strict_gpiod` and the board's pull resistor,
    /// docs/board-files.md). In the VM gpio-sim returns a released line to its pull.
    func kill() {
        guard let (plant, pumpd) = start(case: "kill", prescription: Prescriptions.fast) else { return }
        defer { plant.stop(); pumpd.stop() }
        guard plant.waitFor("stroke n=2 enabled=1", timeout: 30) != nil else { record("kill/strokes", false, "no enabled strokes within 30 s"); return }
        // The fail-safe holder (pumpd-failsafe.service) started while pumpd runs: refused, naming
        // the line, and pumpd goes on delivering with its lines untouched.
        let before = plant.lines.count
        let refused = holdSafe()
        let refusedStatus = refused?.waitForExit(timeout: 30)
        let refusal = refused?.lines.map(\.text).first { $0.contains("motor.enable_line") }
        let strokes = plant.waitFor(after: before, timeout: 10) { $0.hasPrefix("stroke ") && $0.contains("enabled=1") }
        let disturbed = plant.lines.dropFirst(before).contains { $0.text.hasPrefix("enable 0 ") }
        record("kill/hold-safe-refused-while-pumpd-runs", refusedStatus == 1 && refusal != nil && strokes != nil && !disturbed && pumpd.isRunning,
               "exit \(refusedStatus.map(String.init) ?? "none"): \(refusal ?? "no line naming motor.enable_line"); pumpd \(strokes != nil && !disturbed ? "went on stroking" : "disturbed")")
        let mark = plant.lines.count
        pumpd.stop()
        let low = plant.waitFor("enable 0 ", after: mark, timeout: 5)
        Thread.sleep(forTimeInterval: 1)
        let after = plant.lines.dropFirst(mark).map(\.text)
        let raisedAgain = after.drop { !$0.hasPrefix("enable 0 ") }.contains { $0.hasPrefix("enable 1") }
        record("kill/enable-inactive-after-sigkill", low != nil && !raisedAgain && !pumpd.isRunning,
               low.map { "ENABLE fell once pumpd was gone: \($0.text)" } ?? "ENABLE still active 5 s after SIGKILL")
        // pumpd gone for good: the holder drives ENABLE inactive and sounds the alarm output until
        // it is stopped; stopped, it releases both (the alarm falls back to its pull). A rig's jig
        // has no wire from the alarm output (`alarm=-`): there ENABLE is checked alone.
        guard let s = board.stepper, let holder = holdSafe() else { return }
        current.append(holder)
        let holding = holder.waitFor("pumpd --hold-safe: holding", timeout: 30)
        let held = levels(plant, holderOf: s.enableLine)
        record("kill/hold-safe-holds-enable-off-and-sounds", holding != nil && ["enable=0 alarm=1", "enable=0 alarm=-"].contains(held.levels) && held.holder == "pumpd-failsafe:out",
               "\(holding?.text ?? "holder did not say it holds: \(holder.lines.suffix(2).map(\.text).joined(separator: " | "))"); pins \(held.levels), ENABLE held by \(held.holder)")
        let exit = terminate(holder)
        let released = levels(plant, holderOf: s.enableLine)
        record("kill/hold-safe-releases-on-sigterm", exit == 0 && ["enable=0 alarm=0", "enable=0 alarm=-"].contains(released.levels) && released.holder.hasPrefix("-:"),
               "exit \(exit.map(String.init) ?? "none"); pins \(released.levels), ENABLE \(released.holder)")
    }

    /// `pumpd --board B --hold-safe` started (nil if it could not be).
    private func holdSafe() -> ChildProcess? {
        try? ChildProcess(name: "pumpd --hold-safe", executable: settings.pumpdPath, arguments: ["--board", settings.boardPath, "--hold-safe"])
    }

    /// The plant's `levels` (ENABLE and alarm, active or not) and who holds `line`, now.
    private func levels(_ plant: ChildProcess, holderOf line: String) -> (levels: String, holder: String) {
        let mark = plant.lines.count
        plant.send("levels")
        plant.send("holders \(line)")
        let l = plant.waitFor("levels ", after: mark, timeout: 5)?.text.components(separatedBy: " t=")[0].dropFirst("levels ".count)
        let h = plant.waitFor("holder \(line) ", after: mark, timeout: 5)?.text.components(separatedBy: " ")[2]
        return (l.map(String.init) ?? "no answer", h ?? "no answer")
    }

}
