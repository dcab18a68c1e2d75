import DequeModule
import PumpCore
import RealModule

/// Detects a blocked catheter from what each stroke does to the pressure.
///
/// Into an open line a stroke's pressure rise decays back (time constant τ); into a kinked one it
/// stays, so each stroke adds to a retained excess. The detector removes the learned open-line
/// response from the readings, r(t) = y(t) − rise × m_τ(t), leaving the resting pressure plus
/// whatever the model does not explain. It then compares window averages of r:
///
///   Q_j = (L_j − ref) − a·(L_{j−1} − ref),  a = exp(−D/τ_test),  τ_test ≥ 1.25 τ
///
/// i.e. the part of the excess that is not the decay of the excess before. An open line gives
/// Q ≈ 0 (noise); a cough gives one large Q and then decays (Q ≤ 0, τ_test being slower than the
/// line; τ_test widens with the learner's uncertainty); an occlusion gives a positive Q in every
/// window, since nothing drains. An alarm needs
/// `requiredWindows` consecutive windows with Q above 3–3.5σ plus a 20 % model-error allowance and an
/// excess of at least half a stroke's rise. See docs/occlusion-detection.md for the derivation
/// and the latency bound.
public struct OcclusionDetector: Sendable {
    public struct Parameters: Hashable, Sendable {
        public var line: LineEstimate
        public var windowSamples: Int
        public var requiredWindows: Int
        public var tauTestSeconds: Double
        public var windowSeconds: Double
        /// Growth windows the backstop needs: the persistence, plus the windows an open line may
        /// still rise in after a change of rate (3 τ_test, and never less than 3 × the slowest
        /// valid line's τ: the backstop is for lines the learner knows poorly, and a τ learned
        /// ten times short made a bolus's rise look like growth, swarm seed 4807).
        public var growthWindows: Int {
            requiredWindows + Int((3 * max(tauTestSeconds, OcclusionDetector.slowestValidTauSeconds) / windowSeconds).rounded(.up))
        }
    }

    var learner: LineLearner
    public internal(set) var parameters: Parameters?
    let limits: SafetyLimits
    /// Before arming, the blocked-from-the-start check: the span being summed (readings, stroke
    /// counts, how many, and how many it takes), the previous span's mean level and mean stroke
    /// count, the first span's level, strokes and end, and the spans in a row that rose with their
    /// strokes.
    var span: (sum: Double, strokeSum: Double, count: Int, samples: Int) = (0, 0, 0, 0)
    var previousSpan: Double?
    var previousSpanStrokes = 0.0
    var firstSpan: (level: Double, strokes: Int, end: Int64)?
    /// The first span closed once any valid open line has settled from the start (the reference
    /// of the blocked-from-the-start check).
    var settledSpan: (level: Double, strokes: Int, end: Int64)?
    var risingSpans = 0
    /// The pressure one stroke raises the stiffest valid line by (its largest open-line rise).
    let largestRiseMMHg: Double
    /// Consecutive live readings at or above the ceiling, and the last one.
    var ceilingCount = 0
    var lastReading: Double?
    let periodSeconds: Double
    let periodNanoseconds: Int64
    var decayPerTick = 0.0
    var ticksSinceAdoptionCheck = 0
    var learningPausedTicks = 0

    var response = 0.0           // m at τ_detector, at the last tick
    var lastTick: Int64?
    var pending: [Int64] = []
    var strokeTimes: Deque<Int64> = []
    var adoptedAt: Int64 = .min
    /// The programme's slowest basal stroke interval (the window is sized by it), and the one the
    /// parameters in force were sized by.
    var basalInterval: Nanoseconds?
    var adoptedForInterval: Nanoseconds?

    /// Window accumulation: all samples are counted, the level is the mean of the second half.
    var sumR = 0.0, sumM = 0.0, sumN = 0.0, count = 0
    var strokeCount = 0
    var windowStartStrokes = 0
    var previous: (level: Double, response: Double, strokes: Double)?
    var reference: Double?
    /// The mean response (at the detector's τ) of the windows the reference absorbed, weighted as
    /// the reference weighs them.
    var referenceResponse: Double?
    public internal(set) var evidence = 0
    /// Consecutive stroke windows in which the excess grew (the backstop below).
    public internal(set) var growth = 0
    var delivering = true
    /// Last window's excess over the resting reference and its threshold (for "cause gone").
    public internal(set) var excessMMHg = 0.0
    public internal(set) var excessThresholdMMHg = Double.infinity
    /// The occlusion alarm was active at this tick: the alarm book holds the latch (until a
    /// clinician's clear); the core passes it in, and raises the alarm whenever `detectedNow`.
    var alarmLatched = false
    /// This tick found an occlusion (the core raises the alarm from it).
    var detectedNow = false
    /// Occluded: latched by the alarm, or found this tick. No new evidence is learned meanwhile.
    public var occluded: Bool { alarmLatched || detectedNow }
    /// The resting level the line held before the occlusion latched (journaled: a restart keeps
    /// the occlusion's cause until the pressure is seen back there).
    public internal(set) var latchedRestingMMHg: Double?
    /// After a restart with the occlusion latched: the level the pressure must drain to, and the
    /// last readings (one span) it is judged by. The detector's own windows start afresh after a
    /// restart and know nothing of the retained pressure (a kinked line was cleared and resumed).
    var drainTarget: Double?
    var drainReadings: Deque<Double> = []

