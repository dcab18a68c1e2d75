import Controller
import Foundation
import PumpConfig

/// The hardware-in-the-loop suite: the real pumpd, through a board file, against devices the
/// plant process plays. The same code runs in the VM (kernel simulators) and on a rig (loopback
/// jig); only the board file differs. Each case starts a fresh plant and a fresh pumpd.
public final class Suite {
    public struct Settings: Sendable {
        public var boardPath: String
        public var pumpdPath: String
        /// The command that starts the plant (this executable's `plant` subcommand).
        public var plantCommand: [String]
        public var workDirectory: String
        /// Cases to run (all when empty).
        public var only: Set<String> = []
        /// A journal that already holds the learned open line of this plant (`pumpctl simulate
        /// --journal-out`): the delivery case starts pumpd from a copy and its detector is armed at
        /// once, instead of learning for ten minutes in real time. nil: learn in real time.
        public var learnedJournal: String?
        /// A folder on a filesystem the suite may freeze (FIFREEZE, through busybox fsfreeze): the
        /// watchdog case puts a journal there to hang pumpd's dose loop. nil: that check is skipped.
        public var freezableDirectory: String?
        /// The storage case's device-mapper device under the journal's folder (nil: skipped).
        public var storage: StorageFaults?
        public init(boardPath: String, pumpdPath: String, plantCommand: [String], workDirectory: String) {
            self.boardPath = boardPath
            self.pumpdPath = pumpdPath
            self.plantCommand = plantCommand
            self.workDirectory = workDirectory
        }
    }

    public struct Check: Sendable {
        public var name: String
        public var outcome: Outcome
        public var detail: String
        public enum Outcome: String, Sendable { case passed, failed, skipped }
    }

    public static let caseNames = ["board-check", "watchdog", "lines", "kill", "slip", "pressure-chip", "battery", "storage", "delivery"]

    let settings: Settings
    let board: Board
    public private(set) var checks: [Check] = []
    /// Numbers the closing report quotes (hazard → enable low at the pin, and so on).
    public private(set) var measurements: [(String, String)] = []
    private let log: (String) -> Void
    /// Halt decision (pumpd's `halt decision monotonic_ns=`) → ENABLE low seen at the pin (the
    /// plant's `enable 0 … t=`), ms, one per hazard that halted.
    public private(set) var haltToPin: [Double] = []
    /// The case's processes, whose last output a failed check prints.
    var current: [ChildProcess] = []

    public init(settings: Settings, log: @escaping (String) -> Void) throws {
        self.settings = settings
        do { board = try Board.load(path: settings.boardPath) } catch { throw SuiteError(message: error.description) }
        guard board.stepper != nil, let sensor = board.pressureSensor else { throw SuiteError(message: "\(settings.boardPath): not a linux board") }
        // The plant writes the ADS1115's registers (i2c-stub) or drives its input (a DAC): a chip
        // read by raw transfers, as the ABP2, has no plant here (docs/hil.md).
        guard board.pressureADC != nil else {
            throw SuiteError(message: "\(settings.boardPath): pressure_sensor.model \(sensor.model): the HIL plant drives an ads1115 only")
        }
        self.log = log
    }

    public func run() {
        for name in Self.caseNames where settings.only.isEmpty || settings.only.contains(name) {
            log("== case \(name)")
            let started = Monotonic.nanoseconds()
            current = []
            let before = checks.count
            switch name {
            case "board-check": boardCheck()
            case "watchdog": watchdog()
            case "lines": lines()
            case "kill": kill()
            case "slip": slip()
            case "pressure-chip": pressureChip()
            case "battery": battery()
            case "storage": storage()
            default: delivery()
            }
            if checks.count == before { record("\(name)", false, "the case recorded no check") }
            log("== case \(name): \(String(format: "%.1f", Double(Monotonic.nanoseconds() - started) / 1e9)) s")
        }
    }

    // MARK: Cases

