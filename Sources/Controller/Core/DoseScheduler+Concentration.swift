import PumpCore

/// Prescription and concentration changes: a new programme, the bridge that pushes the old drug
/// out of the dead space first, and the concentration segments the dose is counted by.
extension DoseScheduler {
    /// A new prescription from `now` on (the programme so far stays as it was accrued; a running
    /// bolus finishes as started). `bridge`: push the plan's volume at its (old) concentration first.
    public mutating func reprogram(_ p: Prescription, at now: MonotonicInstant, utcNanoseconds: Int64?, bridge plan: BridgePlan? = nil) {
        advance(to: now, utcNanoseconds: utcNanoseconds)
        let old = concentrationInForce
        prescription = p
        if let plan, plan.volume.value > 0 {
            bridge = Bridge(concentration: plan.concentration, endVolume: programmedVolume + plan.volume)
        }
        if concentrationInForce != old { markConcentration() }
        relookupStep(at: now)
        updateSlowestBasalStrokeInterval()
    }

    /// Continues a bridge that was running before a restart: `remaining` of old drug still to push.
    public mutating func restoreBridge(concentration: NanogramsPerMillilitre, remaining: Nanolitres) {
        guard remaining.value > 0 else { return }
        bridge = Bridge(concentration: concentration, endVolume: programmedVolume + remaining)
        markConcentration()
    }

    /// Old drug the bridge still has to push (for the journal; nil: no bridge).
    public var bridgeRemainingVolume: Nanolitres? {
        bridge.map { max(.zero, $0.endVolume - programmedVolume) }
    }

    /// How long the bridge would still run at the rate in force now (for status; nil: no bridge
    /// or no flow). An estimate: the bridge itself ends by volume.
    public func bridgeRemaining(at now: MonotonicInstant) -> Nanoseconds? {
        guard let left = bridgeRemainingVolume else { return nil }
        let rate = nanolitresPerNanosecond()
        guard delivering, rate > 0 else { return nil }
        return Nanoseconds(Int64(min(Double(left.value) / rate, Double(Int64.max / 2))))
    }

    /// The bridge has pushed its volume: the new drug reaches the patient from `t` on. A bolus
    /// running across this instant keeps its micrograms: what is left of it is converted to the
    /// new concentration (at the old one it would over- or under-dose by their ratio).
    mutating func endBridge(at t: MonotonicInstant) {
        guard let old = bridge?.concentration else { return }
        bridge = nil
        let new = concentrationInForce
        boluses = boluses.map { b in
            guard b.end > t else { return b }
            let done = b.programmed(at: t)
            programmedBolusDone += done
            let left = Nanograms(max(0, b.dose.value - old.dose(in: done).value))
            return ActiveBolus(start: t, duration: b.end - t, total: new.volume(of: left), dose: left, doneBefore: b.doneBefore + done)
        }
        markConcentration()
    }

    /// The first instant in (lastAdvance, limit] at which the programme reaches `volume` (rates
    /// constant in between); lastAdvance itself if it already has.
    func firstInstant(reaching volume: Nanolitres, before limit: MonotonicInstant) -> MonotonicInstant {
        if programmed(at: lastAdvance) >= volume { return lastAdvance }
        return earliest(reaching: volume, from: lastAdvance, to: limit)
    }

    /// After a restart this life's list starts where the programme stood (the lives before it
    /// hold the earlier segments; the simulator's report joins them).
    public mutating func restartConcentrationSegments() { concentrationSegments = [(programmedVolume, concentrationInForce)] }

    mutating func markConcentration() {
        updateSlowestBasalStrokeInterval()
        let c = concentrationInForce
        let here = programmedVolume
        if let last = concentrationSegments.last, last.from == here { concentrationSegments[concentrationSegments.count - 1].concentration = c }
        else if concentrationSegments.last?.concentration != c { concentrationSegments.append((here, c)) }
    }
}
