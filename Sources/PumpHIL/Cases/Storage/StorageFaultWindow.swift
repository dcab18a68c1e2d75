import Foundation

/// One storage fault (I/O errors, a full filesystem) under a running pumpd, judged against the
/// plant: `journal_fault` rises, basal goes on at the programmed rate, a bolus waits, the clinician
/// can still look and stop, and the journal resumes. Its own file: the window the two faults share.
extension Suite {
    /// One storage fault under a running pumpd, 12 s long, judged against the plant.
    /// `afterwards`: what a patient's press must get once the storage is back and a clinician has
    /// acknowledged (text in pumpd's answer, and what that means). `clinician`: runs a pumpctl
    /// command with the clinician's key; `suspendDuringFault`: the clinician also looks, suspends
    /// and resumes while the storage still fails (`clinicianDuringFault`).
    func faultWindow(_ name: String, plant: ChildProcess, pumpd: ChildProcess, begin: () -> String?, end: () -> String?,
                             clinician: (String) -> (Int32?, [String]), suspendDuringFault: Bool, afterwards: (text: String, meaning: String)) {
        let pumpdMark = pumpd.lines.count, plantMark = plant.lines.count
        let t0 = Monotonic.nanoseconds()
        if let why = begin() {
            record("storage/\(name)-injected", false, why)
            return
        }
        let raised = pumpd.waitFor("alarm raised: journal_fault", after: pumpdMark, timeout: 20)
        record("storage/\(name)-raise-journal-fault", raised != nil,
               raised.map { "after \(String(format: "%.1f", Double($0.receivedNanoseconds - t0) / 1e9)) s; " }.map { $0 + (pumpd.lines.dropFirst(pumpdMark).first { $0.text.contains("journal: ") }.map { Self.message($0.text) } ?? "") }
                   ?? "no journal_fault within 20 s of the fault")
        let pressMark = pumpd.lines.count
        plant.send("press")
        let bolus = pumpd.waitFor("patient bolus", after: pressMark, timeout: 10)
        record("storage/\(name)-bolus-waits", bolus.map { $0.text.contains("refused") && $0.text.contains("journal_fault") } == true,
               bolus.map { Self.message($0.text) } ?? "no answer to the button within 10 s")
        let window: Int64 = 12_000_000_000
        let left = t0 + window - Monotonic.nanoseconds()
        if left > 0 { Thread.sleep(forTimeInterval: Double(left) / 1e9) }
        let t1 = Monotonic.nanoseconds()
        let strokes = plant.lines.dropFirst(plantMark).filter {
            $0.receivedNanoseconds >= t0 && $0.receivedNanoseconds <= t1 && $0.text.hasPrefix("stroke ") && $0.text.contains("enabled=1")
        }.count
        if suspendDuringFault { clinicianDuringFault(name, plant: plant, pumpd: pumpd, clinician: clinician) }
        if let why = end() {
            record("storage/\(name)-restored", false, why)
            return
        }
        let returned = Monotonic.nanoseconds()
        // The programmed rate, from the prescription and the board's stroke, not from pumpd.
        let expected = Double(t1 - t0) / 1e9 / Prescriptions.storageStrokeSeconds(strokeNanolitres: Double(board.strokeVolume.value))
        record("storage/\(name)-basal-continues", Double(strokes) >= expected.rounded(.down) - 2 && Double(strokes) <= expected.rounded(.up) + 2,
               "\(strokes) strokes at the plant in \(String(format: "%.1f", Double(t1 - t0) / 1e9)) s of fault; the programme's rate gives \(String(format: "%.1f", expected))")
        let gone = pumpd.waitFor("alarm cause gone: journal_fault", after: pumpdMark, timeout: 20)
        record("storage/\(name)-journal-resumes", gone != nil && pumpd.isRunning,
               gone.map { "cause gone \(String(format: "%.1f", Double($0.receivedNanoseconds - returned) / 1e9)) s after the storage returned" }
                   ?? "journal_fault's cause still present 20 s after the storage returned (pumpd \(pumpd.isRunning ? "running" : "gone"))")
        // The clinician acknowledges; the alarm ends (acknowledged, cause gone) and boluses are
        // judged by their own rules again.
        let (ackStatus, _) = clinician("acknowledge")
        let alarms = clinician("status").1.last { $0.hasPrefix("alarms") }
        let ackMark = pumpd.lines.count
        plant.send("press")
        let after = pumpd.waitFor("patient bolus", after: ackMark, timeout: 10)
        record("storage/\(name)-bolus-after-acknowledge",
               ackStatus == 0 && alarms.map { !$0.contains("journal_fault") } == true && after?.text.contains(afterwards.text) == true,
               "acknowledge exit \(ackStatus.map(String.init) ?? "none"); pumpctl status: '\(alarms ?? "no alarms line")'; then the button: "
               + (after.map { Self.message($0.text) } ?? "no answer within 10 s") + " (expected: \(afterwards.meaning))")
    }

    /// While the journal cannot record a command counter, the clinician can still see the pump and
    /// stop it (storage attack, 2026-12-04: every command was refused, `status` and `suspend`
    /// included): `status` shows `journal_fault`, `suspend` stops the strokes at the plant, `resume`
    /// brings them back; each on a counter kept in memory (pumpd's log says so).
    private func clinicianDuringFault(_ name: String, plant: ChildProcess, pumpd: ChildProcess, clinician: (String) -> (Int32?, [String])) {
        let mark = pumpd.lines.count
        let (statusExit, statusLines) = clinician("status")
        let alarms = statusLines.last { $0.hasPrefix("alarms") }
        record("storage/\(name)-status-during-fault", statusExit == 0 && alarms?.contains("journal_fault") == true,
               "pumpctl status exit \(statusExit.map(String.init) ?? "none"): '\(alarms ?? statusLines.suffix(2).joined(separator: " | "))'")
        let (suspendExit, suspendLines) = clinician("suspend")
        let suspendedAt = Monotonic.nanoseconds()
        Thread.sleep(forTimeInterval: 4)
        let resumedAt = Monotonic.nanoseconds()
        let (resumeExit, resumeLines) = clinician("resume")
        // A stroke already under way when the suspend arrived may finish within the first half second.
        let whileSuspended = plant.lines.filter {
            $0.receivedNanoseconds >= suspendedAt + 500_000_000 && $0.receivedNanoseconds <= resumedAt && $0.text.hasPrefix("stroke ") && $0.text.contains("enabled=1")
        }.count
        let resumed = plant.waitFor(after: plant.lines.count, timeout: 10) { $0.hasPrefix("stroke ") && $0.contains("enabled=1") }
        let inMemory = pumpd.lines.dropFirst(mark).filter { $0.text.contains("counter kept in memory") }.count
        record("storage/\(name)-suspend-resume-during-fault",
               suspendExit == 0 && resumeExit == 0 && whileSuspended == 0 && resumed != nil && inMemory >= 3
                   && suspendLines.contains { $0.contains("warning: not recorded yet") },
               "suspend exit \(suspendExit.map(String.init) ?? "none"), \(whileSuspended) strokes in 3.5 s suspended, resume exit \(resumeExit.map(String.init) ?? "none"), "
               + "\(resumed != nil ? "strokes again" : "no stroke within 10 s of resume"); \(inMemory) commands on a counter kept in memory (3 expected); "
               + "the suspend's answer \(suspendLines.contains { $0.contains("warning: not recorded yet") } ? "warns it is not recorded yet" : "does not warn that it is not recorded")"
               + (suspendExit == 0 && resumeExit == 0 ? "" : ": " + (suspendLines + resumeLines).suffix(2).joined(separator: " | ")))
    }
}
