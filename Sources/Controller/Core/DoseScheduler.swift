import PumpCore

/// Turns the prescription into motor strokes.
///
/// The programmed volume is integrated exactly (integer numerator, remainder carried), and a stroke
/// is due each time it crosses a whole stroke volume, so commanded volume never trails programmed
/// volume by a full stroke and never leads it, however long the run. Deadlines are absolute, so a
/// late wake-up does not push later strokes back.
public struct DoseScheduler: Sendable {
    public enum RateMode: Sendable { case programmed, minimum }

    struct ActiveBolus: Sendable {
        var start: MonotonicInstant
        var duration: Nanoseconds
        var total: Nanolitres
        /// The micrograms `total` holds (a bridge ending mid-bolus converts what is left of them).
        var dose: Nanograms
        /// Volume earlier pieces of the same bolus programmed (before a bridge ended in it).
        var doneBefore = Nanolitres.zero
        func programmed(at t: MonotonicInstant) -> Nanolitres { split(at: t).whole }
        /// Whole nanolitres and the remainder numerator (over `duration`) at `t`.
        func split(at t: MonotonicInstant) -> (whole: Nanolitres, remainder: Int128) {
            let elapsed = min(max(t - start, .zero), duration)
            let n = Int128(total.value) * Int128(elapsed.value)
            return (Nanolitres(Int64(n / Int128(duration.value))), n % Int128(duration.value))
        }
        var end: MonotonicInstant { start + duration }
    }

    public let strokeVolume: Nanolitres
    public private(set) var prescription: Prescription
    public let zone: any TimeZoneRules
    public var rateMode: RateMode = .programmed

    /// Whole nanolitres of basal programmed so far, plus the remainder numerator below one nanolitre.
    public private(set) var programmedBasal = Nanolitres.zero
    private var basalRemainder: Int128 = 0
    /// Boluses that finished or were cut short, in full.
    private var programmedBolusDone = Nanolitres.zero
    /// Programmed before this start (restored from the journal).
    private var programmedBefore = Nanolitres.zero
    private var boluses: [ActiveBolus] = []
    public private(set) var commandedStrokes: Int64 = 0
    public private(set) var delivering = true
    /// Boluses that ended since the core last took them: completed, or cut by a stop.
    public private(set) var endedBoluses: [BolusEnd] = []

    /// After a concentration change: the old drug still in the dead space reaches the patient
    /// first, so the programme runs at the old concentration until the programmed volume reaches
    /// `endVolume` (the volume at the refill plus the dead space). It ends by volume pushed, never
    /// by time: a flex step, a bolus or a pause during it moves its end with the flow.
    public struct Bridge: Hashable, Sendable {
        public var concentration: NanogramsPerMillilitre
        public var endVolume: Nanolitres
    }
    public private(set) var bridge: Bridge?
    /// Where the concentration of what is pumped changed: (programmed volume, concentration from
    /// there on), so the programme can be given in micrograms across refills.
    public private(set) var concentrationSegments: [(from: Nanolitres, concentration: NanogramsPerMillilitre)]

    private var lastAdvance: MonotonicInstant
    /// UTC nanoseconds minus monotonic nanoseconds, as of the last advance.
    private var wallOffsetNanoseconds: Int64
    /// Flex only: the step in force and the monotonic instant the next one starts.
    public private(set) var stepIndex = 0
    private var nextBoundary: MonotonicInstant?

    /// A wall-clock jump larger than this (NTP, a clinician setting the clock) re-reads the schedule.
    public static let clockStepThreshold = Nanoseconds.seconds(2)

    public init(prescription: Prescription, strokeVolume: Nanolitres, zone: any TimeZoneRules,
                now: MonotonicInstant, utcNanoseconds: Int64) {
        precondition(strokeVolume.value > 0)
        self.prescription = prescription
        self.strokeVolume = strokeVolume
        self.zone = zone
        self.lastAdvance = now
        self.wallOffsetNanoseconds = utcNanoseconds - now.nanoseconds
        concentrationSegments = [(.zero, prescription.drug.concentration)]
        relookupStep(at: now)
        updateSlowestBasalStrokeInterval()
    }

    // MARK: Queries

