import PumpCore
import PumpHAL

/// The fault table applied: raising and ending alarms, halting, and the event log they write.
extension ControllerCore {
    mutating func set(_ type: AlarmType, present: Bool, at now: MonotonicInstant) {
        if present {
            raise(type, at: now)
        } else if alarms.isCausePresent(type) {
            alarms.causeGone(type, at: now)
            record(.alarmCauseGone(type), at: now)
        }
    }

    mutating func raise(_ type: AlarmType, at now: MonotonicInstant) {
        guard let r = alarms.raise(type, at: now) else { return }
        record(.alarmRaised(type, r.policy.priority), at: now)
        updateState(at: now)
    }

    /// Applies the fault table: any active stop-policy alarm halts; once they are all cleared the
    /// pump waits, suspended, for a clinician's resume. Nothing restarts by itself.
    mutating func updateState(at now: MonotonicInstant) {
        if alarms.stopsDelivery {
            guard state != .halted else { return }
            let reason = alarms.active.first { $0.policy.delivery == .stop }!.type
            if state == .delivering {
                scheduler.setDelivering(false, at: now, utcNanoseconds: nil)
                stoppedSince = now
            }
            state = .halted
            halts.append(HaltRecord(reason: reason, at: now))
            record(.halted(reason: reason), at: now)
            if recordEndedBoluses(at: now) { bolusInterrupted(at: now) }
        } else if state == .halted {
            state = .suspended
            record(.stateChanged(.suspended), at: now)
        }
    }

    /// Boluses the scheduler finished or cut go into the event log (the journal's bolus history).
    /// Returns whether one was cut short.
    @discardableResult
    mutating func recordEndedBoluses(at now: MonotonicInstant) -> Bool {
        guard !scheduler.endedBoluses.isEmpty else { return false }
        var cut = false
        for b in scheduler.takeEndedBoluses() {
            record(.bolusEnded(b), at: now)
            cut = cut || !b.complete
        }
        return cut
    }

    /// A bolus was cut short by a halt or a restart (not by a clinician's suspension): a finding
    /// the patient must hear about; it ends when acknowledged.
    mutating func bolusInterrupted(at now: MonotonicInstant) {
        raise(.bolusInterrupted, at: now)
        set(.bolusInterrupted, present: false, at: now)
    }

    mutating func record(_ kind: ControllerEvent.Kind, at now: MonotonicInstant) {
        events.append(ControllerEvent(at: now, kind: kind))
    }
}
