import DequeModule
import PumpCore
import RealModule

/// Before the detector arms: the blocked-from-the-start check on spans of readings, and adopting
/// the learner's open-line estimate as the parameters the windows judge by.
extension OcclusionDetector {
    /// Before arming: sums the readings into spans and judges each closed span.
    mutating func followLevel(_ y: Double, now: Int64) {
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
    func spanSamples() -> Int {
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
    var blockedFromTheStart: Bool {
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

    mutating func considerAdopting(now: Int64) {
        guard let e = learner.estimate, learner.strokes >= Self.armingStrokes else { return }
        if parameters == nil, blockedFromTheStart {
            detectedNow = true
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
}
