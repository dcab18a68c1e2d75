import Foundation

/// The storage case's phases, in order: I/O errors, then a full filesystem and a stall, then a
/// read error at the start; each judged against the plant and closed by an audit of the journal.
/// The fault windows themselves are in `StorageFaultWindow.swift` and `StorageStallWindow.swift`.
extension Suite {
    /// Issue 16 part 5: the journal's storage fails under a running pumpd on a real kernel, first
    /// with I/O errors (device-mapper `error` target under the data blocks), then full (a file
    /// fills the filesystem). Each time the fault table's `journal_fault` policy must hold against
    /// the plant's count: the alarm rises, basal goes on at the programmed rate (no more, no
    /// less), a patient's bolus waits; when the storage returns, the journal resumes and the
    /// alarm's cause is gone. After each phase a clean stop leaves a journal that passes
    /// `integrity_check` and whose confirmed strokes are the strokes the plant counted; the second
    /// phase starts from the first's journal (restored, not lost).
    func storage() {
        guard let s = settings.storage else {
            record("storage/device", nil, "no device-mapper storage (pump-hil suite --storage-dir --storage-mapper --storage-data-sector)")
            return
        }
        var dm = DeviceMapper(faults: s, workDirectory: settings.workDirectory)
        guard let healthy = dm.table(), let failing = healthy.failing(from: s.dataSector) else {
            record("storage/device", false, "'\(s.mapperName)' is not one linear map reaching beyond sector \(s.dataSector): \(dm.lastOutput)")
            return
        }
        let journal = "\(s.directory)/storage-journal.sqlite"
        let fill = "\(s.directory)/fill"
        for f in [journal, journal + "-journal", journal + ".lock", fill] { try? FileManager.default.removeItem(atPath: f) }
        defer { _ = dm.load(healthy) }
        // The command socket, for the clinician's acknowledgement once the storage is back.
        let keys = "\(settings.workDirectory)/storage-keys", socket = "\(settings.workDirectory)/storage.sock"
        try? FileManager.default.removeItem(atPath: keys)
        let (keysStatus, keysOutput) = Self.run(s.pumpctlPath, ["keys", "init", "--dir", keys])
        guard keysStatus == 0 else { record("storage/keys", false, "pumpctl keys init: \(keysOutput.joined(separator: " | "))"); return }
        let clinician = { (command: String) -> (Int32?, [String]) in
            Self.run(s.pumpctlPath, [command, "--socket", socket, "--key", "\(keys)/clinician.key"])
        }
        let commandSocket = ["--socket", socket, "--keys", keys]

        // Phase 1: I/O errors under every data block. Afterwards the first patient bolus is
        // accepted (nothing else blocks it).
        guard let (plant1, pumpd1) = start(case: "storage", prescription: Prescriptions.storage, journal: journal, newJournal: true,
                                           pumpdArguments: commandSocket) else { return }
        defer { plant1.stop(); pumpd1.stop() }
        guard plant1.waitFor("stroke n=3 ", timeout: 30) != nil else { record("storage/strokes", false, "no strokes within 30 s"); return }
        faultWindow("io-errors", plant: plant1, pumpd: pumpd1, begin: { dm.load(failing) }, end: { dm.load(healthy) },
                    clinician: clinician, suspendDuringFault: true, afterwards: ("accepted", "accepted"))
        let first = stopAndAudit("io-errors", plant: plant1, pumpd: pumpd1, journal: journal, strokesBefore: 0)
        // One plant at a time on the lines: a second one answers every step with an encoder edge
        // of its own (pumpd rightly halts on the runaway) and writes its own pressure to the ADC.
        plant1.stop()
        guard let first else { return }

        // Phase 2: from that journal, a full filesystem. Afterwards the patient bolus is refused by
        // the lockout of phase 1's bolus: the journal kept it through both faults and the restart.
        guard let (plant2, pumpd2) = start(case: "storage", prescription: Prescriptions.storage, journal: journal,
                                           pumpdArguments: commandSocket) else { return }
        defer { plant2.stop(); pumpd2.stop() }
        let restored = pumpd2.lines.first { $0.text.contains("restoring from stroke=") }
        let lost = pumpd2.lines.first { $0.text.contains("LOST") || $0.text.contains("journal_lost") }
        record("storage/restart-restores", restored != nil && lost == nil,
               lost.map { "the journal was taken for lost: \($0.text)" } ?? restored.map { Self.message($0.text) } ?? "no 'restoring' line")
        guard plant2.waitFor("stroke n=3 ", timeout: 30) != nil else { record("storage/strokes", false, "no strokes within 30 s after the restart"); return }
        faultWindow("full", plant: plant2, pumpd: pumpd2, begin: { Self.fill(fill) }, end: {
            do { try FileManager.default.removeItem(atPath: fill) } catch { return "cannot remove \(fill): \(error)" }
            return nil
        }, clinician: clinician, suspendDuringFault: false, afterwards: ("refused, lockout", "refused by phase 1's lockout"))
        stallWindow(dm, plant: plant2, pumpd: pumpd2, clinician: clinician)
        _ = stopAndAudit("full", plant: plant2, pumpd: pumpd2, journal: journal, strokesBefore: first)
        plant2.stop()
        readErrorAtStart(dm, healthy: healthy, journal: journal, pumpdArguments: commandSocket)
    }

