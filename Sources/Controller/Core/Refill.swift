import PumpCore

/// A refill visit as the clinician enters it. The reservoir is emptied (`withdrawn`) and filled
/// again (`added`), possibly at a new concentration of the same drug.
public struct RefillRequest: Hashable, Sendable {
    public var withdrawn: Nanolitres
    public var added: Nanolitres
    /// The new drug's concentration (the same as before when nil).
    public var concentration: NanogramsPerMillilitre?
    /// Pump tubing plus catheter: old drug the new one has to push out first.
    public var deadSpace: Nanolitres
    /// Deliver the dead space at the old concentration's stroke plan (the bridge) when the
    /// concentration changes. Declining it is allowed and recorded.
    public var bridge: Bool
    /// Default dead space when the clinician does not enter one: a SynchroMed-class pump's
    /// internal volume plus a typical intrathecal catheter.
    public static let defaultDeadSpace = Nanolitres.microlitres(250)

    public init(withdrawn: Nanolitres, added: Nanolitres, concentration: NanogramsPerMillilitre? = nil,
                deadSpace: Nanolitres = RefillRequest.defaultDeadSpace, bridge: Bool = true) {
        self.withdrawn = withdrawn
        self.added = added
        self.concentration = concentration
        self.deadSpace = deadSpace
        self.bridge = bridge
    }
}

/// What a refill found: the ledger's expectation against what came out, and the verdict.
public struct RefillRecord: Hashable, Sendable {
    public var expected: Nanolitres
    public var withdrawn: Nanolitres
    public var added: Nanolitres
    /// What the ledger says left the reservoir since the last fill (the tolerance scales with it).
    public var consumed: Nanolitres
    public var tolerance: Nanolitres
    public var oldConcentration: NanogramsPerMillilitre
    public var newConcentration: NanogramsPerMillilitre
    /// The bridge started (nil: none, because the concentration did not change or it was declined).
    public var bridge: BridgePlan?
    public init(expected: Nanolitres, withdrawn: Nanolitres, added: Nanolitres, consumed: Nanolitres, tolerance: Nanolitres,
                oldConcentration: NanogramsPerMillilitre, newConcentration: NanogramsPerMillilitre, bridge: BridgePlan?) {
        self.expected = expected
        self.withdrawn = withdrawn
        self.added = added
        self.consumed = consumed
        self.tolerance = tolerance
        self.oldConcentration = oldConcentration
        self.newConcentration = newConcentration
        self.bridge = bridge
    }
    /// Withdrawn minus expected: negative means more left the reservoir than the pump commanded
    /// (possible over-infusion or leak), positive less (possible under-infusion).
    public var discrepancy: Nanolitres { withdrawn - expected }
    public var beyondTolerance: Bool { abs(discrepancy.value) > tolerance.value }
    /// Discrepancy as a fraction of the volume consumed since the last fill (the trend's unit).
    public var relativeDiscrepancy: Double { Double(discrepancy.value) / Double(max(consumed.value, 1)) }

    public var verdict: String {
        if !beyondTolerance { return "within tolerance" }
        return discrepancy.value < 0 ? "less withdrawn than expected: possible over-infusion or leak"
                                     : "more withdrawn than expected: possible under-infusion"
    }
}

/// The old drug in the dead space is pushed at the old concentration's stroke plan until its
/// volume has reached the patient, so the dose stays as prescribed across a concentration change.
/// `duration` is the estimate at the rate of the refill (records and reports); the bridge ends by volume.
public struct BridgePlan: Hashable, Sendable {
    public var concentration: NanogramsPerMillilitre
    public var volume: Nanolitres
    public var duration: Nanoseconds
    public init(concentration: NanogramsPerMillilitre, volume: Nanolitres, duration: Nanoseconds) {
        self.concentration = concentration
        self.volume = volume
        self.duration = duration
    }
}

/// Refill reconciliation rules (limits from `SafetyLimits`).
public enum RefillReconciliation {
    public static func tolerance(consumed: Nanolitres, limits: SafetyLimits) -> Nanolitres {
        limits.refillToleranceFixed + Nanolitres(Int64((Double(max(consumed.value, 0)) * limits.refillToleranceFraction).rounded()))
    }

    /// True when the last `refillTrendCount` refills all deviated the same way by more than half
    /// their tolerance: a drift no single refill shows.
    public static func trendAlarm(_ history: [RefillRecord], limits: SafetyLimits) -> Bool {
        let n = limits.refillTrendCount
        guard n > 0, history.count >= n else { return false }
        let last = history.suffix(n)
        let off = last.allSatisfy { abs($0.discrepancy.value) * 2 > $0.tolerance.value }
        let sameSign = last.allSatisfy { $0.discrepancy.value < 0 } || last.allSatisfy { $0.discrepancy.value > 0 }
        return off && sameSign
    }

    /// The bridge for `deadSpace` of old drug, and how long it would take at `dailyDose` (the
    /// record's estimate: the bridge itself ends once the volume is pushed, whatever the rate).
    public static func bridge(deadSpace: Nanolitres, oldConcentration: NanogramsPerMillilitre,
                              dailyDose: NanogramsPerDay) -> BridgePlan? {
        guard deadSpace.value > 0 else { return nil }
        // duration = volume / rate at the old concentration.
        let nlPerDay = oldConcentration.wholeNanolitresPerDay(NanogramsPerDay(max(0, dailyDose.value)))
        let ns = nlPerDay > 0 ? Int128(deadSpace.value) * Int128(Nanoseconds.perDay) / nlPerDay : 0
        return BridgePlan(concentration: oldConcentration, volume: deadSpace, duration: Nanoseconds(Int64(min(ns, Int128(Int64.max / 2)))))
    }
}
