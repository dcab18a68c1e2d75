import PumpCore

/// Exact time arithmetic: the programmed volume at an instant, the first instant it reaches a
/// volume, and when the dose loop must next wake.
extension DoseScheduler {
    /// The next instant the dose loop must wake: a stroke falling due, a flex step or bolus
    /// changing the rate, or the heartbeat limit.
    public func nextDeadline(after now: MonotonicInstant, maximumSleep: Nanoseconds) -> MonotonicInstant {
        var deadline = now + maximumSleep
        if let b = nextBoundary { deadline = min(deadline, b) }
        for b in boluses { deadline = min(deadline, b.end) }
        guard delivering else { return deadline }
        // The bridge's end changes the volume rate: plan up to it, then again.
        if let b = bridge, programmed(at: deadline) >= b.endVolume {
            deadline = max(now + Nanoseconds(1), programmed(at: now) >= b.endVolume ? now : earliest(reaching: b.endVolume, from: now, to: deadline))
        }
        let target = Nanolitres((commandedStrokes + 1) * strokeVolume.value)
        if programmed(at: now) >= target { return now }
        // Within [now, deadline] rates are constant: estimate in floating point, then pin the exact
        // first nanosecond with integer evaluation (a few probes around the estimate).
        let rate = nanolitresPerNanosecond()
        guard rate > 0 else { return deadline }
        let missing = Double((target - programmed(at: now)).value)
        let estimate = min(Double((deadline - now).value), max(1, (missing / rate).rounded(.up)))
        var hi = now + Nanoseconds(Int64(estimate))
        var step: Int64 = 1
        while programmed(at: hi) < target {
            if hi >= deadline { return deadline }
            hi = min(deadline, hi + Nanoseconds(step)); step *= 2
        }
        var lo = hi - Nanoseconds(1)
        step = 1
        while lo > now, programmed(at: lo) >= target {
            hi = lo; lo = max(now, lo - Nanoseconds(step)); step *= 2
        }
        return earliest(reaching: target, from: lo, to: hi)
    }


    /// Programmed volume at `t` ≥ lastAdvance (assuming no rate change in between): the floor of
    /// the exact sum of basal and bolus, not the sum of their floors, so that it never jumps by two
    /// nanolitres at once. (With one bolus running, which the controller guarantees, this is exact
    /// in Int128; with more it falls back to the sum of floors.)
    func programmed(at t: MonotonicInstant) -> Nanolitres {
        let denominator = basalDenominator
        let numerator = basalRemainder + basalNumeratorPerNanosecond * Int128((t - lastAdvance).value)
        var total = programmedBefore + programmedBolusDone + programmedBasal + Nanolitres(Int64(numerator / denominator))
        for b in boluses { total += b.programmed(at: t) }
        if boluses.count == 1, let b = boluses.first {
            let basalFraction = numerator % denominator
            let bolusFraction = b.split(at: t).remainder
            let duration = Int128(b.duration.value)
            if basalFraction * duration + bolusFraction * denominator >= denominator * duration { total += Nanolitres(1) }
        }
        return total
    }

    /// Binary search for the first instant in (lo, hi] at which the programme reaches `target`.
    func earliest(reaching target: Nanolitres, from lo: MonotonicInstant, to hi: MonotonicInstant) -> MonotonicInstant {
        var lo = lo.nanoseconds, hi = hi.nanoseconds
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if programmed(at: MonotonicInstant(nanoseconds: mid)) >= target { hi = mid } else { lo = mid }
        }
        return MonotonicInstant(nanoseconds: hi)
    }

    func nanolitresPerNanosecond() -> Double {
        var r = fastDouble(basalNumeratorPerNanosecond) / fastDouble(basalDenominator)
        for b in boluses { r += Double(b.total.value) / Double(b.duration.value) }
        return r
    }

    /// nL = rate (ng/day) × 10^6 × ns / (concentration (ng/mL) × ns per day)
    var basalNumeratorPerNanosecond: Int128 { Int128(basalRate.value) * NanogramsPerMillilitre.nanolitresPerMillilitre }
    var basalDenominator: Int128 { Int128(concentrationInForce.value) * Int128(Nanoseconds.perDay) }

    mutating func accrueBasal(until t: MonotonicInstant) {
        let numerator = basalRemainder + basalNumeratorPerNanosecond * Int128((t - lastAdvance).value)
        programmedBasal += Nanolitres(Int64(numerator / basalDenominator))
        basalRemainder = numerator % basalDenominator
        lastAdvance = t
    }

    func utc(at t: MonotonicInstant) -> UTCSeconds {
        UTCSeconds(floorDiv(t.nanoseconds + wallOffsetNanoseconds, 1_000_000_000))
    }
    func monotonic(at u: UTCSeconds) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: u.value * 1_000_000_000 - wallOffsetNanoseconds)
    }

    /// Looks up the step in force now and when the next one starts (at the start, at every step
    /// boundary, after a clock step or a restart), under the DST rule of `TimeZoneRules.nextOccurrence`:
    /// each step starts once a local day (a start skipped by a spring-forward change at the change,
    /// a start repeated by a fall-back change at its first occurrence only); the step in force is
    /// the one that started most recently, and of steps starting at the same instant the later in
    /// the day. So no step runs twice in a repeated hour, across a restart either.
    mutating func relookupStep(at now: MonotonicInstant) {
        guard case .flex(let steps) = prescription.basal else { nextBoundary = nil; return }
        let u = utc(at: now)
        var latest = UTCSeconds(Int64.min)
        for (i, step) in steps.enumerated() {
            let started = zone.lastOccurrence(of: step.start, atOrBefore: u)
            if started >= latest { latest = started; stepIndex = i }
        }
        guard steps.count > 1 else { nextBoundary = nil; return }
        let next = steps.map { zone.nextOccurrence(of: $0.start, after: u) }.min()!
        nextBoundary = max(monotonic(at: next), now + Nanoseconds(1))
    }
}
