/// The controller's service: its two loops until shutdown, then the safe stop and the totals.
import Controller
import Logging
import PumpCore
import PumpHAL
import PumpJournal
import ServiceLifecycle

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