    /// `pumpd --check-board` against the live devices, first (before any pumpd has configured the
    /// ADC): the board passes item by item, chips identified by their registers; a board with a
    /// miswired line name and a wrong address fails, naming both fields, and the rest still pass.
    private func boardCheck() {
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
    /// kernel's log says; after a clean SIGTERM (magic close) it does not expire. First among the
    /// pumpd cases: an expiry left by an earlier case's SIGKILL cannot be mistaken for one here.
    private func watchdog() {
        guard board.watchdogDevice != nil, let asked = board.watchdogTimeoutSeconds else {
            record("watchdog/board", nil, "the board has no watchdog_device with watchdog_timeout_s")
            return
        }
        guard let kernel = KernelLog() else { record("watchdog/kmsg", nil, "no /dev/kmsg to read the watchdog's expiry from"); return }
        let expiry = "softdog: Triggered"

        // Healthy, then frozen.
        let granted = watchdogHealthyThenFrozen(kernel: kernel, asked: asked, expiry: expiry)

        // The dose loop hung: its journal's filesystem frozen, so the next intent never becomes
        // durable and the loop waits; the watchdog task runs on, sees the heartbeat stop, and
        // stops feeding.
        if let dir = settings.freezableDirectory {
            watchdogWithHungDoseLoop(kernel: kernel, directory: dir, granted: granted, expiry: expiry)
        } else {
            record("watchdog/hung-dose-loop-expires", nil, "no freezable filesystem (pump-hil suite --freezable-dir)")
        }

        // A clean stop closes with the magic character: no expiry afterwards.
        guard let (plant2, pumpd2) = start(case: "watchdog-clean", prescription: Prescriptions.fast) else { return }
        defer { plant2.stop(); pumpd2.stop() }
        Thread.sleep(forTimeInterval: 2)
        _ = kernel.read()
        let exit = terminate(pumpd2)
        Thread.sleep(forTimeInterval: Double(granted + 2))
        let after = kernel.read().filter { $0.text.contains(expiry) }
        record("watchdog/clean-stop-never-expires", exit == 0 && after.isEmpty,
               "exit \(exit.map(String.init) ?? "none"); \(after.count) expiries in the \(granted + 2) s after SIGTERM")
    }

    /// Returns the timeout the driver granted (as pumpd logged it).
    private func watchdogHealthyThenFrozen(kernel: KernelLog, asked: Int, expiry: String) -> Int {
        guard let (plant, pumpd) = start(case: "watchdog", prescription: Prescriptions.fast) else { return asked }
        defer { plant.stop(); pumpd.stop() }
        let grant = pumpd.waitFor("hardware watchdog", timeout: 10)
        let granted = grant.flatMap { l in l.text.range(of: "timeout ").flatMap { Int(l.text[$0.upperBound...].prefix { $0.isNumber }) } } ?? asked
        Thread.sleep(forTimeInterval: Double(3 * granted + 1))
        let early = kernel.read().filter { $0.text.contains(expiry) }
        record("watchdog/healthy-never-expires", grant != nil && early.isEmpty && pumpd.isRunning,
               "\(grant.map { String($0.text.split(separator: "]").last ?? "") } ?? "no timeout logged"); \(early.count) expiries in \(3 * granted + 1) s")

        KernelLog.mark("pump-hil: SIGSTOP pumpd")
        pumpd.signal(SIGSTOP)
        let stoppedAt = Monotonic.nanoseconds()
        let fired = kernel.waitFor(expiry, timeout: Double(granted + 10))
        pumpd.signal(SIGCONT)
        if let fired {
            let seenSeconds = Double(fired.seenAt - stoppedAt) / 1e9
            // The kernel's own interval, from the marker written just before SIGSTOP.
            let kernelSeconds = fired.before.last { $0.text.contains("pump-hil: SIGSTOP pumpd") }
                .map { Double(fired.record.microseconds - $0.microseconds) / 1e6 }
            let seconds = kernelSeconds ?? seenSeconds
            measurements.append(("watchdog_expiry_after_sigstop_s", String(format: "%.2f", seconds)))
            record("watchdog/frozen-pumpd-expires", seconds <= Double(granted) + 1 && seconds > 0,
                   String(format: "expired %.2f s after SIGSTOP by %@ (%.2f s as the suite saw it), timeout %d s", seconds,
                          kernelSeconds == nil ? "the suite's clock (marker not in the log)" : "the kernel's log", seenSeconds, granted))
        } else {
            record("watchdog/frozen-pumpd-expires", false, "no '\(expiry)' in the kernel's log within \(granted + 10) s of SIGSTOP")
        }
        _ = terminate(pumpd)
        return granted
    }

