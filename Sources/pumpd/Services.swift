import Controller
import Foundation
import Logging
import PumpCommands
import PumpConfig
import PumpCore
import PumpHAL
import PumpJournal
import PumpSync
import ServiceLifecycle

struct SystemWallClock: WallClock {
    func utcNanoseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1e9).rounded()) }
}

/// What a rig hands the daemon besides the controller.
struct RigExtras: Sendable {
    var alarmOutput: (any OutputLine)?
    /// Level of the alarm output when sounding.
    var alarmActiveHigh = true
    var bolusButton: (any InputLine)?
    var bolusActiveHigh = false
    var feedWatchdog: (@Sendable () throws(HALError) -> Void)?
    /// The simulated board's bolus button: SIGUSR1.
    var signalBolusButton = false
    var closeWatchdog: (@Sendable () -> Void)?
    var commands: CommandInterface?
}

/// The command socket and its keys, made before any hardware is touched.
struct CommandInterface: Sendable {
    var socket: CommandSocket
    var keysFolder: String
    var ring: KeyRingBox
    var counters: CounterFloor

    /// SIGHUP after a key rotation: the folder read again whole; a bad folder keeps the old keys.
    func reloadKeys(logger: Logger) {
        do {
            let new = try KeyRing.load(folder: keysFolder)
            ring.withLock { $0 = new }
            logger.notice("keys reloaded from \(keysFolder): clinician \(new.keys[.clinician]?.keyID ?? "-"), patient \(new.keys[.patient]?.keyID ?? "-")")
        } catch {
            logger.error("keys not reloaded, the old ones stay: \(error)")
        }
    }
}

