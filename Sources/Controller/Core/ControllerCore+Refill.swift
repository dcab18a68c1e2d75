import PumpCore
import PumpHAL

/// The refill command: reconcile, start a new fill, and keep the dose across a concentration change.
extension ControllerCore {
    /// The refill: reconcile what came out against the ledger, start a new fill, and keep the dose
    /// as prescribed across a concentration change (new stroke plan, bridge for the dead space).
    /// Everything is checked before anything changes.
    mutating func refill(_ r: RefillRequest, at now: MonotonicInstant, utcNanoseconds: Int64) -> CommandOutcome {
        func refuse(_ why: String) -> CommandOutcome { CommandOutcome(accepted: false, reason: why) }
        if r.withdrawn.value < 0 || r.withdrawn > ledger.capacity { return refuse("withdrawn_ml: must be between 0 and the capacity (\(ledger.capacity))") }
        if r.added.value <= 0 || r.added > ledger.capacity { return refuse("added_ml: must be above 0 and at most the capacity (\(ledger.capacity))") }
        if r.deadSpace.value < 0 || r.deadSpace > PumpLimits.maximumDeadSpace { return refuse("dead_space_ml: must be between 0 and \(PumpLimits.maximumDeadSpace)") }
        let old = prescription
        var new = old
        if let c = r.concentration, c != old.drug.concentration {
            // The dead space would hold three concentrations; no single plan keeps that dose right.
            if let left = scheduler.bridgeRemainingVolume {
                return refuse("refill.concentration_ug_per_ml: a bridge is still running (\(left) of the old drug left to push); change the concentration after it ends")
            }
            var request = PrescriptionRequest(old)
            request.concentrationMicrogramsPerMillilitre = Double(c.value) / 1000
            switch request.validated(drugPath: "refill", path: "prescription") {
            case .success(let p): new = p
            case .failure(let e): return refuse(e.description)
            }
        }
        let expected = ledger.expected
        let consumed = ledger.filled - expected
        var bridge: BridgePlan?
        if new.drug.concentration != old.drug.concentration, r.bridge {
            let rate = scheduler.basalRate.value > 0 ? scheduler.basalRate : old.basal.nominalDailyDose
            bridge = RefillReconciliation.bridge(deadSpace: r.deadSpace, oldConcentration: scheduler.concentrationInForce, dailyDose: rate)
        }
        let record = RefillRecord(expected: expected, withdrawn: r.withdrawn, added: r.added, consumed: consumed,
                                  tolerance: RefillReconciliation.tolerance(consumed: consumed, limits: limits),
                                  oldConcentration: old.drug.concentration, newConcentration: new.drug.concentration, bridge: bridge)
        // A new fill: the ledger and measured motion start again from the volume added.
        ledger = ReservoirLedger(capacity: ledger.capacity, filled: r.added)
        reservoirKnown = true
        filledAtStroke = scheduler.commandedStrokes
        measuredBefore = Nanolitres(0) - measuredMotion
        if new != old || bridge != nil { scheduler.reprogram(new, at: now, utcNanoseconds: utcNanoseconds, bridge: bridge) }
        refills.append(record)
        self.record(.refill(record), at: now)
        if new != old { self.record(.programmed(old: old, new: new), at: now) }
        if record.beyondTolerance || RefillReconciliation.trendAlarm(refills, limits: limits) {
            raise(.refillDiscrepancy, at: now)
            set(.refillDiscrepancy, present: false, at: now)   // a finding, not a condition: a clinician clears it
        }
        return CommandOutcome(accepted: true, reason: record.beyondTolerance ? record.verdict : nil)
    }
}
