import Foundation

/// The lines case: pumpd requests its lines by name, in their directions, and ENABLE stays
/// inactive while no stroke is due and after SIGTERM. Its own file: one case, one job.
extension Suite {
    /// Lines are found by name and held by pumpd; ENABLE never reaches its active level while no
    /// stroke is due, and SIGTERM leaves it inactive.
    func lines() {
        guard let (plant, pumpd) = start(case: "lines", prescription: Prescriptions.slow) else { return }
        defer { plant.stop(); pumpd.stop() }
        Thread.sleep(forTimeInterval: 2)
        let names = board.lineNames
        let mark = plant.lines.count
        plant.send("holders " + names.joined(separator: " "))
        var wrong: [String] = []
        let outputs = Set([board.stepper!.stepLine, board.stepper!.directionLine, board.stepper!.enableLine, board.alarmOutput?.name].compactMap { $0 })
        for n in names {
            let expected = "pumpd:" + (outputs.contains(n) ? "out" : "in")
            guard let l = plant.waitFor("holder \(n) ", after: mark, timeout: 5) else { wrong.append("\(n): no answer"); continue }
            let got = l.text.split(separator: " ")[2]
            if got != expected { wrong.append("\(n): \(got), expected \(expected)") }
        }
        record("lines/found-by-name", wrong.isEmpty, wrong.isEmpty ? "\(names.count) lines held by pumpd in their directions" : wrong.joined(separator: "; "))
        let status = self.status(plant)
        let active = status["enable_active_samples"] ?? -1, samples = status["samples"] ?? 0
        record("lines/enable-off-from-request", active == 0 && samples > 100,
               "ENABLE active in \(active) of \(samples) samples since before pumpd started (no stroke due)")
        let exit = terminate(pumpd)
        let enables = plant.lines.filter { $0.text.hasPrefix("enable 1") }.count
        record("lines/enable-off-after-sigterm", exit == 0 && enables == 0 && pumpd.lines.contains { $0.text.contains("shutdown: motor disabled") },
               "exit status \(exit.map(String.init) ?? "none"), ENABLE active \(enables) times")
    }

    /// pumpd killed (SIGKILL: no safe stop runs) while ENABLE is active between strokes: once the
}
