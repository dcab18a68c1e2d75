import Foundation
import PumpPlant

/// The delivery case: a set rate with the bolus button on the way, a kink once the occlusion
/// detector has armed, and the plant's step count against pumpd's ledger at exit. Its own file
/// because it is the suite's long run, the one that measures a hazard to the pin end to end.
extension Suite {
    /// way; then a kink. Checks the plant's step count against pumpd's ledger at exit.
    func delivery() {
        var journal: String?
        if let learned = settings.learnedJournal {
            let copy = "\(settings.workDirectory)/delivery-journal.sqlite"
            try? FileManager.default.removeItem(atPath: copy)
            guard (try? FileManager.default.copyItem(atPath: learned, toPath: copy)) != nil else {
                record("delivery/setup", false, "cannot copy the learned journal \(learned)")
                return
            }
            journal = copy
        }
        guard let (plant, pumpd) = start(case: "delivery", prescription: Prescriptions.fast, journal: journal) else { return }
        defer { plant.stop(); pumpd.stop() }
        // A journal pumpd continues from: its counters start where the learning run left them.
        let restoredFrom = pumpd.lines.first { $0.text.contains("restoring from stroke") }?.text
        let baseStrokes = restoredFrom.flatMap { Self.field("stroke", in: $0) } ?? 0
        let baseProgrammed = restoredFrom.flatMap { Self.field("programmed_nl", in: $0) } ?? 0
        if journal != nil {
            record("delivery/armed-from-the-journal", restoredFrom?.contains("line learned") == true,
                   restoredFrom.map { String($0.split(separator: "]").last ?? "") } ?? "pumpd did not restore the learned journal")
        }
        let started = Monotonic.nanoseconds()
        // The patient's button: a press is a bolus request; a second one inside the lockout is refused.
        Thread.sleep(forTimeInterval: 10)
        plant.send("press")
        let accepted = pumpd.waitFor("patient bolus", timeout: 15)
        record("bolus-button/press-requests-bolus", accepted?.text.contains("accepted") == true, accepted?.text.split(separator: "]").last.map(String.init) ?? "no bolus event")
        // After the bolus has run (30 s), so the refusal can only be the lockout.
        Thread.sleep(forTimeInterval: 35)
        let mark = pumpd.lines.count
        plant.send("press")
        let refused = pumpd.waitFor("patient bolus", after: mark, timeout: 15)
        record("bolus-button/lockout-honoured", refused?.text.contains("refused") == true && refused?.text.contains("lockout") == true,
               refused?.text.split(separator: "]").last.map(String.init) ?? "no bolus event")

        // Learn the open line for as long as the detector needs before it arms (from a learned
        // journal it is armed already: a short open-line span), then kink.
        let armed = Double(journal == nil ? Prescriptions.armingWait : Prescriptions.armedOpenLineSeconds)
        while Double(Monotonic.nanoseconds() - started) / 1e9 < armed, pumpd.isRunning { Thread.sleep(forTimeInterval: 1) }
        let early = pumpd.lines.first { $0.text.contains("alarm raised") }
        record("delivery/no-alarm-on-open-line", early == nil, early.map { String($0.text.split(separator: "]").last ?? "") } ?? "no alarm in \(Int(armed)) s")
        let before = status(plant)
        let strokesBefore = before["strokes"] ?? 0
        let mark2 = plant.lines.count
        plant.send(Fault.occlusion(fraction: 1).line)
        let alarm = pumpd.waitFor("alarm raised: occlusion", timeout: 180)
        let low = plant.waitFor("enable 0 holder=pumpd", after: mark2, timeout: 10)
        let events = plant.lines.dropFirst(mark2)
        let kinkAt = events.first { $0.text.hasPrefix("kink ") }.flatMap { Self.time($0.text) }
        let sampleAt = events.first { $0.text.hasPrefix("hazard-sample") }.flatMap { Self.time($0.text) }
        let lowAt = low.flatMap { Self.time($0.text) }
        let kinkedStrokes = (status(plant)["strokes"] ?? 0) - strokesBefore
        var detail = "alarm \(alarm == nil ? "missing" : "raised"), ENABLE \(low == nil ? "not low" : "low")"
        if let sampleAt, let lowAt, let kinkAt {
            let fromSample = Double(lowAt - sampleAt) / 1e6, fromKink = Double(lowAt - kinkAt) / 1e6
            detail += String(format: "; hazard's first sample → ENABLE low at the pin: %.0f ms (%d strokes into the kink; %.0f ms from the kink)", fromSample, kinkedStrokes, fromKink)
            report.measurements.append(("hazard_to_enable_low_ms", String(format: "%.0f", fromSample)))
            report.measurements.append(("kinked_strokes", "\(kinkedStrokes)"))
        }
        record("occlusion/alarm-and-enable-low", alarm != nil && low != nil, detail)
        measureHaltToPin(pumpd, low: low)

        let exit = terminate(pumpd)
        let totals = pumpd.lines.first { $0.text.contains("shutdown: totals") }?.text ?? ""
        let commanded = Self.field("commanded_strokes", in: totals), programmed = Self.field("programmed_nl", in: totals)
        let final = status(plant)
        let steps = final["strokes"] ?? -1, disabled = final["strokes_disabled"] ?? -1
        let stroke = Int(board.strokeVolume.value)
        let run = commanded.map { $0 - baseStrokes }, runProgrammed = programmed.map { $0 - baseProgrammed }
        let ok = exit == 0 && run == steps && disabled == 0 && runProgrammed.map { p in run.map { abs(p - $0 * stroke) < stroke } ?? false } == true
        record("delivery/plant-steps-match-ledger", ok,
               "plant counted \(steps) steps (\(disabled) while disabled); pumpd's ledger \(run.map(String.init) ?? "?") strokes, programmed \(runProgrammed.map(String.init) ?? "?") nL this run; exit \(exit.map(String.init) ?? "none")")
        report.measurements.append(("delivery_strokes", "\(steps)"))
    }
}
