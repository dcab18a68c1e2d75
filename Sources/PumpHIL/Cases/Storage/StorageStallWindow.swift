import Foundation

/// A storage that stalls (writes neither fail nor land) under a running pumpd: `journal_fault`
/// rises at the stall limit, a bolus is refused, `status` still answers. Its own file because a
/// stall is judged by time, where a failing storage is judged by its errors.
extension Suite {
    /// The storage stalls (the device suspended: writes neither fail nor land) for 5 s, longer than
    /// `journalStallLimit` (3 s). Storage attack, 2026-12-04: nothing was raised, and a bolus
    /// pressed during a freeze was accepted. Now `journal_fault` rises once a write has waited for
    /// the limit, a press is refused, the clinician's `status` still answers (its counter is not
    /// waited for), and the alarm's cause goes when the storage answers.
    func stallWindow(_ dm: DeviceMapper, plant: ChildProcess, pumpd: ChildProcess, clinician: (String) -> (Int32?, [String])) {
        let mark = pumpd.lines.count
        let t0 = Monotonic.nanoseconds()
        if let why = dm.hold(true) {
            record("storage/stall-raise-journal-fault", false, why)
            return
        }
        let raised = pumpd.waitFor("alarm raised: journal_fault", after: mark, timeout: 4.5)
        let pressMark = pumpd.lines.count
        if raised != nil { plant.send("press") }
        let bolus = raised == nil ? nil : pumpd.waitFor("patient bolus", after: pressMark, timeout: 3)
        let statusStarted = Monotonic.nanoseconds()
        let (statusExit, statusLines) = raised == nil ? (nil, []) : clinician("status")
        let statusSeconds = Double(Monotonic.nanoseconds() - statusStarted) / 1e9
        let left = t0 + 5_000_000_000 - Monotonic.nanoseconds()
        if left > 0 { Thread.sleep(forTimeInterval: Double(left) / 1e9) }
        let released = dm.hold(false)
        let returned = Monotonic.nanoseconds()
        let why = pumpd.lines.dropFirst(mark).first { $0.text.contains("journal: ") }.map { Self.message($0.text) } ?? ""
        record("storage/stall-raise-journal-fault", raised != nil && why.contains("stalled"),
               raised.map { String(format: "after %.1f s; ", Double($0.receivedNanoseconds - t0) / 1e9) + why }
                   ?? "no journal_fault within 4.5 s of the device's suspend (limit 3 s)")
        record("storage/stall-bolus-refused", bolus.map { $0.text.contains("refused") && $0.text.contains("journal_fault") } == true,
               bolus.map { Self.message($0.text) } ?? (raised == nil ? "not pressed (no alarm)" : "no answer to the button within 3 s"))
        let alarms = statusLines.last { $0.hasPrefix("alarms") }
        record("storage/stall-status-answers", statusExit == 0 && alarms?.contains("journal_fault") == true && statusSeconds < 2,
               String(format: "pumpctl status exit %@ in %.1f s during the stall: '%@'", statusExit.map(String.init) ?? "none", statusSeconds,
                      alarms ?? statusLines.suffix(2).joined(separator: " | ")))
        let gone = released == nil ? pumpd.waitFor("alarm cause gone: journal_fault", after: mark, timeout: 20) : nil
        record("storage/stall-journal-resumes", gone != nil && pumpd.isRunning,
               released ?? gone.map { String(format: "cause gone %.1f s after the device resumed", Double($0.receivedNanoseconds - returned) / 1e9) }
                   ?? "journal_fault's cause still present 20 s after the device resumed (pumpd \(pumpd.isRunning ? "running" : "gone"))")
    }
}
