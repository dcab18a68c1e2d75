/// Logs what the controller records (alarms, halts, boluses, commands) as it happens.
import Controller
import Logging
import PumpCore
import PumpHAL
import ServiceLifecycle

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
