import Foundation

/// Where the storage case finds the device-mapper device under the journal's folder (docs/hil.md,
/// "Storage faults"). In the VM: a 12 MB ext4 filesystem on `dmsetup create pumpstore`.
public struct StorageFaults: Sendable {
    /// The journal's folder: an ext4 filesystem on the mapper device.
    public var directory: String
    /// The device-mapper name; its table is a linear map of one whole device.
    public var mapperName: String
    /// The first 512-byte sector of the filesystem's free blocks when it was made. The case fails
    /// every sector from there on (the blocks any file's data is given) and keeps the metadata and
    /// ext4's own journal good: a card whose data area fails. (Failing the metadata as well aborts
    /// ext4's journal, and the filesystem stays read-only until it is mounted again.)
    public var dataSector: Int
    public var dmsetupPath: String
    public var pumpctlPath: String
    public init(directory: String, mapperName: String, dataSector: Int, dmsetupPath: String, pumpctlPath: String) {
        self.directory = directory
        self.mapperName = mapperName
        self.dataSector = dataSector
        self.dmsetupPath = dmsetupPath
        self.pumpctlPath = pumpctlPath
    }
}

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

    /// The 512-byte sector where the file's last block lies on its device (FIBMAP, root only).
    static func lastBlockSector(of path: String) -> Int? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        var blockSize: Int32 = 0
        guard fstat(fd, &st) == 0, st.st_size > 0, ioctl(fd, 2 /* FIGETBSZ */, &blockSize) == 0, blockSize >= 512 else { return nil }
        var block = Int32((Int(st.st_size) - 1) / Int(blockSize))
        guard ioctl(fd, 1 /* FIBMAP */, &block) == 0, block > 0 else { return nil }
        return Int(block) * Int(blockSize) / 512
    }

    /// One storage fault under a running pumpd, 12 s long, judged against the plant.
    /// `afterwards`: what a patient's press must get once the storage is back and a clinician has
    /// acknowledged (text in pumpd's answer, and what that means). `clinician`: runs a pumpctl
    /// command with the clinician's key; `suspendDuringFault`: the clinician also looks, suspends
    /// and resumes while the storage still fails (`clinicianDuringFault`).
    private func faultWindow(_ name: String, plant: ChildProcess, pumpd: ChildProcess, begin: () -> String?, end: () -> String?,
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

    /// The storage stalls (the device suspended: writes neither fail nor land) for 5 s, longer than
    /// `journalStallLimit` (3 s). Storage attack, 2026-12-04: nothing was raised, and a bolus
    /// pressed during a freeze was accepted. Now `journal_fault` rises once a write has waited for
    /// the limit, a press is refused, the clinician's `status` still answers (its counter is not
    /// waited for), and the alarm's cause goes when the storage answers.
    private func stallWindow(_ dm: DeviceMapper, plant: ChildProcess, pumpd: ChildProcess, clinician: (String) -> (Int32?, [String])) {
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

    /// Fills the filesystem with one file, allocated (`posix_fallocate`, as root into the reserved
    /// blocks too) rather than written: instant, where writing 7 MB kept the emulated guest busy
    /// for seconds. nil when full.
    static func fill(_ path: String) -> String? {
        let fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0o600)
        guard fd >= 0 else { return "cannot create \(path): errno \(errno)" }
        defer { close(fd) }
        var offset: off_t = 0
        for chunk: off_t in [1 << 20, 1 << 16, 1 << 12] {
            var result: Int32 = 0
            repeat {
                result = posix_fallocate(fd, offset, chunk)
                if result == 0 { offset += chunk }
            } while result == 0
            guard result == ENOSPC else { return "posix_fallocate \(path) at \(offset): errno \(result)" }
        }
        return offset > 0 ? nil : "\(path): nothing could be allocated"
    }

    /// A program's exit status and output lines (nil status: it did not end within 30 s).
    static func run(_ executable: String, _ arguments: [String]) -> (Int32?, [String]) {
        guard let p = try? ChildProcess(name: (executable as NSString).lastPathComponent, executable: executable, arguments: arguments) else {
            return (nil, ["cannot start \(executable)"])
        }
        let status = p.waitForExit(timeout: 30)
        return (status, p.lines.map(\.text))
    }

    /// A log line without its timestamp and level.
    static func message(_ line: String) -> String { String(line.split(separator: "]").last ?? Substring(line)).trimmingCharacters(in: .whitespaces) }
}

