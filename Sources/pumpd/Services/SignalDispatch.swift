/// What each signal does once the daemon runs: stop, reload the keys, press the simulated button.
import Logging

extension Daemon {
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
