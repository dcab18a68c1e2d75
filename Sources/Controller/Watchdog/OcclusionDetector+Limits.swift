import DequeModule
import PumpCore
import RealModule

/// The detector's numbers, each with why it has its value (docs/occlusion-detection.md derives
/// them; the swarm's latency bound reads them from here).
extension OcclusionDetector {
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
}