    public var programmedVolume: Nanolitres { programmed(at: lastAdvance) }
    public var commandedVolume: Nanolitres { strokeVolume * commandedStrokes }
    /// Strokes owed now (after `advance`).
    public var strokesDue: Int64 { max(0, programmedVolume.value / strokeVolume.value - commandedStrokes) }
    public var bolusInProgress: Bool { !boluses.isEmpty }

    /// The concentration of the drug the pump is pushing to the patient now (the old one during a bridge).
    public var concentrationInForce: NanogramsPerMillilitre { bridge?.concentration ?? prescription.drug.concentration }

    /// The dose in `volume` of programme, segment by segment across concentration changes.
    public func dose(inProgrammed volume: Nanolitres) -> Nanograms { Self.dose(inProgrammed: volume, segments: concentrationSegments) }

    /// The dose in `volume` given the concentration segments (several lives' lists, joined).
    public static func dose(inProgrammed volume: Nanolitres, segments: [(from: Nanolitres, concentration: NanogramsPerMillilitre)]) -> Nanograms {
        var total = Nanograms.zero
        for (i, seg) in segments.enumerated() where seg.from < volume {
            let end = i + 1 < segments.count ? min(volume, segments[i + 1].from) : volume
            if end > seg.from { total += seg.concentration.dose(in: end - seg.from) }
        }
        return total
    }

    /// The basal dose rate in force.
    public var basalRate: NanogramsPerDay {
        guard delivering else { return .zero }
        if rateMode == .minimum { return prescription.basal.minimumDailyDose }
        switch prescription.basal {
        case .continuous(let d): return d
        case .flex(let steps): return steps[stepIndex].dailyDose
        }
    }

    /// The stroke interval at the programme's slowest basal rate, at the concentration in force
    /// (nil: no basal). The occlusion detector sizes its windows by it: a window long enough for a
    /// kink to show at the slowest basal shows it sooner at any faster rate or during a bolus.
    /// Kept up to date where the programme or the concentration changes (the watchdog reads it
    /// at every tick).
    public private(set) var slowestBasalStrokeInterval: Nanoseconds?

    private mutating func updateSlowestBasalStrokeInterval() {
        let dose = prescription.basal.minimumDailyDose
        guard dose.value > 0 else { slowestBasalStrokeInterval = nil; return }
        let nanolitresPerDay = concentrationInForce.nanolitresPerDay(dose)
        slowestBasalStrokeInterval = Nanoseconds(Int64(Double(strokeVolume.value) / nanolitresPerDay * Double(Nanoseconds.perDay)))
    }

    // MARK: Changes

    /// Integrates the programme up to `now`, switching flex steps at their exact instants.
    /// `utcNanoseconds` nil: the wall clock is unknown or not at hand; keep the last mapping.
    public mutating func advance(to now: MonotonicInstant, utcNanoseconds: Int64?) {
        guard now > lastAdvance else { return }
        while lastAdvance < now {
            var segmentEnd = min(now, nextBoundary ?? now)
            let bridgeEnds = bridge.map { programmed(at: segmentEnd) >= $0.endVolume } ?? false
            if bridgeEnds, let b = bridge { segmentEnd = firstInstant(reaching: b.endVolume, before: segmentEnd) }
            accrueBasal(until: segmentEnd)
            if bridgeEnds { endBridge(at: segmentEnd) }
            // A step boundary: look the step in force up again (two steps may start at one
            // instant in a spring-forward gap; advancing by one would run the wrong one).
            if let b = nextBoundary, segmentEnd == b { relookupStep(at: b) }
        }
        // Boluses that ended are folded into the done total.
        boluses.removeAll { b in
            if b.end <= now {
                programmedBolusDone += b.total
                endedBoluses.append(BolusEnd(programmed: b.doneBefore + b.total, total: b.doneBefore + b.total))
                return true
            }
            return false
        }
        guard let utcNanoseconds else { return }
        let offset = utcNanoseconds - now.nanoseconds
        if abs(offset - wallOffsetNanoseconds) > Self.clockStepThreshold.value {
            wallOffsetNanoseconds = offset
            relookupStep(at: now)
        }
    }

    public mutating func recordStrokes(_ n: Int64) { commandedStrokes += n }

    /// Hands over the boluses that ended (the core records them as events).
    public mutating func takeEndedBoluses() -> [BolusEnd] {
        defer { endedBoluses.removeAll() }
        return endedBoluses
    }