    public init(periodNanoseconds: Int64, strokeVolume: Nanolitres, limits: SafetyLimits) {
        learner = LineLearner(periodNanoseconds: periodNanoseconds)
        self.limits = limits
        largestRiseMMHg = Double(strokeVolume.value) / Self.stiffestValidLineNanolitresPerMMHg
        periodSeconds = Double(periodNanoseconds) / 1e9
        self.periodNanoseconds = periodNanoseconds
    }

    public var estimate: LineEstimate? { learner.estimate }
    public var armed: Bool { parameters != nil }

    public mutating func stroke(at t: MonotonicInstant) {
        learner.stroke(at: t.nanoseconds)
        pending.append(t.nanoseconds)
        strokeCount += 1
        strokeTimes.append(t.nanoseconds)
    }

    /// One watchdog tick. `reading` is nil when the sensor gave nothing trustworthy. While
    /// `delivering` is false nothing is learned and no new evidence builds up (without strokes a
    /// kink cannot show); the detector only follows whether retained pressure drains.
    /// `basalStrokeInterval`: the stroke interval at the programme's slowest basal rate (nil: none).
    /// `occlusionAlarmActive`: the alarm book's latch (the detector keeps none of its own).
    /// `aboveRange`: the sensor read above what it can show (`reading` is then nil): a pressure of
    /// at least its top, counted towards the ceiling like a live reading at it.
    public mutating func tick(at t: MonotonicInstant, reading: Double?, aboveRange: Bool = false, delivering: Bool,
                              occlusionAlarmActive: Bool = false, basalStrokeInterval: Nanoseconds? = nil) {
        let now = t.nanoseconds
        alarmLatched = occlusionAlarmActive
        detectedNow = false
        basalInterval = basalStrokeInterval
        learner.tick(at: now)
        advanceResponse(to: now)
        pruneStrokes(now: now)
        guard let y = reading else {
            // Above the sensor's top (a board's top is at least the ceiling: Board validation),
            // and changing as far as anyone can tell: counted. The next live reading counts
            // even if it equals the one before the excursion.
            if aboveRange {
                ceilingCount += 1
                if ceilingCount >= limits.occlusionCeilingReadings { detectedNow = true }
                lastReading = nil
            }
            // A gap in the readings breaks the window chain (all of the window's sums: a stale
            // stroke sum would skew the first window after the gap).
            sumR = 0; sumM = 0; sumN = 0; count = 0; previous = nil
            return
        }
        self.delivering = delivering
        // Above any open line's pressure: occluded, learned or not. A reading identical to the last
        // is not counted (a sensor frozen up there is a stuck sensor, not a blocked line).
        if y >= limits.occlusionCeilingMMHg, y != lastReading {
            ceilingCount += 1
            if ceilingCount >= limits.occlusionCeilingReadings { detectedNow = true }
        } else if y < limits.occlusionCeilingMMHg {
            ceilingCount = 0
        }
        lastReading = y
        if drainTarget != nil {
            drainReadings.append(y)
            if drainReadings.count > Self.spanMinimumReadings(periodSeconds) { drainReadings.removeFirst() }
        }
        if occluded, latchedRestingMMHg == nil { latchedRestingMMHg = restingLevelMMHg }
        if parameters == nil { followLevel(y, now: now) }
        if learningPausedTicks > 0 { learningPausedTicks -= 1 }
        learner.sample(y, learn: delivering && evidence == 0 && !occluded && learningPausedTicks == 0)
        ticksSinceAdoptionCheck += 1
        if parameters == nil || ticksSinceAdoptionCheck >= 40 || basalInterval != adoptedForInterval {
            ticksSinceAdoptionCheck = 0
            considerAdopting(now: now)
        }
        guard let p = parameters else { return }
        count += 1
        if count > p.windowSamples / 2 {
            sumR += y - p.line.strokeRiseMMHg * response
            sumM += response
            sumN += Double(strokeCount)
        }
        if count >= p.windowSamples { closeWindow(p, now: now) }
    }
}
