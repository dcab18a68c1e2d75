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
    }

    /// Strokes and learning time before the detector arms.
    public static let armingStrokes = 8
    public static let armingSeconds = 600.0
    /// A learned τ beyond this means the line is not draining at all...
    public static let slowestPlausibleTauSeconds = 200.0
    /// ...when the slowest fit beats every plausible one by this many noise variances (≈ 5σ).
    public static let notDrainingEvidence = 30.0
    /// Parameters are re-read from the learner at most this often, and only while the line looks clean.
    public static let adoptionSeconds = 1800.0
    /// How far back a restart assumes the basal ran: 20 time constants of the slowest valid line
    /// (60 s), so the assumed strokes' response is complete.
    public static let assumedHistory = Nanoseconds.seconds(1200)
    /// Time constant of the resting-pressure reference (tracks slow drift, not coughs).
    public static let referenceSeconds = 600.0

    private var learner: LineLearner
    public private(set) var parameters: Parameters?
    private let periodSeconds: Double
    private let periodNanoseconds: Int64
    private var decayPerTick = 0.0
    private var ticksSinceAdoptionCheck = 0

    private var response = 0.0           // m at τ_detector, at the last tick
    private var lastTick: Int64?
    private var pending: [Int64] = []
    private var strokeTimes: Deque<Int64> = []
    private var adoptedAt: Int64 = .min

    /// Window accumulation: all samples are counted, the level is the mean of the second half.
    private var sumR = 0.0, sumM = 0.0, sumN = 0.0, count = 0
    private var strokeCount = 0
    private var windowStartStrokes = 0
    private var previous: (level: Double, response: Double, strokes: Double)?
    private var reference: Double?
    public private(set) var evidence = 0
    /// Consecutive stroke windows in which the excess grew (the backstop below).
    public private(set) var growth = 0
    private var delivering = true
    /// Last window's excess over the resting reference and its threshold (for "cause gone").
    public private(set) var excessMMHg = 0.0
    public private(set) var excessThresholdMMHg = Double.infinity
    /// Latched until `reset()`.
    public private(set) var occluded = false

    public init(periodNanoseconds: Int64) {
        learner = LineLearner(periodNanoseconds: periodNanoseconds)
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
    public mutating func tick(at t: MonotonicInstant, reading: Double?, delivering: Bool) {
        let now = t.nanoseconds
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
        learner.sample(y, learn: delivering && evidence == 0 && !occluded)
        ticksSinceAdoptionCheck += 1
        if parameters == nil || ticksSinceAdoptionCheck >= 40 {
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

    /// A restart: continue from what the last run learned (it arms at the first reading, as
    /// the learner already has its strokes and its time). False if the memory does not fit.
    @discardableResult
    public mutating func restore(_ memory: LineMemory) -> Bool { learner.restore(memory) }

    /// After a clinician clears the alarm: start judging afresh (the learned line is kept).
    public mutating func reset() {
        occluded = false
        evidence = 0
        growth = 0
        previous = nil
        sumR = 0; sumM = 0; count = 0
    }

    /// The retained excess has drained: a released kink.
    public var causeGone: Bool { excessMMHg < excessThresholdMMHg }

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

    private mutating func considerAdopting(now: Int64) {
        guard let e = learner.estimate, learner.strokes >= Self.armingStrokes,
              learner.learnedSeconds >= max(Self.armingSeconds, 10 * min(e.tauSeconds, Self.slowestPlausibleTauSeconds)) else { return }
        if learner.notDrainingEvidence >= Self.notDrainingEvidence {
            // Everything learned says strokes never drain: blocked from the start.
            occluded = true
            return
        }
        let clean = evidence == 0 && !occluded && (parameters == nil || excessMMHg < excessThresholdMMHg / 2)
        guard clean, parameters == nil || Double(now - adoptedAt) / 1e9 >= Self.adoptionSeconds else { return }
        adoptedAt = now
        // Mean stroke interval from recent strokes.
        var interval = learner.learnedSeconds / Double(max(learner.strokes, 1))
        if strokeTimes.count >= 2, let first = strokeTimes.first, let last = strokeTimes.last {
            interval = Double(last - first) / 1e9 / Double(strokeTimes.count - 1)
        }
        // Window long enough that one window of an occlusion (≈ rise × D / interval) stands 4σ
        // above the window noise (σ √2 / √(D/period)): D ≥ (2.83 σ T / rise)^(2/3), within 2–120 s.
        let raw = Double.pow(2.83 * e.noiseMMHg * interval * periodSeconds.squareRoot() * 2 / max(e.strokeRiseMMHg, 1e-6), 2.0 / 3.0)
        let windowSeconds = min(120, max(2, raw))
        let samples = max(4, Int((windowSeconds / periodSeconds).rounded()))
        // Persistence outlasts the longest cough (a rise can touch ⌈3 s / D⌉ + 1 windows), and is
        // never under 4 windows, so that several coughs in a row rarely fill it.
        let required = max(4, 2 + Int((SafetyLimits.longestCough.seconds / (Double(samples) * periodSeconds)).rounded(.up)))
        let old = parameters
        // The open line is judged against a decay slower than the learned one: by 25 %, or by three
        // standard errors of the learned τ when the strokes are small against the noise.
        let margin = Double.exp(max(Double.log(1.25), 3 * e.tauLogError))
        parameters = Parameters(line: e, windowSamples: samples, requiredWindows: required, tauTestSeconds: margin * e.tauSeconds)
        decayPerTick = Double.exp(-periodSeconds / e.tauSeconds)
        guard old?.line != e else { return }
        // Recompute the response at the new τ from the stroke history, and carry the reference
        // over. The reference is a long-run average of r = y − rise × m, and a stroke train of
        // interval T has a mean response of τ/T, so the reference moves by the change of
        // rise × τ / T. (A reset would accept whatever the line holds now, retained pressure
        // included, as the new normal; an instantaneous shift would depend on when the last
        // stroke fell.)
        response = 0
        for s in strokeTimes where s <= now { response += Double.exp(-Double(now - s) / 1e9 / e.tauSeconds) }
        let oldMean = old.map { $0.line.strokeRiseMMHg * $0.line.tauSeconds } ?? 0
        let shift = (oldMean - e.strokeRiseMMHg * e.tauSeconds) / max(interval, periodSeconds)
        let ratio = old.map { e.tauSeconds / $0.line.tauSeconds } ?? 1
        reference = reference.map { $0 + shift }
        previous = previous.map { ($0.level + shift, $0.response * ratio, $0.strokes) }
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
        excessThresholdMMHg = max(0.5 * rise, 4 * sigmaL)
        guard let ref = reference, let prev = previous else {
            // The resting reference starts at the learner's fitted resting pressure (a long-run
            // estimate), not at one window that may hold a transient.
            reference = reference ?? p.line.baselineMMHg
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
        let k = p.requiredWindows >= 4 ? 3.0 : 3.5
        let threshold = k * sigmaQ + 0.2 * rise * modelTerm
        // Kinked line: nothing drains, so the change of r is known from the stroke times alone:
        // every stroke adds `rise` and the open-line correction it no longer earns.
        let kinked = rise * ((meanStrokes - prev.strokes) - (meanResponse - prev.response))
        let tolerance = 2.5 * sigmaL * 2.0.squareRoot() + 0.3 * abs(kinked) + 0.2 * rise * modelTerm
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
            let required = p.requiredWindows + Int((3 * p.tauTestSeconds / windowSeconds).rounded(.up))
            if growth >= required && excess >= excessThresholdMMHg { occluded = true }
        }
        if delivering && q >= threshold && matchesKink {
            // Persistence runs while the excess builds up; the alarm also needs the excess itself.
            evidence += 1
            if evidence >= p.requiredWindows && excess >= excessThresholdMMHg { occluded = true }
        } else if delivering && evidence > 0 && strokesInWindow == 0 && matchesKink && separation < threshold {
            // Uninformative, consistent with a kink, and no stroke to judge by: hold.
        } else {
            evidence = 0
            if !occluded && abs(q) < threshold {
                let alpha = windowSeconds / Self.referenceSeconds
                reference = ref + alpha * max(-3 * sigmaL, min(3 * sigmaL, level - ref))
            }
        }
        previous = (level, meanResponse, meanStrokes)
    }
}

