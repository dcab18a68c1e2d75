import DequeModule
import PumpCore
import RealModule

/// Once armed: the open-line response of the strokes, and the window test that finds a kink.
extension OcclusionDetector {
    var tauDetector: Double { parameters?.line.tauSeconds ?? 1 }

    mutating func advanceResponse(to now: Int64) {
        if let last = lastTick {
            response *= (now - last == periodNanoseconds) ? decayPerTick : Double.exp(-Double(now - last) / 1e9 / tauDetector)
        }
        lastTick = now
        guard !pending.isEmpty else { return }
        for s in pending { response += Double.exp(-Double(now - s) / 1e9 / tauDetector) }
        pending.removeAll(keepingCapacity: true)
    }

    mutating func pruneStrokes(now: Int64) {
        let keep = Int64(max(20 * tauDetector, 600) * 1e9)
        while strokeTimes.count > 32, let first = strokeTimes.first, now - first > keep { strokeTimes.removeFirst() }
    }

    mutating func closeWindow(_ p: Parameters, now: Int64) {
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
            if growth >= p.growthWindows && excess >= excessThresholdMMHg { detectedNow = true }
        }
        if delivering && q >= threshold && matchesKink {
            // Persistence runs while the excess builds up; the alarm also needs the excess itself.
            evidence += 1
            if evidence >= p.requiredWindows && excess >= excessThresholdMMHg { detectedNow = true }
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