    /// Phase 3: one block of the journal cannot be read when pumpd starts (its last, found with
    /// FIBMAP), the page cache dropped as after a reboot. That is the storage, not a damaged
    /// journal: pumpd refuses to start (exit 1, "the storage refused") and moves nothing aside;
    /// with the block readable again it restores. (Storage attack, 2026-12-04: SQLite read the
    /// failed block as a short read, called the file malformed, and the intact journal was moved
    /// aside as lost, with the clinician's program, the bolus history and the ledger.)
    private func readErrorAtStart(_ dm: DeviceMapper, healthy: LinearTable, journal: String, pumpdArguments: [String]) {
        guard let sector = Self.lastBlockSector(of: journal) else {
            record("storage/read-error-at-start-refused", false, "cannot map \(journal)'s last block (FIBMAP)")
            return
        }
        if let why = dm.load(healthy.failing(sectors: sector..<(sector + 8))) {
            record("storage/read-error-at-start-refused", false, why)
            return
        }
        _ = try? "3\n".write(toFile: "/proc/sys/vm/drop_caches", atomically: false, encoding: .utf8)
        let folder = (journal as NSString).deletingLastPathComponent
        let filesBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        let (status, lines) = Self.run(settings.pumpdPath, ["--board", settings.boardPath, "--prescription", "\(settings.workDirectory)/storage-prescription.json",
                                                           "--journal", journal] + pumpdArguments)
        let filesAfter = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        _ = dm.load(healthy)
        let refusal = lines.first { $0.contains("the storage refused") }
        let movedAside = filesAfter.subtracting(filesBefore).filter { $0.contains(".lost-") }
        record("storage/read-error-at-start-refused", status == 1 && refusal != nil && movedAside.isEmpty && filesAfter.contains((journal as NSString).lastPathComponent),
               "exit \(status.map(String.init) ?? "none"); \(refusal.map { Self.message($0) } ?? lines.suffix(2).joined(separator: " | "))"
               + (movedAside.isEmpty ? "" : "; moved aside: \(movedAside.sorted().joined(separator: ", "))"))
        guard let (plant, pumpd) = start(case: "storage", prescription: Prescriptions.storage, journal: journal, pumpdArguments: pumpdArguments) else { return }
        defer { plant.stop(); pumpd.stop() }
        let restored = pumpd.lines.first { $0.text.contains("restoring from stroke=") }
        record("storage/read-error-gone-restores", restored != nil && terminate(pumpd) == 0, restored.map { Self.message($0.text) } ?? "no 'restoring' line")
    }

    /// A clean stop, then `pumpctl audit` of the journal: integrity, and the plant's strokes (this
    /// run's plus `strokesBefore`) are the strokes the journal confirms. Returns the total.
    private func stopAndAudit(_ name: String, plant: ChildProcess, pumpd: ChildProcess, journal: String, strokesBefore: Int) -> Int? {
        let exit = terminate(pumpd)
        let counts = status(plant)
        let strokes = (counts["strokes"] ?? -1) + strokesBefore, disabled = counts["strokes_disabled"] ?? -1
        let (status, lines) = Self.run(settings.storage?.pumpctlPath ?? "pumpctl", ["audit", "--journal", journal, "--lockout", "10m"])
        var audit: [String: String] = [:]
        for l in lines { if let eq = l.firstIndex(of: "=") { audit[String(l[..<eq])] = String(l[l.index(after: eq)...]) } }
        let confirmed = audit["confirmed_strokes"].flatMap(Int.init)
        record("storage/\(name)-journal-intact", exit == 0 && status == 0 && audit["integrity"] == "ok" && confirmed == strokes && disabled == 0,
               "exit \(exit.map(String.init) ?? "none"); audit exit \(status.map(String.init) ?? "none"): integrity \(audit["integrity"] ?? "?"), "
               + "confirmed \(confirmed.map(String.init) ?? "?") strokes, the plant counted \(strokes) (\(disabled) while disabled), "
               + "sessions \(audit["sessions"] ?? "?"), counters monotonic \(audit["counters_monotonic"] ?? "?")")
        return confirmed == strokes ? strokes : nil
    }
}
