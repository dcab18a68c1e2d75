/// A scenario event applied at its instant: a hazard to the plant, a power loss and restart, a
/// refill, or a clinician's or patient's command to the controller.
import Controller
import PumpCore
import PumpPlant

extension SimulationRun {
    mutating func apply(_ e: ScenarioEvent, at t: Int64) async {
        let now = MonotonicInstant(nanoseconds: t)
        if !e.background {
            let (strokes, detector) = controller.withCore { c in
                (c.scheduler.commandedStrokes, e.kind.isOcclusion ? ReportBuilder.learned(c) : nil)
            }
            tracker.injected(e, at: now, strokes: strokes, detector: detector)
        }
        if e.kind.isOcclusion, strokesAtOcclusion == nil { strokesAtOcclusion = plant.totals.strokes }
        switch e.kind {
        case .fault(let f): plant.apply(f)
        case .doseLoopHang: doseLoopAlive = false
        case .powerLoss: await powerLoss(at: t)
        case .refill(let withdrawn, let added, let concentration, let deadSpace, let bridge):
            await refill(withdrawn: withdrawn, added: added, concentration: concentration, deadSpace: deadSpace, bridge: bridge, at: t)
        case .patientBolus, .clinicianBolus, .acknowledge, .clinicianClear, .suspend, .resume:
            let command: OperatorCommand = switch e.kind {
            case .patientBolus: .patientBolus
            case .clinicianBolus(let dose, let over): .clinicianBolus(dose: dose, duration: over)
            case .acknowledge: .acknowledge
            case .clinicianClear: .clinicianClear
            case .suspend: .suspend
            default: .resume
            }
            await handle(command, at: t)
        }
    }

    /// Dies at once: what the journal had not committed is gone, the driver loses power (motor
    /// disabled). Restarts at the same instant from the file.
    mutating func powerLoss(at t: Int64) async {
        journal?.journal.dropPending()
        dosing.powerLoss(at: t)
        lives.append(ReportBuilder.Life(core: controller.snapshot(), restoredAlarms: restoredAlarms, restoredBoluses: restoredBoluses))
        try? await rig.motor.disable()
        (journal, controller) = rig.start(at: t, utcNanoseconds: startUTC + t, restoring: true)
        // The restored alarms and boluses were reported by the life before; alarms the
        // restart itself raises (delivery_uncertain) are new.
        restoredAlarms = journal?.restored?.activeAlarms.count ?? 0
        uncertainStrokes += journal?.restored?.uncertainStrokes ?? 0
        if let before = lives.last?.core.scheduler.programmedVolume {
            programmeLost = programmeLost + (before - controller.withCore { $0.scheduler.programmedVolume })
        }
        restoredBoluses = journal?.restored?.boluses.count ?? 0
        knownAlarms = restoredAlarms
        doseLoopAlive = true
        nextDose = t
    }

    /// The reservoir really holds what the plant says; the clinician enters what the scenario
    /// says they withdrew (by default, exactly that).
    mutating func refill(withdrawn: Nanolitres?, added: Nanolitres, concentration: NanogramsPerMillilitre?, deadSpace: Nanolitres,
                         bridge: Bool, at t: Int64) async {
        let now = MonotonicInstant(nanoseconds: t)
        let (held, heldConcentration) = plant.refill(to: added, microgramsPerMillilitre: concentration.map { Double($0.value) / 1000 })
        let request = RefillRequest(withdrawn: withdrawn ?? held, added: added, concentration: concentration,
                                    deadSpace: deadSpace, bridge: bridge)
        let outcome = await controller.handle(.refill(request), now: now, utcNanoseconds: startUTC + t)
        if !outcome.accepted { plant.refill(to: held, microgramsPerMillilitre: heldConcentration) }   // refused: nothing changed
        if outcome.accepted, let r = controller.withCore({ $0.refills.last }) {
            refills.append(Report.Refill(
                at_s: now.seconds, expected_ul: r.expected.microlitres, withdrawn_ul: r.withdrawn.microlitres,
                discrepancy_ul: r.discrepancy.microlitres, tolerance_ul: r.tolerance.microlitres, beyond_tolerance: r.beyondTolerance,
                added_ul: r.added.microlitres, old_concentration_ug_per_ml: Double(r.oldConcentration.value) / 1000,
                new_concentration_ug_per_ml: Double(r.newConcentration.value) / 1000, bridge_s: r.bridge?.duration.seconds))
        }
        commands.append(Report.Command(type: "refill", at_s: now.seconds, accepted: outcome.accepted, reason: outcome.reason))
        if doseLoopAlive { nextDose = min(nextDose, t) }
    }

    /// A command to the controller; all but boluses are listed in the report's commands.
    mutating func handle(_ command: OperatorCommand, at t: Int64) async {
        let now = MonotonicInstant(nanoseconds: t)
        let outcome = await controller.handle(command, now: now, utcNanoseconds: startUTC + t)
        if case .patientBolus = command {} else if case .clinicianBolus = command {} else {
            commands.append(Report.Command(type: command.name, at_s: now.seconds, accepted: outcome.accepted, reason: outcome.reason))
        }
        // A bolus changes the schedule: the dose loop replans now.
        if doseLoopAlive { nextDose = min(nextDose, t) }
    }
}
