import PumpCore

import RealModule

/// What the controller has learned about the catheter from its own readings: how far one stroke
/// raises the pressure, how fast that decays, the pressure the line rests at, and the sensor noise.
/// It is never told the plant's values.
public struct LineEstimate: Hashable, Sendable, Codable {
    public var tauSeconds: Double
    public var strokeRiseMMHg: Double
    public var baselineMMHg: Double
    public var noiseMMHg: Double
    /// Standard error of ln τ, from the curvature of the fit's residual around its minimum
    /// (large when the strokes are small against the noise).
    public var tauLogError: Double
}

/// What the learner knows, kept in the journal so a restart continues learning instead of
/// starting afresh. A fresh start has the start-up transient to tell τ from the resting pressure;
/// a restart into a line at steady state has not, and a model learned from that alone mistook the
/// split and alarmed on the next bolus (swarm seeds 108, 709, 980, 1033, 1403, 1427, 1831).
/// The sums are the fit's sufficient statistics; the stroke responses are rebuilt from the
/// assumed history (`ControllerCore.assumeHistory`).
public struct LineMemory: Codable, Sendable, Equatable {
    var s1, sy, syy: Double
    var sm, smm, smy: [Double]
    var blocks, strokes: Int
    var learnedSeconds: Double
    var estimate: LineEstimate?
    var bestIndex: Int
    var absDiffMean: Double?
    var noiseDifferences: Int
    var notDrainingEvidence: Double
}

/// Identifies the open catheter as a first-order line with an output-error filter bank.
///
/// For each candidate time constant τ in a log-spaced bank, the unit stroke response
/// m_τ(t) = Σ exp(-(t - t_stroke)/τ) is computed from the known stroke times (noise-free), and the
/// readings are fitted as y = baseline + rise × m_τ by weighted least squares over exponentially
/// forgotten 1-second blocks. The τ with the smallest residual wins (refined by a parabola in log τ).
/// Regressing on the noise-free response, not on past readings, keeps the fit unbiased by noise.
struct LineLearner: Sendable {
    static let bankSize = 30
    /// 0.4 s … 258 s, ratio 1.25: the valid plants span 1–60 s; the ends catch what is outside.
    static let taus: [Double] = (0..<bankSize).map { 0.4 * Double.pow(1.25, Double($0)) }
    /// Valid lines have τ ≤ 60 s (`ValidPlant`); a fit beyond twice that is no open line (a
    /// blocked one, or a fit thrown off by disturbances), and the detector never judges against
    /// it. Twice, not once: a young fit's τ is uncertain by tens of percent.
    static let slowestPlausibleTauSeconds = 2 * ValidPlant.tauSeconds.upperBound
    static let blockSamples = 4
    /// Forgetting half-life of the fit, in seconds. Long: a catheter does not change by itself,
    /// and at a steady high rate new data say little about τ, so the start-up transient and past
    /// boluses must not be forgotten quickly.
    static let halfLifeSeconds = 7.0 * 86_400
    /// Stroke times are placed on a 1/16-period grid inside a sample period (≤ 8 ms error).
    static let subSteps = 16

    let periodSeconds: Double
    private var decay: [Double]
    /// exp(-k·period/16/τ) for k = 0…15, for strokes between samples.
    private var strokeFactors: [[Double]]
    private var m: [Double]
    private var lastTick: Int64?
    private var pending: [Int64] = []

    private var blockY = 0.0, blockN = 0
    private var blockM: [Double]
    private var s1 = 0.0, sy = 0.0, syy = 0.0
    private var sm: [Double], smm: [Double], smy: [Double]
    private let forget: Double

    /// The fit is solved every few blocks; the sums are updated every block.
    static let refitEveryBlocks = 8
    private var blocks = 0
    private var rss: [Double], gain: [Double], base: [Double]
    private(set) var strokes = 0
    private(set) var learnedSeconds = 0.0
    private(set) var estimate: LineEstimate?
    private(set) var bestIndex = 0
    private var absDiffMean: Double?
    private var noiseDifferences = 0
    private var previous: (y: Double, response: Double)?