    private func watchdogWithHungDoseLoop(kernel: KernelLog, directory: String, granted: Int, expiry: String) {
        let journal = "\(directory)/watchdog-journal.sqlite"
        unlink(journal)
        guard let (plant, pumpd) = start(case: "watchdog-hung", prescription: Prescriptions.fast, journal: journal, newJournal: true) else { return }
        defer { plant.stop(); pumpd.stop() }
        Thread.sleep(forTimeInterval: 3)
        _ = kernel.read()
        let mark = pumpd.lines.count
        let freeze = try? ChildProcess(name: "fsfreeze", executable: "/bin/busybox", arguments: ["fsfreeze", "--freeze", directory])
        let frozen = freeze?.waitForExit(timeout: 10) == 0
        let stopped = pumpd.waitFor("not feeding the hardware watchdog", after: mark, timeout: 60)
        let fired = kernel.waitFor(expiry, timeout: Double(granted + 10))
        // Where pumpd's threads are while the filesystem is still frozen (a failure's own dump
        // comes after the thaw, when they have moved on).
        let frozenThreads = stopped == nil && pumpd.isRunning ? Self.threads(of: pumpd.pid, kernelStacks: true) : []
        let thaw = try? ChildProcess(name: "fsfreeze", executable: "/bin/busybox", arguments: ["fsfreeze", "--unfreeze", directory])
        _ = thaw?.waitForExit(timeout: 10)
        if let stopped, let fired {
            let seconds = Double(fired.seenAt - stopped.receivedNanoseconds) / 1e9
            measurements.append(("watchdog_expiry_after_last_feed_s", String(format: "%.2f", seconds)))
            record("watchdog/hung-dose-loop-expires", frozen && seconds <= Double(granted) + 1,
                   String(format: "journal filesystem frozen; pumpd stopped feeding; expired %.2f s after it said so (timeout %d s)", seconds, granted))
        } else {
            // Said apart: a silent pumpd whose feeding stopped anyway (the kernel saw the expiry)
            // is a different finding from one that kept feeding.
            record("watchdog/hung-dose-loop-expires", false,
                   "frozen \(frozen); \(stopped == nil ? "pumpd never said it stopped feeding" : "no expiry in the kernel's log") within the wait; kernel: \(fired.map { "\($0.record.text) at \(Double($0.record.microseconds) / 1e6) s" } ?? "no expiry")"
                   + frozenThreads.map { "\n   while frozen: thread \($0)" }.joined())
        }
        _ = terminate(pumpd)
    }

