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

    /// One window of a kink raises the level by this many standard errors of a window level, so
    /// that a single window passes the 3σ test on Q (σ_Q ≈ √2 σ_L at most) with about 95 % before
    /// any retained excess helps. (With 4 the first windows passed about half the time, chains of
    /// M restarted, and the default line at 5 mL/day took 5 strokes in 2.5 % of onsets.)
    public static let kinkWindowSigmas = 6.0

    /// Evidence windows last 2–120 s (sized to the line's noise and stroke interval).
    public static let shortestWindowSeconds = 2.0
    public static let longestWindowSeconds = 120.0
    /// At least this many windows in a row must fail the open-line test before an alarm.
    public static let minimumRequiredWindows = 4
    /// Per-window significance of the open-line test (with `minimumRequiredWindows` or more; a
    /// shorter run would need `fewWindowsSigmas`).
    public static let windowSigmas = 3.0
    static let fewWindowsSigmas = 3.5
    /// Allowance for the learned model being off, as a share of the stroke rise (it is
    /// typically within 2 %).
    public static let modelAllowance = 0.2
    /// The open line is judged against a decay at least this much slower than the learned one.
    public static let tauTestMargin = 1.25
    /// Retained excess counts from this many standard errors of a window level (or half a rise).
    public static let excessSigmas = 4.0

    /// The kink test accepts an observed change within this share of the predicted one (plus
    /// noise): a learned rise further off than that leaves the growth backstop to alarm.
    public static let kinkTolerance = 0.3

    /// Strokes and learning time before the detector arms.
    public static let armingStrokes = 8
    public static let armingSeconds = 600.0
    /// No estimate with a longer τ is adopted as the open line (valid lines: ≤ 60 s).
    public static var slowestPlausibleTauSeconds: Double { LineLearner.slowestPlausibleTauSeconds }
    /// Before the detector arms, the line was blocked from the start when the slowest fit beats
    /// every plausible one by this many noise variances (≈ 5σ)...
    public static let notDrainingEvidence = 30.0
    /// ...and the pressure has kept rising with the strokes, beyond what an open line could hold
    /// (`blockedFromTheStart`). Disturbances can tilt a young fit towards "not draining" (a burst
    /// of coughs on a slow line did, swarm seed 13602); they do not keep the pressure rising.
    public static let blockedSpans = 4
    /// Learning time after which a fit with no plausible open line is a blocked line (10 × the
    /// slowest plausible τ, twice: the fit has long settled).
    public static let noPlausibleLineSeconds = 2000.0
    static func spanMinimumReadings(_ period: Double) -> Int { Int((15 / period).rounded()) }
    /// The longest span of the blocked-from-the-start check.
    public static let longestSpanSeconds = 600.0
    /// The share of the fitted stroke rise each span must rise by, per stroke in it: a quarter,
    /// as the slowest fit overstates a blocked line's rise up to threefold when strokes come
    /// slower than its τ (its model decays between strokes; the blocked pressure does not).
    public static let blockedRiseShare = 0.25
    /// The slowest valid line, and the stiffest (`ValidPlant`).
    public static let slowestValidTauSeconds = ValidPlant.tauSeconds.upperBound
    static let stiffestValidLineNanolitresPerMMHg = ValidPlant.complianceNanolitresPerMMHg.lowerBound
    /// The highest resting (spinal fluid) pressure of a valid line: where nothing tells the
    /// resting level, a latched occlusion drains below it before its cause is gone.
    public static let highestRestingMMHg = ValidPlant.restingMMHg.upperBound
    /// An open line started from rest has risen to within 5 % of its standing pressure after
    /// 3 τ: the blocked-from-the-start check counts from then on (a slow line's start-up rises
    /// with its strokes too, and a young fit underrates its rise).
    public static let startSettleSeconds = 3 * slowestValidTauSeconds
    /// Parameters are re-read from the learner at most this often, and only while the line looks clean.
    public static let adoptionSeconds = 1800.0
    /// How far back a restart assumes the basal ran: 20 time constants of the slowest valid line
    /// (60 s), so the assumed strokes' response is complete.
    public static let assumedHistory = Nanoseconds.seconds(1200)
    /// Time constant of the resting-pressure reference (tracks slow drift, not coughs).
    public static let referenceSeconds = 600.0

    private var learner: LineLearner
    public private(set) var parameters: Parameters?
    private let limits: SafetyLimits
    /// Before arming, the blocked-from-the-start check: the span being summed (readings, stroke
    /// counts, how many, and how many it takes), the previous span's mean level and mean stroke
    /// count, the first span's level, strokes and end, and the spans in a row that rose with their
    /// strokes.
    private var span: (sum: Double, strokeSum: Double, count: Int, samples: Int) = (0, 0, 0, 0)
    private var previousSpan: Double?
    private var previousSpanStrokes = 0.0
    private var firstSpan: (level: Double, strokes: Int, end: Int64)?
    /// The first span closed once any valid open line has settled from the start (the reference
    /// of the blocked-from-the-start check).
    private var settledSpan: (level: Double, strokes: Int, end: Int64)?
    private var risingSpans = 0
    /// The pressure one stroke raises the stiffest valid line by (its largest open-line rise).
    private let largestRiseMMHg: Double
    /// Consecutive live readings at or above the ceiling, and the last one.
    private var ceilingCount = 0
    private var lastReading: Double?
    private let periodSeconds: Double
    private let periodNanoseconds: Int64
    private var decayPerTick = 0.0
    private var ticksSinceAdoptionCheck = 0
    private var learningPausedTicks = 0

    private var response = 0.0           // m at τ_detector, at the last tick
    private var lastTick: Int64?
    private var pending: [Int64] = []
    private var strokeTimes: Deque<Int64> = []
    private var adoptedAt: Int64 = .min
    /// The programme's slowest basal stroke interval (the window is sized by it), and the one the
    /// parameters in force were sized by.
    private var basalInterval: Nanoseconds?
    private var adoptedForInterval: Nanoseconds?

    /// Window accumulation: all samples are counted, the level is the mean of the second half.
    private var sumR = 0.0, sumM = 0.0, sumN = 0.0, count = 0
    private var strokeCount = 0
    private var windowStartStrokes = 0
    private var previous: (level: Double, response: Double, strokes: Double)?
    private var reference: Double?
    /// The mean response (at the detector's τ) of the windows the reference absorbed, weighted as
    /// the reference weighs them.
    private var referenceResponse: Double?
    public private(set) var evidence = 0
    /// Consecutive stroke windows in which the excess grew (the backstop below).
    public private(set) var growth = 0
    private var delivering = true
    /// Last window's excess over the resting reference and its threshold (for "cause gone").
    public private(set) var excessMMHg = 0.0
    public private(set) var excessThresholdMMHg = Double.infinity
    /// Latched until `reset()`.
    public private(set) var occluded = false
    /// The resting level the line held before the occlusion latched (journaled: a restart keeps
    /// the occlusion's cause until the pressure is seen back there).
    public private(set) var latchedRestingMMHg: Double?
    /// After a restart with the occlusion latched: the level the pressure must drain to, and the
    /// last readings (one span) it is judged by. The detector's own windows start afresh after a
    /// restart and know nothing of the retained pressure (a kinked line was cleared and resumed).
    private var drainTarget: Double?
    private var drainReadings: Deque<Double> = []

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
    public mutating func tick(at t: MonotonicInstant, reading: Double?, delivering: Bool, basalStrokeInterval: Nanoseconds? = nil) {
        let now = t.nanoseconds
        basalInterval = basalStrokeInterval
        learner.tick(at: now)
        advanceResponse(to: now)
        pruneStrokes(now: now)
        guard let y = reading else {
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
            if ceilingCount >= limits.occlusionCeilingReadings { occluded = true }
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

    /// What has been learned of the line, for the journal (nil: nothing yet).
    public var lineMemory: LineMemory? { learner.estimate == nil ? nil : learner.memory }
    /// How often the journal gets `lineMemory`: a restart loses at most this much learning, of
    /// a fit that forgets with a 7-day half-life.
    public static let lineMemoryPeriod = Nanoseconds.seconds(600)

    /// After a restart nothing is learned for this long (5 × the slowest valid line's τ): the
    /// history the restart assumes is an approximation, and what it leaves unexplained drains
    /// within it. The restored line is judged by from the first reading all the same.
    public static let restartSettleSeconds = 5 * slowestValidTauSeconds

    /// A restart: continue from what the last run learned (it arms at the first reading, as
    /// the learner already has its strokes and its time). False if the memory does not fit.
    @discardableResult
    public mutating func restore(_ memory: LineMemory) -> Bool {
        guard learner.restore(memory) else { return false }
        learningPausedTicks = Int((Self.restartSettleSeconds / periodSeconds).rounded())
        return true
    }

    /// A restart found the occlusion alarm latched: stay occluded until the pressure is seen back
    /// at the resting level it had before (`resting`, from the journal; unknown: the highest a
    /// valid line rests at). Only a clinician's clear (`reset`) ends it.
    public mutating func restoreLatched(restingMMHg resting: Double?) {
        occluded = true
        latchedRestingMMHg = resting
        drainTarget = resting ?? Self.highestRestingMMHg
        drainReadings = []
    }

    /// Where the line rests: the windows' reference once armed, the first span's level before.
    private var restingLevelMMHg: Double? { parameters != nil ? (reference ?? parameters?.line.baselineMMHg) : firstSpan?.level }

    /// After a clinician clears the alarm: start judging afresh (the learned line is kept).
    /// Before the detector had armed, the line was blocked while it learned, so what it learned
    /// is a blocked line: learning starts again on the released one.
    public mutating func reset() {
        occluded = false
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
    private var drainTolerance: Double {
        let noise = learner.estimate?.noiseMMHg ?? 1
        return max(6 * noise * (2 / Double(Self.spanMinimumReadings(periodSeconds))).squareRoot(), 1)
    }

    // MARK: Internals

    private var tauDetector: Double { parameters?.line.tauSeconds ?? 1 }

    private mutating func advanceResponse(to now: Int64) {
        if let last = lastTick {
            response *= (now - last == periodNanoseconds) ? decayPerTick : Double.exp(-Double(now - last) / 1e9 / tauDetector)
        }
        lastTick = now
        guard !pending.isEmpty else { return }
        for s in pending { response += Double.exp(-Double(now - s) / 1e9 / tauDetector) }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func pruneStrokes(now: Int64) {
        let keep = Int64(max(20 * tauDetector, 600) * 1e9)
        while strokeTimes.count > 32, let first = strokeTimes.first, now - first > keep { strokeTimes.removeFirst() }
    }

    /// Before arming: sums the readings into spans and judges each closed span.
    private mutating func followLevel(_ y: Double, now: Int64) {
        if span.samples == 0 { span = (0, 0, 0, spanSamples()) }
        span.sum += y
        span.strokeSum += Double(learner.strokes)
        span.count += 1
        guard span.count >= span.samples else { return }
        let level = span.sum / Double(span.count)
        // The span's mean stroke count: a stroke late in a span shows mostly in the next one.
        let strokes = span.strokeSum / Double(span.count)
        if firstSpan == nil { firstSpan = (level, learner.strokes, now) }
        if settledSpan == nil, learner.learnedSeconds >= Self.startSettleSeconds {
            settledSpan = (level, learner.strokes, now)
        } else if settledSpan != nil, let previous = previousSpan, let e = learner.estimate {
            // Rose with its strokes (`blockedRiseShare` of the fitted rise per stroke) and by 6 σ of
            // a span mean. A span with less than half a stroke in it holds the count unless the
            // level fell (a blocked line holds its pressure between strokes; a cough's bump decays).
            let added = strokes - previousSpanStrokes
            let noise = 6 * e.noiseMMHg * (2 / Double(span.count)).squareRoot()
            if added < 0.5 {
                if level - previous < -noise { risingSpans = 0 }
            } else {
                risingSpans = level - previous >= max(Self.blockedRiseShare * e.strokeRiseMMHg * added, noise) ? risingSpans + 1 : 0
            }
        }
        previousSpan = level
        previousSpanStrokes = strokes
        span.samples = 0
    }

    /// A span long enough that a blocked line rises over it by 12 σ of a span mean (as the
    /// windows, from `blockedRiseShare` of the learner's rise, its noise and the stroke interval so
    /// far), 15–600 s.
    private func spanSamples() -> Int {
        var seconds = 15.0
        if let e = learner.estimate, let first = firstSpan, let now = lastTick, learner.strokes > first.strokes {
            let interval = Double(now - first.end) / 1e9 / Double(learner.strokes - first.strokes)
            let rise = Self.blockedRiseShare * e.strokeRiseMMHg
            seconds = Double.pow(12 * (2 * periodSeconds).squareRoot() * e.noiseMMHg * interval / max(rise, 1e-6), 2.0 / 3.0)
        }
        return max(Self.spanMinimumReadings(periodSeconds), Int((min(Self.longestSpanSeconds, seconds) / periodSeconds).rounded()))
    }

    /// Blocked from the start (before the detector has armed): the slowest fit wins by far; once
    /// any valid open line has settled from its start (`startSettleSeconds`), the pressure rose
    /// with the strokes in `blockedSpans` spans in a row (a cough raises one span and then
    /// decays); and in all it rose by more than an open line's start-up could still add then: 5 %
    /// of the highest standing pressure any valid line can have at this stroke rate, the stiffest
    /// line's rise × (τ_max/T + 1). The fitted rise bounds nothing this early: a young fit took a
    /// slow line's start-up for a ramp and underrated its rise (swarm seeds 10063, 13720, 13972,
    /// 15368, 16968, 20583, 21521).
    private var blockedFromTheStart: Bool {
        guard learner.notDrainingEvidence >= Self.notDrainingEvidence, let e = learner.estimate,
              let settled = settledSpan, let last = previousSpan, let now = lastTick, learner.strokes > settled.strokes else { return false }
        let rose = last - settled.level
        let noise = 6 * e.noiseMMHg * (2 / Double(Self.spanMinimumReadings(periodSeconds))).squareRoot()
        // Long after learning began and still no plausible open line, with the pressure up: the
        // slowest fit overstates the rise of a long blocked ramp without bound, so on the faintest
        // lines (a stroke's rise a twentieth of the noise) only this finds the block.
        if learner.learnedSeconds >= Self.noPlausibleLineSeconds, rose >= noise { return true }
        guard risingSpans >= Self.blockedSpans else { return false }
        let interval = Double(now - settled.end) / 1e9 / Double(learner.strokes - settled.strokes)
        return rose >= max(noise, 0.05 * largestRiseMMHg * (Self.slowestValidTauSeconds / interval + 1))
    }

    private mutating func considerAdopting(now: Int64) {
        guard let e = learner.estimate, learner.strokes >= Self.armingStrokes else { return }
        if parameters == nil, blockedFromTheStart {
            occluded = true
            return
        }
        // An implausible fit (no open line drains that slowly) is never the line to judge by; the
        // parameters in force stay, or the detector waits.
        guard e.tauSeconds <= Self.slowestPlausibleTauSeconds,
              learner.learnedSeconds >= max(Self.armingSeconds, 10 * e.tauSeconds) else { return }
        let clean = evidence == 0 && !occluded && (parameters == nil || excessMMHg < excessThresholdMMHg / 2)
        // Re-read every 30 minutes, and at once when the programme's basal changes.
        guard clean, parameters == nil || basalInterval != adoptedForInterval || Double(now - adoptedAt) / 1e9 >= Self.adoptionSeconds else { return }
        adoptedAt = now
        adoptedForInterval = basalInterval
        // Mean stroke interval from recent strokes (the fallback for sizing the window).
        var interval = learner.learnedSeconds / Double(max(learner.strokes, 1))
        if strokeTimes.count >= 2, let first = strokeTimes.first, let last = strokeTimes.last {
            interval = Double(last - first) / 1e9 / Double(strokeTimes.count - 1)
        }
        // Window long enough that one window of an occlusion (≈ rise × D / T) stands z σ above the
        // window noise (σ √2 / √(D/period)): D = (z √2 σ T √period / rise)^(2/3), within 2–120 s.
        // T is the slowest basal's stroke interval, not the recent one: windows sized after a
        // bolus were 2–5× too short for the basal that followed, and kinks there were found late
        // (swarm seeds 1306, 2242, 2904, 3414, 3758, 10083, 10468, 11558, 12108, 13639).
        let sizing = basalInterval.map { $0.seconds } ?? interval
        let raw = Double.pow(Self.kinkWindowSigmas * 2.0.squareRoot() * e.noiseMMHg * sizing * periodSeconds.squareRoot()
                             / max(e.strokeRiseMMHg, 1e-6), 2.0 / 3.0)
        let windowSeconds = min(Self.longestWindowSeconds, max(Self.shortestWindowSeconds, raw))
        let samples = max(4, Int((windowSeconds / periodSeconds).rounded()))
        // Persistence outlasts the longest cough (a rise can touch ⌈3 s / D⌉ + 1 windows), and is
        // never under 4 windows, so that several coughs in a row rarely fill it. Windows as long as
        // the shortest gap between coughs can each hold a cough of their own, and on a slow line a
        // fit of coughs then imitates a kink window after window (swarm seed 6700: three coughs in
        // 30 s, four windows of 13 s on a 47 s line), so there it outlasts a fit (two windows per
        // cough). Shorter windows cannot all be refreshed, and between coughs a bump decays faster
        // than the decay Q is judged against, which resets the evidence.
        let seconds = Double(samples) * periodSeconds
        var required = max(Self.minimumRequiredWindows, 2 + Int((SafetyLimits.longestCough.seconds / seconds).rounded(.up)))
        if seconds >= SafetyLimits.shortestCoughGap.seconds { required = max(required, 2 * SafetyLimits.coughFit) }
        let old = parameters
        // The open line is judged against a decay slower than the learned one: by 25 %, or by three
        // standard errors of the learned τ when the strokes are small against the noise.
        let margin = Double.exp(max(Double.log(Self.tauTestMargin), 3 * e.tauLogError))
        parameters = Parameters(line: e, windowSamples: samples, requiredWindows: required, tauTestSeconds: margin * e.tauSeconds,
                                windowSeconds: Double(samples) * periodSeconds)
        decayPerTick = Double.exp(-periodSeconds / e.tauSeconds)
        guard old?.line != e else { return }
        // Recompute the response at the new τ from the stroke history, and carry the reference
        // over. The reference is an average of r = y − rise × m over the windows it absorbed;
        // over a stroke train the mean response is proportional to τ (τ/T), so those windows'
        // mean response at the new τ is `referenceResponse` × τ_new/τ_old, and the reference
        // moves by the change of rise × that mean. (A reset would accept whatever the line holds
        // now, retained pressure included, as the new normal; an instantaneous shift would depend
        // on when the last stroke fell; a shift by the recent stroke interval, just after a bolus
        // whose windows the reference had not absorbed, moved it 2.5 mmHg too far for good and
        // ended in a false occlusion: swarm seed 100023.)
        response = 0
        for s in strokeTimes where s <= now { response += Double.exp(-Double(now - s) / 1e9 / e.tauSeconds) }
        let ratio = old.map { e.tauSeconds / $0.line.tauSeconds } ?? 1
        if let old {
            // r moves by rise_old × m_old − rise_new × m_new, with m_new ≈ m_old × ratio.
            let change = old.line.strokeRiseMMHg - e.strokeRiseMMHg * ratio
            if let m = referenceResponse {
                reference = reference.map { $0 + m * change }
                referenceResponse = m * ratio
            }
            previous = previous.map { ($0.level + $0.response * change, $0.response * ratio, $0.strokes) }
        }
        sumN = 0
        sumR = 0; sumM = 0; count = 0
    }

    private mutating func closeWindow(_ p: Parameters, now: Int64) {
        // Levels are means over the second half of each window: consecutive levels are exactly D
        // apart, and a disturbance that began inside the previous window has finished rising by
        // the time it is judged, so its decay is predicted right.
        let n = Double(count - p.windowSamples / 2)
        let level = sumR / n, meanResponse = sumM / n, meanStrokes = sumN / n
        let strokesInWindow = strokeCount - windowStartStrokes
        windowStartStrokes = strokeCount
        sumR = 0; sumM = 0; sumN = 0; count = 0
        let sigmaL = p.line.noiseMMHg / n.squareRoot()
        let rise = p.line.strokeRiseMMHg
        excessThresholdMMHg = max(0.5 * rise, Self.excessSigmas * sigmaL)
        guard let ref = reference, let prev = previous else {
            // The resting reference starts at the learner's fitted resting pressure (a long-run
            // estimate), not at one window that may hold a transient.
            reference = reference ?? p.line.baselineMMHg
            referenceResponse = referenceResponse ?? meanResponse
            previous = (level, meanResponse, meanStrokes)
            excessMMHg = level - (reference ?? level)
            return
        }
        let windowSeconds = Double(p.windowSamples) * periodSeconds
        let a = Double.exp(-windowSeconds / p.tauTestSeconds)
        let excess = level - ref
        let change = level - prev.level
        // Open line: the excess decays (at least as fast as τ_test). Evidence against it:
        let q = excess - a * (prev.level - ref)
        let sigmaQ = sigmaL * (1 + a * a).squareRoot()
        let modelTerm = abs(meanResponse - a * prev.response)
        // Per-window significance k σ with k chosen so that a run of `requiredWindows` noise-only
        // passes has probability ≤ 1e-11 (Gaussian tail: 3σ⁴ ≈ 3e-12, 3.5σ³ ≈ 1e-11), plus a
        // 20 % allowance for the learned model being off (it is typically within 2 %).
        let k = p.requiredWindows >= Self.minimumRequiredWindows ? Self.windowSigmas : Self.fewWindowsSigmas
        let threshold = k * sigmaQ + Self.modelAllowance * rise * modelTerm
        // Kinked line: nothing drains, so the change of r is known from the stroke times alone:
        // every stroke adds `rise` and the open-line correction it no longer earns.
        let kinked = rise * ((meanStrokes - prev.strokes) - (meanResponse - prev.response))
        let tolerance = 2.5 * sigmaL * 2.0.squareRoot() + Self.kinkTolerance * abs(kinked) + Self.modelAllowance * rise * modelTerm
        let matchesKink = abs(change - kinked) <= tolerance
        excessMMHg = excess
        // How far apart the two hypotheses put this window. A window without a stroke into a slow
        // line barely separates them: it may hold the evidence until the next stroke's window
        // (a kink shows at every stroke), but any stroke window that fails resets it.
        let separation = abs((1 - a) * (prev.level - ref) + kinked)
        // Backstop, independent of the learned rise: a kink makes the excess grow at every stroke
        // for as long as it lasts, while after any change of rate an open line settles within a
        // few τ. So growth (2σ of a level change) in every stroke window for M windows plus 3 τ_test
        // is a kink even where the learned rise is wrong: on lines whose stroke rise is a tenth of
        // the noise it was learned 2.5× low and the kink, growing faster than predicted, never
        // matched (swarm seeds 262, 11305, 13775). Windows without a stroke hold it unless the
        // level falls. Noise alone passes M + 3 τ_test/D ≥ 5 windows in a row with p ≤ 0.023⁵.
        let grew = change >= 2 * sigmaL * 2.0.squareRoot() && q >= threshold
        if !delivering || (strokesInWindow > 0 && !grew) || (strokesInWindow == 0 && change < -2 * sigmaL * 2.0.squareRoot()) {
            growth = 0
        } else if strokesInWindow > 0 {
            growth += 1
            if growth >= p.growthWindows && excess >= excessThresholdMMHg { occluded = true }
        }
        if delivering && q >= threshold && matchesKink {
            // Persistence runs while the excess builds up; the alarm also needs the excess itself.
            evidence += 1
            if evidence >= p.requiredWindows && excess >= excessThresholdMMHg { occluded = true }
        } else if delivering && evidence > 0 && strokesInWindow == 0 && matchesKink && separation < threshold {
            // Uninformative, consistent with a kink, and no stroke to judge by: hold.
        } else if delivering && evidence > 0 && matchesKink && q >= k * sigmaQ {
            // Consistent with a kink and significant, short only by the model allowance (which a
            // stroke in the window raises, while under a kink its Q is no higher): hold. Noise
            // lands here as rarely as it passes, so a chain of M passes stays as unlikely; a
            // model error cannot pass windows this way, only keep them from resetting (the
            // default line at 5 mL/day reset on every stroke window until the retained excess
            // was large).
        } else {
            evidence = 0
            if !occluded && abs(q) < threshold {
                let alpha = windowSeconds / Self.referenceSeconds
                reference = ref + alpha * max(-3 * sigmaL, min(3 * sigmaL, level - ref))
                referenceResponse = referenceResponse.map { $0 + alpha * (meanResponse - $0) } ?? meanResponse
            }
        }
        previous = (level, meanResponse, meanStrokes)
    }
}