/// Runs the controller and its companions until a stop signal (SignalIntake: SIGTERM, SIGINT,
/// SIGQUIT), then the safe state.
enum Daemon {
    static func serve<M: MotorDriver, P: PressureSensor, B: BatteryGauge>(
        _ controller: PumpController<M, P, B>, clock: ContinuousClock, epoch: ContinuousClock.Instant, extras: RigExtras,
        journal: SQLiteJournal, loss: JournalStorage.Loss?, logger: Logger
    ) async throws {
        let now: @Sendable () -> MonotonicInstant = {
            let d = epoch.duration(to: clock.now).components
            return MonotonicInstant(nanoseconds: d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000)
        }
        if let loss {
            let t = now()
            controller.withCore { $0.journalLost(loss.reason + (loss.evidence.map { "; remains kept at \($0)" } ?? ""), at: t) }
        }
        var services: [any Service] = [
            ControllerService(controller: controller, clock: clock, epoch: epoch, journal: journal, logger: logger),
            EventLogService(controller: controller, logger: logger),
        ]
        if let line = extras.alarmOutput {
            services.append(AnnunciatorService(controller: controller, line: line, activeHigh: extras.alarmActiveHigh, now: now, logger: logger))
        }
        if let button = extras.bolusButton {
            services.append(BolusButtonService(controller: controller, line: button, activeHigh: extras.bolusActiveHigh, now: now, logger: logger))
        }
        if let c = extras.commands {
            services.append(CommandService(controller: controller, socket: c.socket, keysFolder: c.keysFolder, ring: c.ring,
                                           counters: c.counters, now: now, logger: logger))
        }
        if let feed = extras.feedWatchdog {
            services.append(WatchdogFeedService(controller: controller, what: "the hardware watchdog", period: .seconds(Board.watchdogFeedSeconds), feed: feed,
                                                now: now, logger: logger))
        }
        if let interval = SystemdNotify.watchdogInterval {
            // Twice per interval, as sd_watchdog_enabled(3) advises; never more often than every
            // 100 ms (a tiny WatchdogSec would only spin).
            let period = max(interval / 2, .milliseconds(100))
            logger.notice("systemd watchdog: WATCHDOG=1 every \(period) while both loops are healthy (WatchdogSec \(interval))")
            services.append(WatchdogFeedService(controller: controller, what: "systemd's watchdog", period: period,
                                                feed: { SystemdNotify.send("WATCHDOG=1") }, now: now, logger: logger))
        }
        // No signal handling of the group's own: SignalIntake has had every signal since before
        // main, and a stop that came during start-up is acted on as soon as the group runs.
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [], logger: logger)
        defer { extras.closeWatchdog?() }
        var button: (@Sendable () async -> Void)?
        if extras.signalBolusButton {
            button = { @Sendable in _ = await controller.handle(.patientBolus, now: now(), utcNanoseconds: SystemWallClock().utcNanoseconds()) }
        }
        var reload: (@Sendable () -> Void)?
        if let c = extras.commands { reload = { @Sendable in c.reloadKeys(logger: logger) } }
        let pressButton = button, reloadKeys = reload
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { await Self.dispatchSignals(stop: { await group.triggerGracefulShutdown() }, reload: reloadKeys, button: pressButton, logger: logger) }
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    /// What each signal does once the daemon runs (SignalIntake.meaning): a stop starts the safe
    /// stop, SIGHUP reloads the keys, SIGUSR1 presses the simulated board's button; the rest, and
    /// those with nothing to act on, are logged (the first of each kind, then once a minute).
    static func dispatchSignals(stop: @Sendable () async -> Void, reload: (@Sendable () -> Void)?, button: (@Sendable () async -> Void)?,
                                logger: Logger) async {
        let intake = SignalIntake.shared
        if let sig = intake.stopRequested {
            logger.notice("\(SignalIntake.name(of: sig)) before pumpd was running: safe stop now")
            await stop()
        }
        var lastLogged: [Int32: ContinuousClock.Instant] = [:]
        func ignored(_ sig: Int32, _ why: String) {
            let now = ContinuousClock.now
            if let l = lastLogged[sig], l.duration(to: now) < .seconds(60) { return }
            lastLogged[sig] = now
            logger.warning("\(SignalIntake.name(of: sig)) ignored: \(why) (only SIGTERM, SIGINT and SIGQUIT stop pumpd)")
        }
        for await sig in intake.signals {
            switch SignalIntake.meaning(of: sig) {
            case .stop:
                logger.notice("\(SignalIntake.name(of: sig)): safe stop")
                await stop()
            case .reloadKeys:
                if let reload { reload() } else { ignored(sig, "no key folder to reload (pumpd runs without --socket/--keys)") }
            case .bolusButton:
                if let button { await button() } else { ignored(sig, "SIGUSR1 is the simulated board's bolus button") }
            case .ignore:
                ignored(sig, "it is no request pumpd knows")
            }
        }
    }
}

/// The dose loop and the watchdog (two tasks inside `run`), then the safe state on shutdown.
struct ControllerService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let clock: ContinuousClock
    let epoch: ContinuousClock.Instant
    let journal: SQLiteJournal
    let logger: Logger

    func run() async throws {
        // Signals have been taken since before main (SignalIntake); this line says the loops start.
        logger.notice("pumpd running")
        SystemdNotify.send("READY=1")
        let lateness = WakeLateness()
        await cancelWhenGracefulShutdown {
            await controller.run(clock: clock, wallClock: SystemWallClock(), epoch: epoch, onWake: { lateness.add($0, $1) },
                                 onHaltDecision: { [logger] in
                                     // Stamped now, logged off the watchdog's path (the HIL measures
                                     // decision → ENABLE low at the pin against CLOCK_MONOTONIC).
                                     let at = MonotonicClock.nanoseconds()
                                     Task { logger.notice("halt decision", metadata: ["monotonic_ns": "\(at)"]) }
                                 })
        }
        SystemdNotify.send("STOPPING=1")
        if await controller.safeStop() {
            logger.notice("shutdown: motor disabled (safe state)")
        } else {
            logger.critical("shutdown: the motor driver refused to disable")
        }
        // The ledger at exit, for the bench's balance (the HIL suite compares it with the steps
        // its plant counted at the pins).
        // The last checkpoint, then intents beyond the confirmed strokes are given back: the
        // motor is disabled, so a restart finds nothing uncertain.
        let utc = SystemWallClock().utcNanoseconds()
        let d = epoch.duration(to: clock.now).components
        controller.flushJournal(now: MonotonicInstant(nanoseconds: d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000), utcNanoseconds: utc)
        let s = controller.withCore { $0.summary() }
        journal.close(confirmedStrokes: s.commandedStrokes, utcNanoseconds: utc)
        logger.notice("shutdown: totals", metadata: [
            "commanded_strokes": "\(s.commandedStrokes)", "programmed_nl": "\(s.programmed.value)",
            "state": "\(s.state.rawValue)", "alarms": "\(s.alarmCount)",
        ])
        for loop in [WakeLoop.doseLoop, .watchdog] {
            logger.notice("shutdown: wake lateness", metadata: lateness.summary(loop))
        }
    }
}

