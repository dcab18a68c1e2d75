import PumpCore

/// Boluses starting and being taken back, and delivery stopping or restarting (which cuts them).
extension DoseScheduler {
    /// Starts a bolus of `dose` over `duration`. The caller has checked every limit.
    public mutating func startBolus(dose: Nanograms, duration: Nanoseconds, at now: MonotonicInstant) {
        let total = concentrationInForce.volume(of: dose)
        boluses.append(ActiveBolus(start: now, duration: duration, total: total, dose: dose))
    }

    /// Takes back the bolus started last, at the instant it started (nothing of it programmed).
    public mutating func revokeNewestBolus(startedAt start: MonotonicInstant) {
        if let i = boluses.lastIndex(where: { $0.start == start }) { boluses.remove(at: i) }
    }

    /// Stops or restarts accrual (halt, suspend, resume). Stopping cuts running boluses: they count
    /// only as far as they ran, and are never resumed.
    public mutating func setDelivering(_ on: Bool, at now: MonotonicInstant, utcNanoseconds: Int64?) {
        advance(to: now, utcNanoseconds: utcNanoseconds)
        if !on {
            for b in boluses {
                programmedBolusDone += b.programmed(at: now)
                endedBoluses.append(BolusEnd(programmed: b.doneBefore + b.programmed(at: now), total: b.doneBefore + b.total))
            }
            boluses.removeAll()
        }
        delivering = on
    }
}
