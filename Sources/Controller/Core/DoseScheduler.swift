import PumpCore

/// Turns the prescription into motor strokes.
///
/// The programmed volume is integrated exactly (integer numerator, remainder carried), and a stroke
/// is due each time it crosses a whole stroke volume, so commanded volume never trails programmed
/// volume by a full stroke and never leads it, however long the run. Deadlines are absolute, so a
/// late wake-up does not push later strokes back.
///
/// This file holds the state and the accrual; `+Concentration` the programme and concentration
/// changes (bridge, segments), `+Boluses` boluses and stop/resume, `+Timing` the exact time
/// arithmetic and the next deadline. Setters are internal for those files only.
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
    public internal(set) var prescription: Prescription
    public let zone: any TimeZoneRules
    public var rateMode: RateMode = .programmed

    /// Whole nanolitres of basal programmed so far, plus the remainder numerator below one nanolitre.
    public internal(set) var programmedBasal = Nanolitres.zero
    var basalRemainder: Int128 = 0
    /// Boluses that finished or were cut short, in full.
    var programmedBolusDone = Nanolitres.zero
    /// Programmed before this start (restored from the journal).
    var programmedBefore = Nanolitres.zero
    var boluses: [ActiveBolus] = []
    public internal(set) var commandedStrokes: Int64 = 0
    public internal(set) var delivering = true
    /// Boluses that ended since the core last took them: completed, or cut by a stop.
    public internal(set) var endedBoluses: [BolusEnd] = []

    /// After a concentration change: the old drug still in the dead space reaches the patient
    /// first, so the programme runs at the old concentration until the programmed volume reaches
    /// `endVolume` (the volume at the refill plus the dead space). It ends by volume pushed, never
    /// by time: a flex step, a bolus or a pause during it moves its end with the flow.
    public struct Bridge: Hashable, Sendable {
        public var concentration: NanogramsPerMillilitre
        public var endVolume: Nanolitres
    }
    public internal(set) var bridge: Bridge?
    /// Where the concentration of what is pumped changed: (programmed volume, concentration from
    /// there on), so the programme can be given in micrograms across refills.
    public internal(set) var concentrationSegments: [(from: Nanolitres, concentration: NanogramsPerMillilitre)]

    var lastAdvance: MonotonicInstant
    /// UTC nanoseconds minus monotonic nanoseconds, as of the last advance.
    var wallOffsetNanoseconds: Int64
    /// Flex only: the step in force and the monotonic instant the next one starts.
    public internal(set) var stepIndex = 0
    var nextBoundary: MonotonicInstant?

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
    public internal(set) var slowestBasalStrokeInterval: Nanoseconds?

    mutating func updateSlowestBasalStrokeInterval() {
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
}

/// Int128 to Double without the generic conversion path (hot in the deadline estimate).
@inline(__always) func fastDouble(_ x: Int128) -> Double {
    Double(Int64(truncatingIfNeeded: x >> 64)) * 18_446_744_073_709_551_616.0 + Double(UInt64(truncatingIfNeeded: x))
}