/// `dmsetup` on the storage case's device. Tables are swapped with suspend, load, resume; the
/// suspend lets the filesystem flush first, as a card would have what was written before it failed.
struct DeviceMapper {
    let faults: StorageFaults
    let workDirectory: String
    private(set) var lastOutput = ""

    init(faults: StorageFaults, workDirectory: String) {
        self.faults = faults
        self.workDirectory = workDirectory
    }

    /// The device's table now, when it is one linear target from sector 0.
    mutating func table() -> LinearTable? {
        let (status, lines) = Suite.run(faults.dmsetupPath, ["table", faults.mapperName])
        lastOutput = lines.joined(separator: " | ")
        guard status == 0, lines.count == 1 else { return nil }
        return LinearTable(lines[0])
    }

    /// nil when loaded, else what went wrong.
    func load(_ table: LinearTable) -> String? { load(table.text) }

    /// `dmsetup suspend` (I/O already issued completes; new I/O waits, neither failing nor
    /// landing: a storage that stalls) or `resume`. nil when done, else what went wrong.
    func hold(_ on: Bool) -> String? {
        let (status, lines) = Suite.run(faults.dmsetupPath, [on ? "suspend" : "resume", faults.mapperName, "--noudevsync"])
        return status == 0 ? nil : "dmsetup \(on ? "suspend" : "resume"): exit \(status.map(String.init) ?? "none"): \(lines.joined(separator: " | "))"
    }

    func load(_ text: String) -> String? {
        let file = "\(workDirectory)/storage-table"
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) else { return "cannot write \(file)" }
        for step in [["suspend", faults.mapperName], ["load", faults.mapperName, file], ["resume", faults.mapperName]] {
            let (status, lines) = Suite.run(faults.dmsetupPath, step + ["--noudevsync"])
            if status != 0 {
                _ = Suite.run(faults.dmsetupPath, ["resume", faults.mapperName, "--noudevsync"])
                return "dmsetup \(step[0]): exit \(status.map(String.init) ?? "none"): \(lines.joined(separator: " | "))"
            }
        }
        return nil
    }
}

/// `0 <sectors> linear <device> <offset>`: a device-mapper table of one linear target.
struct LinearTable {
    let sectors: Int
    let device: String
    let offset: Int
    var text: String { "0 \(sectors) linear \(device) \(offset)\n" }

    init?(_ line: String) {
        let f = line.split(separator: " ")
        guard f.count == 5, f[0] == "0", f[2] == "linear", let n = Int(f[1]), let o = Int(f[4]) else { return nil }
        sectors = n
        device = String(f[3])
        offset = o
    }

    /// The same map with every sector from `from` on failing (the `error` target).
    func failing(from: Int) -> String? {
        guard from > 0, from < sectors else { return nil }
        return "0 \(from) linear \(device) \(offset)\n\(from) \(sectors - from) error\n"
    }

    /// The same map with `bad` failing and the rest as it was.
    func failing(sectors bad: Range<Int>) -> String {
        var lines: [String] = []
        if bad.lowerBound > 0 { lines.append("0 \(bad.lowerBound) linear \(device) \(offset)") }
        lines.append("\(bad.lowerBound) \(bad.count) error")
        if bad.upperBound < sectors { lines.append("\(bad.upperBound) \(sectors - bad.upperBound) linear \(device) \(offset + bad.upperBound)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
