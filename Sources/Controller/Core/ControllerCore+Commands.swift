import PumpCore
import PumpHAL

/// Operator commands: boluses, acknowledge and clear, suspend and resume, a new programme, the
/// low-reservoir level. Each is checked against the pump's state before anything changes.
extension ControllerCore {
    public mutating func handle(_ command: OperatorCommand, at now: MonotonicInstant, utcNanoseconds: Int64) -> CommandOutcome {
        scheduler.advance(to: now, utcNanoseconds: utcNanoseconds)
        let outcome: CommandOutcome
        switch command {
        case .patientBolus:
            let rule = prescription.patientBolus
            outcome = bolus(.patient, dose: rule?.dose ?? .zero, duration: rule?.duration ?? PrescriptionRequest.defaultPatientBolusDuration, at: now)
        case .clinicianBolus(let dose, let duration):
            outcome = bolus(.clinician, dose: dose, duration: duration, at: now)
        case .acknowledge:
            let n = alarms.acknowledgeAll(at: now)
            record(.alarmsAcknowledged(count: n), at: now)
            outcome = CommandOutcome(accepted: true)
        case .clinicianClear:
            let (cleared, refused) = alarms.clinicianClear(at: now)
            for c in cleared {
                record(.alarmCleared(c), at: now)
                if c == .occlusion { occlusion.reset() }
            }
            updateState(at: now)
            outcome = refused.isEmpty
                ? CommandOutcome(accepted: true)
                : CommandOutcome(accepted: !cleared.isEmpty, reason: "cause still present: " + refused.map(\.rawValue).joined(separator: ", "))
        case .suspend:
            if state == .delivering {
                state = .suspended
                stoppedSince = now
                scheduler.setDelivering(false, at: now, utcNanoseconds: utcNanoseconds)
                record(.stateChanged(.suspended), at: now)
                recordEndedBoluses(at: now)
                outcome = CommandOutcome(accepted: true)
            } else {
                outcome = CommandOutcome(accepted: false, reason: "delivery is already \(state.rawValue)")
            }
        case .resume:
            if state == .delivering {
                outcome = CommandOutcome(accepted: false, reason: "already delivering")
            } else if let blocker = alarms.active.first(where: { $0.policy.delivery == .stop }) {
                outcome = CommandOutcome(accepted: false, reason: "the \(blocker.type.rawValue) alarm must be cleared by a clinician first")
            } else {
                state = .delivering
                stoppedSince = nil
                scheduler.setDelivering(true, at: now, utcNanoseconds: utcNanoseconds)
                // Motion is judged afresh: the window must not carry a deficit from before the stop.
                measuredBefore += measuredMotion
                motion = MotionMonitor(countsPerStroke: configuration.encoderCountsPerStroke)
                record(.stateChanged(.delivering), at: now)
                outcome = CommandOutcome(accepted: true)
            }
        case .program(let p):
            outcome = program(p, at: now, utcNanoseconds: utcNanoseconds)
        case .setLowReservoir(let level):
            if level.value < 0 || level > ledger.capacity {
                outcome = CommandOutcome(accepted: false, reason: "low_reservoir_ml: must be between 0 and the capacity (\(ledger.capacity))")
            } else {
                lowReservoirLevel = level
                outcome = CommandOutcome(accepted: true)
            }
        case .refill(let r):
            outcome = refill(r, at: now, utcNanoseconds: utcNanoseconds)
        }
        record(.command(command, accepted: outcome.accepted, reason: outcome.reason), at: now)
        return outcome
    }

    /// Records a request on the command interface (the shell authenticates; the log keeps it).
    public mutating func recordRemote(_ r: RemoteCommandRecord, at now: MonotonicInstant) { record(.remoteCommand(r), at: now) }
    public mutating func recordRemoteRefusals(_ s: RemoteRefusalSummary, at now: MonotonicInstant) { record(.remoteRefusals(s), at: now) }

    /// Measured motion the monitor holds, as volume.
    var measuredMotion: Nanolitres {
        Nanolitres(configuration.strokeVolume.value * motion.measuredCounts / configuration.encoderCountsPerStroke)
    }

    /// A new prescription for the drug in the reservoir. Limits were checked when it was made
    /// (`PrescriptionRequest.validated`); here only what depends on the pump's state.
    mutating func program(_ p: Prescription, at now: MonotonicInstant, utcNanoseconds: Int64) -> CommandOutcome {
        let old = prescription
        guard p.drug.name == old.drug.name, p.drug.concentration == old.drug.concentration else {
            return CommandOutcome(accepted: false, reason: "drug: the reservoir holds \(old.drug.name) at \(old.drug.concentration); a new drug or concentration needs a refill")
        }
        guard p != old else { return CommandOutcome(accepted: false, reason: "prescription: identical to the one in force") }
        scheduler.reprogram(p, at: now, utcNanoseconds: utcNanoseconds)
        record(.programmed(old: old, new: p), at: now)
        return CommandOutcome(accepted: true)
    }

    mutating func bolus(_ kind: BolusKind, dose: Nanograms, duration: Nanoseconds, at now: MonotonicInstant) -> CommandOutcome {
        var refusal: BolusRefusal?
        if state != .delivering {
            refusal = .notDelivering(state)
        } else if kind == .patient, prescription.patientBolus == nil {
            refusal = .notPrescribed
        } else if dose.value <= 0 || duration.value <= 0 {
            refusal = .invalid("dose and duration must be positive")
        } else if let blocker = kind == .patient ? alarms.patientBolusBlocker : alarms.clinicianBolusBlocker {
            refusal = .blockedByAlarm(blocker)
        } else if scheduler.bolusInProgress {
            refusal = .bolusInProgress
        } else if !withinMotorRate(dose: dose, duration: duration) {
            refusal = .invalid("with the basal, faster than the motor's maximum of 2 mL/h")
        } else {
            refusal = boluses.check(kind: kind, dose: dose, duration: duration, at: now, prescription: prescription)
        }
        let r = BolusRecord(kind: kind, requestedAt: now, dose: dose, duration: duration, refusal: refusal)
        boluses.record(r)
        record(.bolus(r), at: now)
        if refusal == nil { scheduler.startBolus(dose: dose, duration: duration, at: now) }
        return CommandOutcome(accepted: refusal == nil, reason: refusal?.description)
    }

    /// The bolus on top of the highest basal rate fits the motor's 2 mL/h, at the more dilute of
    /// the drug reaching the patient now (the old one during a bridge) and the reservoir's (a
    /// bridge may end while the bolus runs): the larger volume either way.
    func withinMotorRate(dose: Nanograms, duration: Nanoseconds) -> Bool {
        let dilute = min(scheduler.concentrationInForce, prescription.drug.concentration)
        return PumpLimits.withinMaximumTotalRate(volume: dilute.volume(of: dose), over: duration,
                                                 basalNanolitresPerDay: Int64(dilute.nanolitresPerDay(prescription.basal.maximumDailyDose).rounded(.up)))
    }
}