/// Logs what the controller records (alarms, halts, boluses, commands) as it happens.
struct EventLogService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let logger: Logger

    func run() async throws {
        var seen = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            take(&seen)
            try? await Task.sleep(for: .milliseconds(500))
        }
        // What happened in the last half second before shutdown.
        take(&seen)
    }

    private func take(_ seen: inout Int) {
        let (events, lost, next) = controller.withCore { c in
            let (e, lost) = c.events.since(seen)
            return (Array(e), lost, c.events.endSequence)
        }
        seen = next
        if lost > 0 { logger.error("\(lost) events left memory before they were logged (over \(EventLog.retained) in half a second); the journal has them") }
        for e in events { log(e) }
    }

    private func log(_ e: ControllerEvent) {
        let at: Logger.Metadata = ["at_s": "\(e.at.seconds)"]
        switch e.kind {
        case .alarmRaised(let type, let priority):
            let level: Logger.Level = priority == .high ? .critical : priority == .medium ? .warning : .notice
            var metadata = at
            if type == .motionMismatch {
                // Commanded minus measured encoder counts over the window (negative: a runaway).
                metadata["deficit_counts"] = "\(controller.withCore { $0.motion.deficitCounts })"
            }
            logger.log(level: level, "alarm raised: \(type.rawValue) (\(priority.rawValue))", metadata: metadata)
        case .alarmCauseGone(let type): logger.info("alarm cause gone: \(type.rawValue)", metadata: at)
        case .alarmReannounced(let type): logger.warning("alarm sounds again: \(type.rawValue)", metadata: at)
        case .alarmsAcknowledged(let n): logger.info("alarms acknowledged: \(n)", metadata: at)
        case .alarmCleared(let type): logger.notice("alarm cleared: \(type.rawValue)", metadata: at)
        case .halted(let reason): logger.critical("delivery halted: \(reason.rawValue)", metadata: at)
        case .stateChanged(let s): logger.notice("state: \(s.rawValue)", metadata: at)
        case .bolus(let b):
            logger.notice("\(b.kind.rawValue) bolus \(b.dose): \(b.refusal.map { "refused, \($0)" } ?? "accepted")", metadata: at)
        case .command(let c, let accepted, let reason):
            logger.notice("command \(c.name): \(accepted ? "accepted" : "refused")\(reason.map { ", \($0)" } ?? "")", metadata: at)
        case .motorError(let m): logger.error("motor error: \(m.kind) errno \(m.errno.map(String.init) ?? "-")", metadata: at)
        case .readError(let r): logger.error("read failed: \(r.description)", metadata: at)
        case .bolusEnded(let b): logger.notice("bolus \(b.complete ? "completed" : "cut short"): \(b.programmed) of \(b.total)", metadata: at)
        case .restarted(let r):
            logger.notice("restarted from the journal: \(r.uncertainStrokes) uncertain strokes counted as delivered, outage \(r.outage.seconds) s not caught up\(r.interruptedBolus ? ", a running bolus not resumed" : "")", metadata: at)
        case .journalError(let why): logger.critical("journal: \(why)", metadata: at)
        case .refill(let r):
            logger.log(level: r.beyondTolerance ? .warning : .notice,
                       "refill: expected \(r.expected), withdrawn \(r.withdrawn), \(r.verdict); added \(r.added) at \(r.newConcentration)", metadata: at)
        case .programmed(let old, let new): logger.notice("prescription changed: was \(old); now \(new)", metadata: at)
        case .remoteCommand(let r):
            logger.log(level: r.accepted ? .info : .warning,
                       "command interface: \(r.role ?? "unauthenticated") \(r.command ?? "?"): \(r.accepted ? "accepted" : "refused")\(r.reason.map { ", \($0)" } ?? "")",
                       metadata: at)
        case .remoteRefusals(let r): logger.warning("command interface: \(r.description)", metadata: at)
        }
    }
}