    /// Continues from the journal: the volume programmed before and the strokes already commanded
    /// (uncertain ones included). Accrual starts again now: the time in between is not owed.
    public mutating func restore(programmed: Nanolitres, commandedStrokes: Int64) {
        programmedBefore = programmed
        self.commandedStrokes = commandedStrokes
    }

    /// Strokes the programme in force will ask for within `horizon` (rounded up): how far ahead
    /// the journal records intents, so a slow write never holds a stroke back.
    public func strokesExpected(within horizon: Nanoseconds) -> Int64 {
        guard delivering else { return 0 }
        return Int64((nanolitresPerNanosecond() * Double(horizon.value) / Double(strokeVolume.value)).rounded(.up))
    }

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
    private mutating func endBridge(at t: MonotonicInstant) {
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
    private func firstInstant(reaching volume: Nanolitres, before limit: MonotonicInstant) -> MonotonicInstant {
        if programmed(at: lastAdvance) >= volume { return lastAdvance }
        return earliest(reaching: volume, from: lastAdvance, to: limit)
    }

    /// After a restart this life's list starts where the programme stood (the lives before it
    /// hold the earlier segments; the simulator's report joins them).
    public mutating func restartConcentrationSegments() { concentrationSegments = [(programmedVolume, concentrationInForce)] }

    private mutating func markConcentration() {
        updateSlowestBasalStrokeInterval()
        let c = concentrationInForce
        let here = programmedVolume
        if let last = concentrationSegments.last, last.from == here { concentrationSegments[concentrationSegments.count - 1].concentration = c }
        else if concentrationSegments.last?.concentration != c { concentrationSegments.append((here, c)) }
    }

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

    // MARK: Internals

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
    private func earliest(reaching target: Nanolitres, from lo: MonotonicInstant, to hi: MonotonicInstant) -> MonotonicInstant {
        var lo = lo.nanoseconds, hi = hi.nanoseconds
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if programmed(at: MonotonicInstant(nanoseconds: mid)) >= target { hi = mid } else { lo = mid }
        }
        return MonotonicInstant(nanoseconds: hi)
    }

    private func nanolitresPerNanosecond() -> Double {
        var r = fastDouble(basalNumeratorPerNanosecond) / fastDouble(basalDenominator)
        for b in boluses { r += Double(b.total.value) / Double(b.duration.value) }
        return r
    }

    /// nL = rate (ng/day) × 10^6 × ns / (concentration (ng/mL) × ns per day)
    private var basalNumeratorPerNanosecond: Int128 { Int128(basalRate.value) * NanogramsPerMillilitre.nanolitresPerMillilitre }
    private var basalDenominator: Int128 { Int128(concentrationInForce.value) * Int128(Nanoseconds.perDay) }

    private mutating func accrueBasal(until t: MonotonicInstant) {
        let numerator = basalRemainder + basalNumeratorPerNanosecond * Int128((t - lastAdvance).value)
        programmedBasal += Nanolitres(Int64(numerator / basalDenominator))
        basalRemainder = numerator % basalDenominator
        lastAdvance = t
    }

    private func utc(at t: MonotonicInstant) -> UTCSeconds {
        UTCSeconds(floorDiv(t.nanoseconds + wallOffsetNanoseconds, 1_000_000_000))
    }
    private func monotonic(at u: UTCSeconds) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: u.value * 1_000_000_000 - wallOffsetNanoseconds)
    }

    /// Looks up the step in force now and when the next one starts (at the start, at every step
    /// boundary, after a clock step or a restart), under the DST rule of `TimeZoneRules.nextOccurrence`:
    /// each step starts once a local day (a start skipped by a spring-forward change at the change,
    /// a start repeated by a fall-back change at its first occurrence only); the step in force is
    /// the one that started most recently, and of steps starting at the same instant the later in
    /// the day. So no step runs twice in a repeated hour, across a restart either.
    private mutating func relookupStep(at now: MonotonicInstant) {
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


/// Int128 to Double without the generic conversion path (hot in the deadline estimate).
@inline(__always) func fastDouble(_ x: Int128) -> Double {
    Double(Int64(truncatingIfNeeded: x >> 64)) * 18_446_744_073_709_551_616.0 + Double(UInt64(truncatingIfNeeded: x))
}