    /// Lines are found by name and held by pumpd; ENABLE never reaches its active level while no
    /// stroke is due, and SIGTERM leaves it inactive.
    private func lines() {
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
    /// process is gone the kernel releases its lines, and ENABLE must fall to its inactive level
    /// by itself (the pin's pull; on a Pi, `dtparam=strict_gpiod` and the board's pull resistor,
    /// docs/board-files.md). In the VM gpio-sim returns a released line to its pull.
    private func kill() {
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

    /// Encoder edges stop (a slipping coupling): motion mismatch, delivery halted, ENABLE low.
    private func slip() {
        guard let (plant, pumpd) = start(case: "slip", prescription: Prescriptions.fast) else { return }
        defer { plant.stop(); pumpd.stop() }
        guard plant.waitFor("stroke n=2 ", timeout: 30) != nil else { record("slip/strokes", false, "no strokes within 30 s"); return }
        let mark = plant.lines.count
        plant.send("slip 1")
        let alarm = pumpd.waitFor("alarm raised: motion_mismatch", timeout: 60)
        let low = plant.waitFor("enable 0 holder=pumpd", after: mark, timeout: 10)
        // pumpd logs the halt from its event stream, which may reach the pipe after ENABLE fell.
        let halted = pumpd.waitFor("delivery halted: motion_mismatch", timeout: 10)
        measureHaltToPin(pumpd, low: low)
        let strokes = plant.lines.dropFirst(mark).filter { $0.text.hasPrefix("stroke ") }.count
        record("slip/motion-mismatch-halts", alarm != nil && low != nil && halted != nil,
               "alarm \(alarm == nil ? "missing" : "raised"), halt \(halted == nil ? "not logged" : "logged"), ENABLE \(low == nil ? "not low" : "low (pumpd still holding it)") after \(strokes) slipped strokes")
        _ = terminate(pumpd)
    }

    /// The pressure ADC does not answer at its address: a technical alarm, delivery continues
    /// (the fault table's policy), pumpd keeps running and exits cleanly.
    private func pressureChip() {
        guard let variant = try? boardVariant(pressureAddress: "0x4a") else { record("pressure-chip/board", false, "cannot write the board variant"); return }
        guard let (plant, pumpd) = start(case: "pressure-chip", prescription: Prescriptions.fast, board: variant) else { return }
        defer { plant.stop(); pumpd.stop() }
        let alarm = pumpd.waitFor("alarm raised: pressure_sensor_fault", timeout: 30)
        let mark = plant.lines.count
        let more = plant.waitFor(after: mark, timeout: 20) { $0.hasPrefix("stroke ") && $0.contains("enabled=1") }
        let running = pumpd.isRunning
        let exit = terminate(pumpd)
        record("pressure-chip/technical-alarm-no-crash", alarm != nil && running && exit == 0 && more != nil,
               "alarm \(alarm == nil ? "missing" : "raised"), \(more == nil ? "no stroke" : "strokes continued") afterwards, pumpd \(running ? "running" : "gone"), exit \(exit.map(String.init) ?? "none")")
    }

    /// Battery at elective replacement (alarm, delivery goes on), then end of service (halt).
    private func battery() {
        guard let (plant, pumpd) = start(case: "battery", prescription: Prescriptions.fast, plantReady: { plant in
            plant.send("battery 14")
            return plant.waitFor("battery 14", timeout: 5) != nil
        }) else { return }
        defer { plant.stop(); pumpd.stop() }
        if plant.lines.contains(where: { $0.text.contains("ready") && $0.text.contains("battery=0") }) {
            record("battery/levels", nil, "the jig cannot set the gauge (a real cell): use a cell simulator")
            _ = terminate(pumpd)
            return
        }
        let eri = pumpd.waitFor("alarm raised: battery_elective_replacement", timeout: 30)
        let mark = plant.lines.count
        let going = plant.waitFor(after: mark, timeout: 20) { $0.hasPrefix("stroke ") && $0.contains("enabled=1") }
        record("battery/elective-replacement", eri != nil && going != nil, "alarm \(eri == nil ? "missing" : "raised"), delivery \(going == nil ? "stopped" : "continued")")
        let mark2 = plant.lines.count
        plant.send("battery 4")
        let eos = pumpd.waitFor("alarm raised: battery_end_of_service", timeout: 30)
        let low = plant.waitFor("enable 0 holder=pumpd", after: mark2, timeout: 10)
        let halted = pumpd.waitFor("delivery halted: battery_end_of_service", timeout: 10)
        measureHaltToPin(pumpd, low: low)
        record("battery/end-of-service", eos != nil && low != nil && halted != nil,
               "alarm \(eos == nil ? "missing" : "raised"), halt \(halted == nil ? "not logged" : "logged"), ENABLE \(low == nil ? "not low" : "low")")
        _ = terminate(pumpd)
    }

    /// Delivery at a set rate until the occlusion detector has armed, with the bolus button on the
    /// way; then a kink. Checks the plant's step count against pumpd's ledger at exit.
    private func delivery() {
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
        plant.send("kink")
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
            measurements.append(("hazard_to_enable_low_ms", String(format: "%.0f", fromSample)))
            measurements.append(("kinked_strokes", "\(kinkedStrokes)"))
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
        measurements.append(("delivery_strokes", "\(steps)"))
    }

    // MARK: Plumbing

    /// `journal`: an existing journal to continue from (nil: a new one, `--new-journal`).
    func start(case name: String, prescription: String, board boardPath: String? = nil, journal: String? = nil,
               newJournal: Bool = false, pumpdArguments: [String] = [], plantReady: ((ChildProcess) -> Bool)? = nil) -> (ChildProcess, ChildProcess)? {
        // One plant and one pumpd on the lines at a time: a plant left running answers every step
        // with an encoder edge of its own (the storage case's first versions: pumpd halted on the
        // "runaway").
        for p in current { p.stop() }
        let prescriptionPath = "\(settings.workDirectory)/\(name)-prescription.json"
        guard FileManager.default.createFile(atPath: prescriptionPath, contents: Data(prescription.utf8)) else {
            record("\(name)/setup", false, "cannot write \(prescriptionPath)")
            return nil
        }
        guard let plant = try? ChildProcess(name: "plant", executable: settings.plantCommand[0],
                                            arguments: Array(settings.plantCommand.dropFirst()) + ["--board", settings.boardPath]) else {
            record("\(name)/setup", false, "cannot start the plant")
            return nil
        }
        guard plant.waitFor("ready", timeout: 20) != nil, plantReady?(plant) ?? true else {
            record("\(name)/setup", false, "plant not ready: \(plant.lines.suffix(3).map(\.text).joined(separator: " | "))")
            plant.stop()
            return nil
        }
        guard let pumpd = try? ChildProcess(name: "pumpd", executable: settings.pumpdPath,
                                            arguments: ["--board", boardPath ?? settings.boardPath, "--prescription", prescriptionPath,
                                                        "--journal", journal ?? "\(settings.workDirectory)/\(name)-journal.sqlite"] + (journal == nil || newJournal ? ["--new-journal"] : []) + pumpdArguments) else {
            record("\(name)/setup", false, "cannot start pumpd")
            plant.stop()
            return nil
        }
        guard pumpd.waitFor("pumpd running", timeout: 60) != nil else {
            record("\(name)/setup", false, "pumpd did not start: \(pumpd.lines.suffix(3).map(\.text).joined(separator: " | "))")
            plant.stop()
            pumpd.stop()
            return nil
        }
        current = [plant, pumpd]
        return (plant, pumpd)
    }

    func terminate(_ pumpd: ChildProcess) -> Int32? {
        pumpd.signal(SIGTERM)
        return pumpd.waitForExit(timeout: 15)
    }

    func status(_ plant: ChildProcess) -> [String: Int] {
        let mark = plant.lines.count
        plant.send("status")
        guard let l = plant.waitFor("status ", after: mark, timeout: 5) else { return [:] }
        var fields: [String: Int] = [:]
        for w in l.text.split(separator: " ") {
            let kv = w.split(separator: "=")
            if kv.count == 2, let v = Int(kv[1]) { fields[String(kv[0])] = v }
        }
        return fields
    }

    private func boardVariant(pressureAddress: String) throws -> String {
        try boardVariant(named: "pressure-absent") { root in
            var sensor = root["pressure_sensor"] as? [String: Any] ?? [:]
            sensor["address"] = pressureAddress
            root["pressure_sensor"] = sensor
        }
    }

    /// The suite's board file with `edit` applied, written to the work folder.
    private func boardVariant(named name: String, edit: (inout [String: Any]) -> Void) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: settings.boardPath))
        guard var root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw SuiteError(message: "board is not an object") }
        edit(&root)
        root["name"] = "\(board.name)-\(name)"
        let path = "\(settings.workDirectory)/board-\(name).json"
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The last halt decision pumpd logged → the plant's sample of ENABLE low (same clock, same
    /// guest). Includes the plant's pin polling interval.
    private func measureHaltToPin(_ pumpd: ChildProcess, low: ChildProcess.Line?) {
        guard let lowAt = low.flatMap({ Self.time($0.text) }),
              let decision = pumpd.waitFor("halt decision", timeout: 5),
              let decidedAt = Self.field("monotonic_ns", in: decision.text) else { return }
        haltToPin.append(Double(lowAt - Int64(decidedAt)) / 1e6)
    }

    /// "n=3 p50=12 p99=30 max=30" (ms) of the halt decision → pin times.
    public var haltToPinSummary: String? {
        guard !haltToPin.isEmpty else { return nil }
        let sorted = haltToPin.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)] }
        return String(format: "n=%d p50=%.1f p99=%.1f max=%.1f", sorted.count, quantile(0.5), quantile(0.99), sorted.last ?? 0)
    }

    func record(_ name: String, _ passed: Bool?, _ detail: String) {
        let c = Check(name: name, outcome: passed.map { $0 ? .passed : .failed } ?? .skipped, detail: detail)
        checks.append(c)
        log("\(c.outcome == .passed ? "✔" : c.outcome == .failed ? "✘" : "–") hil \(name): \(detail)")
        if c.outcome == .failed {
            for p in current {
                log("   last output of \(p.name):")
                for l in p.lines.suffix(25) { log("   | \(l.text)") }
                // Where each of its threads is (a silent process: blocked, or not scheduled).
                if p.isRunning { for t in Self.threads(of: p.pid) { log("   thread \(t)") } }
            }
        }
    }

    /// Each thread of `pid`: its name, scheduler state and the kernel function it waits in.
    /// `kernelStacks`: also the top of each thread's kernel stack (/proc/…/stack, root only).
    static func threads(of pid: pid_t, kernelStacks: Bool = false) -> [String] {
        let dir = "/proc/\(pid)/task"
        let tids = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        return tids.map { tid in
            func read(_ f: String) -> String { ((try? String(contentsOfFile: "\(dir)/\(tid)/\(f)", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines) }
            let stat = read("stat")
            // "tid (comm) S ...": the state follows the closing parenthesis.
            let state = stat.split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "?"
            let stack = kernelStacks ? " stack=" + read("stack").split(separator: "\n").prefix(4).map { $0.split(separator: " ").last.map(String.init) ?? "" }.joined(separator: "<") : ""
            return "\(tid) \(read("comm")) state=\(state) wchan=\(read("wchan"))\(stack)"
        }
    }

    static func time(_ event: String) -> Int64? { field("t", in: event).map(Int64.init) }

    static func field(_ key: String, in line: String) -> Int? {
        for w in line.split(separator: " ") where w.hasPrefix(key + "=") { return Int(w.dropFirst(key.count + 1)) }
        return nil
    }
}

public struct SuiteError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The suite's prescriptions (docs/scenarios.md's drug, prescription and reservoir sections).
enum Prescriptions {
    /// 0.048 mL/day, the slowest rate: no stroke is due for 450 s.
    static let slow = """
        {"drug": {"name": "baclofen", "concentration_ug_per_ml": 2000},
         "prescription": {"mode": "continuous", "daily_dose_ug": 96},
         "reservoir": {"capacity_ml": 20, "fill_ml": 20}}
        """
    /// 7.5 mL/day: a 250 nL stroke every 2.88 s; patient boluses of 2 µg (40 strokes over 30 s).
    static let fast = """
        {"drug": {"name": "baclofen", "concentration_ug_per_ml": 200},
         "prescription": {"mode": "continuous", "daily_dose_ug": 1500,
                          "patient_bolus": {"dose_ug": 2, "over": "30s", "lockout": "1h", "max_per_day": 4}},
         "reservoir": {"capacity_ml": 40, "fill_ml": 40}}
        """
    /// 24 mL/day (1 200 µg/day at 50 µg/mL, 1 mL/h); patient boluses of 0.5 µg (10 µL, 0.6 mL/h)
    /// over a minute, within the motor's 2 mL/h with the basal. The storage case counts strokes
    /// over a 12 s fault, so a fast rate.
    static let storage = """
        {"drug": {"name": "baclofen", "concentration_ug_per_ml": 50},
         "prescription": {"mode": "continuous", "daily_dose_ug": 1200,
                          "patient_bolus": {"dose_ug": 0.5, "over": "60s", "lockout": "10m", "max_per_day": 6}},
         "reservoir": {"capacity_ml": 40, "fill_ml": 40}}
        """
    /// `storage`'s stroke period, worked out by hand from its text: 1 200 / 50 = 24 mL a day.
    static func storageStrokeSeconds(strokeNanolitres: Double) -> Double { 86_400 / (24e6 / strokeNanolitres) }
    /// Seconds of open-line delivery before the kink: the occlusion detector's arming time plus a
    /// minute of margin.
    static let armingWait = Int(OcclusionDetector.armingSeconds) + 60
    /// Seconds of open-line delivery before the kink when the detector starts armed (a learned
    /// journal): the two button presses take about 75 s of it.
    static let armedOpenLineSeconds = 120
}

#if canImport(PumpLinux)
import PumpLinux
#endif

extension Suite {
    /// The libgpiod this build runs on (the suite's binaries and pumpd are built together).
    public static var gpioLibrary: String {
        #if canImport(PumpLinux)
        "\(GPIOLibrary.version) (API v\(GPIOLibrary.api))"
        #else
        "none (built without the LinuxBackend trait)"
        #endif
    }
}
