/// How soon each hazard must alarm: the documented detection bounds, in seconds and in strokes.
import Controller
import PumpCore

extension Swarm {
    /// A kink before the detector armed is alarmed within this long of learning (the
    /// no-plausible-line time and the longest span) — or as the pressure reaches the ceiling.
    public static let blockedAtStartBoundSeconds = OcclusionDetector.noPlausibleLineSeconds + OcclusionDetector.longestSpanSeconds + 15

    /// The documented detection bound of each hazard (docs/safety.md "Limits", docs/occlusion-detection.md),
    /// in seconds and in strokes; a detection within either passes (-1: that form does not apply).
    static func latencyBound(hazard: ScenarioEvent.Kind, fault: Report.Fault, report r: Report, scenario s: Scenario)
        -> (seconds: Double, strokes: Double) {
        let p = s.plant
        switch hazard {
        case .fault(.occlusion) where !(fault.detector?.detector_armed ?? true):
            // Kinked before the detector armed (docs/occlusion-detection.md "Before the line is
            // learned"): within the no-plausible-line time, or before the pressure reaches the
            // ceiling (plus its readings and a stroke).
            let rise = Double(p.strokeVolume.value) / p.complianceNanolitresPerMMHg
            let l = SafetyLimits()
            return (blockedAtStartBoundSeconds, ((l.occlusionCeilingMMHg - p.baselineMMHg) / rise).rounded(.up) + 1)
        case .fault(.occlusion):
            // docs/occlusion-detection.md "Latency bound", with the detector as it was set at the
            // onset. Evidence counts only in windows with a stroke (a window without one holds
            // it), so the windows take max(D, T) each. In strokes at the highest basal rate (a
            // bolus adds strokes, not time); in time at the lowest basal rate (a bolus only
            // shortens it). Either passes. Where the learned rise is further off than the kink
            // test tolerates, only the growth backstop can alarm, and it needs its own count of
            // windows.
            let d = fault.detector.flatMap { $0.detector_armed ? $0 : nil } ?? r.learned
            let rise = Double(p.strokeVolume.value) / p.complianceNanolitresPerMMHg
            let window = d.detector_window_s ?? OcclusionDetector.longestWindowSeconds
            var windows = Double(d.detector_required_windows ?? OcclusionDetector.minimumRequiredWindows)
            if let learned = d.stroke_rise_mmhg, abs(learned / rise - 1) > OcclusionDetector.kinkTolerance, let growth = d.detector_growth_windows {
                windows = Double(growth)
            }
            let noise = (p.pressureNoiseMMHg * p.pressureNoiseMMHg + p.sensorFloorMMHg * p.sensorFloorMMHg).squareRoot()
            let rx = s.prescription
            let fast = Double(p.strokeVolume.value) / (rx.nanolitresPerDay(rx.basal.maximumDailyDose) / 86_400)
            let slow = Double(p.strokeVolume.value) / (rx.nanolitresPerDay(rx.basal.minimumDailyDose) / 86_400)
            // Settle: the retained excess must reach the alarm's threshold (4 σ_L), and a window
            // must pass the Q test: under a kink Q ≈ g + (1 − a) E (g the kink's rise per window
            // at the lowest basal, E the excess so far), so E grows until g + (1 − a) E clears
            // k σ_Q + the model allowance by 3 σ_Q. Where a window holds less than that (clamped
            // windows on faint, slow lines) the excess must build up first.
            let sigmaL = noise / (window * 2).squareRoot()
            let a = Double.exp(-window / max(d.detector_tau_test_s ?? p.timeConstantSeconds * OcclusionDetector.tauTestMargin, 1e-3))
            let sigmaQ = sigmaL * (1 + a * a).squareRoot()
            let g = rise * window / slow
            let excess = max(OcclusionDetector.excessSigmas * sigmaL,
                             ((OcclusionDetector.windowSigmas + 3) * sigmaQ + OcclusionDetector.modelAllowance * rise - g) / max(1 - a, 1e-3))
            let settle = (excess / rise).rounded(.up) + 1
            // One chain of windows may fail by chance (a window misses the kink test's tolerance,
            // about 3.8 σ, with probability near 10⁻⁴): the windows of a failed chain and of the
            // one that alarms, 2W + 1. Two failures in one episode: below 10⁻⁶.
            let allowed = 2 * windows + 1
            let strokes = settle + max((allowed * window / fast).rounded(.up), allowed) + (2 * p.timeConstantSeconds / fast).rounded(.up)
            let seconds = settle * slow + allowed * max(window, slow) + 2 * p.timeConstantSeconds
            return (seconds, strokes)
        case .fault(.motorStall), .fault(.encoderSlip):
            // Motion tolerance over the window, and never less than one stroke's counts: a lost
            // fraction f shows after tolerance / f strokes, plus the one being judged.
            let l = SafetyLimits()
            let tolerance = max(l.motionTolerance * Double(l.motionWindowStrokes), l.motionToleranceStrokes)
            let f: Double = if case .fault(.encoderSlip(let x)) = hazard { x } else { 1 }
            return (-1, (tolerance / f).rounded(.up) + 1)
        case .fault(.pressureSensorFault): return (3, -1)          // the requirement
        case .fault(.battery):
            let l = SafetyLimits()
            return ((l.batteryPeriod + l.watchdogPeriod).seconds, -1)
        default: return (.infinity, .infinity)
        }
    }
}