    init(periodNanoseconds: Int64) {
        periodSeconds = Double(periodNanoseconds) / 1e9
        let p = periodSeconds
        decay = Self.taus.map { Double.exp(-p / $0) }
        strokeFactors = (0..<Self.subSteps).map { k in Self.taus.map { Double.exp(-Double(k) * p / Double(Self.subSteps) / $0) } }
        m = Array(repeating: 0, count: Self.bankSize)
        blockM = m; sm = m; smm = m; smy = m
        rss = m; gain = m; base = m
        forget = Double.pow(0.5, Double(Self.blockSamples) * p / Self.halfLifeSeconds)
    }

    mutating func stroke(at t: Int64) { pending.append(t) }

    /// Moves the responses to the tick at `t` (every watchdog period, with or without a reading).
    mutating func tick(at t: Int64) {
        if let last = lastTick {
            let steps = Int((Double(t - last) / (periodSeconds * 1e9)).rounded())
            if steps == 1 {
                m.withUnsafeMutableBufferPointer { mb in
                    decay.withUnsafeBufferPointer { db in for j in 0..<Self.bankSize { mb[j] *= db[j] } }
                }
            } else {
                let dt = Double(t - last) / 1e9
                for j in 0..<Self.bankSize { m[j] *= Double.exp(-dt / Self.taus[j]) }
            }
        }
        lastTick = t
        for s in pending {
            let k = min(Self.subSteps - 1, max(0, Int((Double(t - s) / 1e9 / periodSeconds * Double(Self.subSteps)).rounded())))
            if Double(t - s) / 1e9 <= periodSeconds {
                let f = strokeFactors[k]
                for j in 0..<Self.bankSize { m[j] += f[j] }
            } else {
                let dt = Double(t - s) / 1e9
                for j in 0..<Self.bankSize { m[j] += Double.exp(-dt / Self.taus[j]) }
            }
        }
        if !pending.isEmpty {
            strokes += pending.count
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Adds a trusted reading taken at the current tick. `learn` is false while an occlusion is
    /// suspected or delivery is stopped, so a kinked line is never learned as normal.
    mutating func sample(_ y: Double, learn: Bool) {
        updateNoise(y)
        guard learn else { blockN = 0; blockY = 0; return }
        learnedSeconds += periodSeconds
        blockY += y
        blockM.withUnsafeMutableBufferPointer { bb in
            m.withUnsafeBufferPointer { mb in for j in 0..<Self.bankSize { bb[j] += mb[j] } }
        }
        blockN += 1
        if blockN == Self.blockSamples { closeBlock() }
    }

    /// Sensor noise per reading, from successive differences with the modelled stroke response
    /// removed; clipped so coughs do not inflate it.
    private mutating func updateNoise(_ y: Double) {
        let response = m[bestIndex]
        defer { previous = (y, response) }
        guard let p = previous else { return }
        let rise = estimate?.strokeRiseMMHg ?? 0
        if estimate == nil, response > p.response + 1e-9 { return }   // a stroke in between, nothing learned yet
        var d = abs((y - p.y) - rise * (response - p.response))
        noiseDifferences += 1
        guard let mean = absDiffMean else { absDiffMean = d; return }
        if noiseDifferences <= 64 {
            // A plain mean first: clipping against an estimate made of one or two differences
            // (which can be exactly zero) would pin it there.
            absDiffMean = mean + (d - mean) / Double(noiseDifferences)
            return
        }
        d = min(d, 4 * mean + 0.01)                                     // 0.01 mmHg: one ADC step
        absDiffMean = mean + (d - mean) / 2400                           // ~10-minute average
    }

    private mutating func closeBlock() {
        let n = Double(blockN)
        let y = blockY / n
        var w = 1.0
        if let e = estimate {
            let predicted = e.baselineMMHg + e.strokeRiseMMHg * blockM[bestIndex] / n
            let scale = max(e.noiseMMHg / 2, 0.01)
            let res = abs(y - predicted)
            if res > 3 * scale { w = 3 * scale / res }    // Huber: a cough does not drag the fit
        }
        s1 = s1 * forget + w
        sy = sy * forget + w * y
        syy = syy * forget + w * y * y
        for j in 0..<Self.bankSize {
            let mj = blockM[j] / n
            sm[j] = sm[j] * forget + w * mj
            smm[j] = smm[j] * forget + w * mj * mj
            smy[j] = smy[j] * forget + w * mj * y
            blockM[j] = 0
        }
        blockY = 0
        blockN = 0
        blocks += 1
        if blocks % Self.refitEveryBlocks == 0 || estimate == nil { refit() }
    }

    private mutating func refit() {
        guard s1 > 2 else { return }
        let my = sy / s1, Syy = syy - sy * my
        for j in 0..<Self.bankSize {
            rss[j] = .infinity; gain[j] = 0; base[j] = my
            let mm = sm[j] / s1
            let Smm = smm[j] - sm[j] * mm, Smy = smy[j] - sm[j] * my
            guard Smm > 1e-12 else { continue }
            let g = Smy / Smm
            guard g > 0 else { rss[j] = Syy; continue }
            gain[j] = g
            base[j] = my - g * mm
            rss[j] = Syy - Smy * g
        }
        guard let best = rss.indices.min(by: { rss[$0] < rss[$1] }), rss[best].isFinite, gain[best] > 0 else { return }
        let blockVariance = Swift.max(1e-8, Double.pow((absDiffMean ?? 0) * 0.886, 2) / Double(Self.blockSamples))
        let plausible = rss.indices.filter { Self.taus[$0] <= Self.slowestPlausibleTauSeconds }.map { rss[$0] }.min() ?? .infinity
        notDrainingEvidence = best == Self.bankSize - 1 ? (plausible - rss[best]) / blockVariance : 0
        var offset = 0.0
        var logError = 1.0                      // unknown: a factor of e either way
        if best > 0, best < Self.bankSize - 1, rss[best - 1].isFinite, rss[best + 1].isFinite {
            let a = rss[best - 1], b = rss[best], c = rss[best + 1]
            let denom = a - 2 * b + c
            if denom > 0 {
                offset = max(-0.5, min(0.5, 0.5 * (a - c) / denom))
                // RSS ≈ RSS_min + ½ κ (ln τ − ln τ̂)², κ = denom / (ln 1.25)²; Var(ln τ) = 2σ²/κ.
                let kappa = denom / Double.pow(Double.log(1.25), 2)
                logError = min(1, (2 * blockVariance / kappa).squareRoot())
            }
        }
        let neighbour = offset >= 0 ? min(best + 1, Self.bankSize - 1) : max(best - 1, 0)
        let f = abs(offset)
        let g = gain[best] * (1 - f) + (gain[neighbour] > 0 ? gain[neighbour] : gain[best]) * f
        bestIndex = best
        estimate = LineEstimate(
            tauSeconds: Self.taus[best] * Double.pow(1.25, offset),
            strokeRiseMMHg: g,
            baselineMMHg: base[best],
            noiseMMHg: max(0.005, (absDiffMean ?? 0) * 0.886),
            tauLogError: logError)
    }

    var memory: LineMemory {
        LineMemory(s1: s1, sy: sy, syy: syy, sm: sm, smm: smm, smy: smy, blocks: blocks, strokes: strokes, learnedSeconds: learnedSeconds,
                   estimate: estimate, bestIndex: bestIndex, absDiffMean: absDiffMean, noiseDifferences: noiseDifferences,
                   notDrainingEvidence: notDrainingEvidence)
    }

    /// Continues from a journaled memory; false (nothing changed) if it does not fit this bank.
    mutating func restore(_ m: LineMemory) -> Bool {
        guard [m.sm.count, m.smm.count, m.smy.count].allSatisfy({ $0 == Self.bankSize }), (0..<Self.bankSize).contains(m.bestIndex),
              ([m.s1, m.sy, m.syy, m.learnedSeconds, m.notDrainingEvidence] + m.sm + m.smm + m.smy).allSatisfy(\.isFinite) else { return false }
        s1 = m.s1; sy = m.sy; syy = m.syy
        sm = m.sm; smm = m.smm; smy = m.smy
        blocks = m.blocks; strokes = m.strokes; learnedSeconds = m.learnedSeconds
        estimate = m.estimate; bestIndex = m.bestIndex
        absDiffMean = m.absDiffMean; noiseDifferences = m.noiseDifferences
        notDrainingEvidence = m.notDrainingEvidence
        refit()
        return true
    }

    /// How strongly the data prefer "the line does not drain" (the slowest member of the bank) over
    /// every plausible line (τ ≤ `slowestPlausibleTauSeconds`): the residual difference in units of
    /// block noise variance.
    private(set) var notDrainingEvidence = 0.0
}
