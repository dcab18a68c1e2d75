/// The daemon's service group: the controller and its companions, run until a stop signal.
import Controller
import Logging
import PumpConfig
import PumpCore
import PumpHAL
import PumpJournal
import ServiceLifecycle

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
}