/// Drives the alarm output line from the loudest unacknowledged alarm.
struct AnnunciatorService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let line: any OutputLine
    let activeHigh: Bool
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        var last: Bool?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let on = AlarmAnnunciator.isOn(controller.withCore { $0.unacknowledgedPriority }, at: now())
            if on != last {
                do { try await line.set(on == activeHigh); last = on } catch { logger.error("alarm output: \(error)") }
            }
            try? await Task.sleep(for: .milliseconds(125))
        }
        try? await line.set(!activeHigh)
    }
}

/// The patient's bolus button: a press (the edge to the active level) requests a patient bolus;
/// the controller enforces every limit. Presses within a second of each other are one press. The
/// line is polled every 50 ms without blocking (edges are queued by the kernel meanwhile).
struct BolusButtonService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let line: any InputLine
    let activeHigh: Bool
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        var lastPress: MonotonicInstant?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let edge: Edge?
            do { edge = try await line.waitForEdge(timeoutNanoseconds: 0) } catch {
                logger.error("bolus button: \(error)")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let edge else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            guard (edge == .rising) == activeHigh else { continue }
            let t = now()
            if let p = lastPress, t - p < .seconds(1) { continue }
            lastPress = t
            _ = await controller.handle(.patientBolus, now: t, utcNanoseconds: SystemWallClock().utcNanoseconds())
        }
    }
}

/// Feeds the hardware watchdog once a second, only while both the dose loop and the watchdog
/// task are healthy: if either stops, the board resets into its safe hardware state.
struct WatchdogFeedService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    /// "the hardware watchdog" or "systemd's watchdog", for the log.
    let what: String
    let period: Duration
    let feed: @Sendable () throws(HALError) -> Void
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        var warned = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let t = now()
            if controller.withCore({ $0.isHealthy(at: t) }) {
                do { try feed(); warned = false } catch { logger.error("\(what): \(error)") }
            } else if !warned {
                logger.critical("not feeding \(what): a loop has stopped")
                warned = true
            }
            try? await Task.sleep(for: period)
        }
    }
}

/// How late the loops woke after their deadlines (the benchmark reads the shutdown line).
final class WakeLateness: Sendable {
    private let samples = Locked<[WakeLoop: [Int64]]>([:])
    func add(_ loop: WakeLoop, _ late: Nanoseconds) {
        samples.withLock { s in
            if s[loop, default: []].count < 2_000_000 { s[loop, default: []].append(late.value) }
        }
    }
    func summary(_ loop: WakeLoop) -> Logger.Metadata {
        let v = samples.withLock { $0[loop] ?? [] }.sorted()
        func p(_ q: Double) -> String { v.isEmpty ? "-" : String(format: "%.3f", Double(v[min(v.count - 1, Int(Double(v.count) * q))]) / 1e6) }
        return ["loop": "\(loop.rawValue)", "wakes": "\(v.count)", "p50_ms": "\(p(0.5))", "p99_ms": "\(p(0.99))",
                "p999_ms": "\(p(0.999))", "max_ms": "\(v.last.map { String(format: "%.3f", Double($0) / 1e6) } ?? "-")"]
    }
}

/// CLOCK_MONOTONIC in nanoseconds, the time base the HIL's plant stamps pin changes with.
enum MonotonicClock {
    static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
