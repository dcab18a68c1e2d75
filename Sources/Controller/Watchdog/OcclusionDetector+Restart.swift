import DequeModule
import PumpCore
import RealModule

/// What survives a restart (the learned line, a latched occlusion's resting level) and how a
/// latched occlusion ends: its retained pressure drained, then a clinician's clear.
extension OcclusionDetector {
    /// What has been learned of the line, for the journal (nil: nothing yet).
    public var lineMemory: LineMemory? { learner.estimate == nil ? nil : learner.memory }
    /// How often the journal gets `lineMemory`: a restart loses at most this much learning, of
    /// a fit that forgets with a 7-day half-life.
    public static let lineMemoryPeriod = Nanoseconds.seconds(600)

    /// After a restart nothing is learned for this long (5 × the slowest valid line's τ): the
    /// history the restart assumes is an approximation, and what it leaves unexplained drains
    /// within it. The restored line is judged by from the first reading all the same.
    public static let restartSettleSeconds = 5 * slowestValidTauSeconds

    /// What a restart tells the detector, from the journal's last state.
    public struct Restart: Sendable {
        /// What the last run learned of the line (nil: nothing yet).
        public var memory: LineMemory?
        /// The occlusion alarm was active (it stays so, in the alarm book): its cause stays present
        /// until the pressure is seen back at the resting level it had before (`restingMMHg`,
        /// journaled; nil: the highest a valid line rests at). Only a clinician's clear ends it.
        public var occlusionLatched: Bool
        public var restingMMHg: Double?
        /// The programme as it is assumed to have run up to the last record (nil: delivery had stopped).
        public var history: AssumedHistory?
    }

    /// After a restart the line still carries the pressure response of the strokes before it;
    /// the journal keeps their count, not their times. Without them the model reads that
    /// retained pressure as unexplained, learns a rise near zero and later alarms on the first
    /// bolus (swarm seeds 141, 281). So the programme is assumed to have run up to the last
    /// journal record (`end`), evenly spaced: the basal over `assumedHistory`, and each bolus as
    /// far as it had run (a crash in a bolus left its pressure in the line: assumed as basal only,
    /// it drained unexplained and the learner took τ 3.6 s for 38 s, swarm seed 4807). Strokes
    /// before a long outage have decayed by now, as the pressure they left has.
    public struct AssumedHistory: Sendable {
        public struct Bolus: Sendable {
            public var start: MonotonicInstant
            public var duration: Nanoseconds
            /// The whole bolus in strokes (fractional: its volume over the stroke volume).
            public var strokes: Double
        }
        public var end: MonotonicInstant
        /// Strokes the basal programme makes in `assumedHistory` at the rate in force.
        public var basalStrokes: Int64
        public var boluses: [Bolus]
    }

    /// A restart: continue from what the last run learned (it arms at the first reading, as the
    /// learner already has its strokes and its time; a memory that does not fit is dropped),
    /// judge a latched occlusion's drain against its resting level, and replay the assumed history.
    public mutating func restart(_ r: Restart) {
        if let m = r.memory, learner.restore(m) {
            learningPausedTicks = Int((Self.restartSettleSeconds / periodSeconds).rounded())
        }
        if r.occlusionLatched {
            latchedRestingMMHg = r.restingMMHg
            drainTarget = r.restingMMHg ?? Self.highestRestingMMHg
            drainReadings = []
        }
        if let h = r.history { for t in strokeTimes(assumed: h) { stroke(at: MonotonicInstant(nanoseconds: t)) } }
    }

    /// The assumed history's stroke times, oldest first (at most 50 000 of each part).
    private func strokeTimes(assumed h: AssumedHistory) -> [Int64] {
        let horizon = Self.assumedHistory
        let from = h.end - horizon
        var times: [Int64] = []
        let n = min(h.basalStrokes, 50_000)
        if n > 0 {
            let spacing = horizon.value / n
            for k in stride(from: n, to: 0, by: -1) { times.append((h.end - Nanoseconds(k * spacing)).nanoseconds) }
        }
        for b in h.boluses where b.duration.value > 0 {
            let stop = min(b.start + b.duration, h.end)
            let first = max(b.start, from)
            guard stop > first else { continue }
            let count = min(50_000, Int((b.strokes * Double((stop - first).value) / Double(b.duration.value)).rounded()))
            guard count > 0 else { continue }
            let spacing = (stop - first).value / Int64(count)
            for k in 0..<count { times.append(first.nanoseconds + Int64(k) * spacing + spacing / 2) }
        }
        return times.sorted()
    }

    /// Where the line rests: the windows' reference once armed, the first span's level before.
    var restingLevelMMHg: Double? { parameters != nil ? (reference ?? parameters?.line.baselineMMHg) : firstSpan?.level }

    /// After a clinician clears the alarm: start judging afresh (the learned line is kept).
    /// Before the detector had armed, the line was blocked while it learned, so what it learned
    /// is a blocked line: learning starts again on the released one.
    public mutating func reset() {
        alarmLatched = false
        detectedNow = false
        latchedRestingMMHg = nil
        drainTarget = nil
        drainReadings = []
        evidence = 0
        growth = 0
        previous = nil
        sumR = 0; sumM = 0; count = 0
        ceilingCount = 0
        if parameters == nil {
            learner = LineLearner(periodNanoseconds: periodNanoseconds)
            span = (0, 0, 0, 0)
            previousSpan = nil
            previousSpanStrokes = 0
            firstSpan = nil
            settledSpan = nil
            risingSpans = 0
        }
    }

    /// The retained excess has drained: a released kink. Before the detector armed, the pressure
    /// is back within 6 σ of a span mean of where it started, or 1 mmHg (the resting pressure may
    /// have drifted that much since, and a blocked line holds far more).
    public var causeGone: Bool {
        if let target = drainTarget {
            // After a restart: a whole span of readings back at the resting level.
            guard drainReadings.count >= Self.spanMinimumReadings(periodSeconds) else { return false }
            return drainReadings.reduce(0, +) / Double(drainReadings.count) - target < drainTolerance
        }
        guard parameters == nil else { return excessMMHg < excessThresholdMMHg }
        guard let first = firstSpan, let last = previousSpan else { return true }
        return last - first.level < drainTolerance
    }

    /// How close to the resting level a span mean must be: 6 σ of a span mean, or 1 mmHg.
    var drainTolerance: Double {
        let noise = learner.estimate?.noiseMMHg ?? 1
        return max(6 * noise * (2 / Double(Self.spanMinimumReadings(periodSeconds))).squareRoot(), 1)
    }
}
