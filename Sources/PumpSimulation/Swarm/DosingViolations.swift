/// The plant's drug against the independent dosing reference: never more than asked, and never less
/// where nothing physical took drug away.
import Controller
import Foundation
import PumpCore

extension Swarm {
    /// The plant's drug against the independent reference (`DosingRecord`): never more than asked
    /// (from the start, in any hour, in any day, and within the daily cap), and, where nothing
    /// physical took drug away (stall, slip, leak, an emptied reservoir), never less.
    ///
    /// Tolerances, in strokes of the strongest drug the run held: the scheduler may lead or trail
    /// by one stroke, and the minute grid adds one; a window has two ends. A restart may lose (short
    /// only) its strokes counted as delivered but never confirmed, the programme after its last
    /// checkpoint, and what accrued since the dose loop's last wake (up to its longest sleep, 5 s,
    /// while the programme catches up with uncertain strokes: seed 5400), with a stroke of
    /// fraction. Plus a millionth of the amount for floating-point sums.
    static func dosingViolations(_ result: SimulationResult, scenario: Scenario, emptied: Bool, lastStep: SimulationStep?) -> [String] {
        var found: [String] = []
        let d = result.dosing
        var strongest = scenario.prescription.drug.concentration
        for e in scenario.events { if case .refill(_, _, let c?, _, _) = e.kind { strongest = max(strongest, c) } }
        let strokeUg = Double(scenario.plant.strokeVolume.value) * Double(strongest.value) / 1e9
        let total = d.reference.micrograms(fromUTCSeconds: d.startUTCSeconds, toUTCSeconds: d.endUTCSeconds)
        let over = 2 * strokeUg + 1e-6 * total
        let restarts = scenario.events.filter { $0.kind == .powerLoss }.map { d.startUTCSeconds + $0.at.seconds }
        let sleep = SafetyLimits().doseLoopMaximumSleep.seconds
        let sinceWake = restarts.reduce(0.0) { $0 + d.reference.micrograms(fromUTCSeconds: $1 - sleep, toUTCSeconds: $1) }
        let lostUg = Double(((lastStep?.uncertainStrokes ?? 0) + Int64(restarts.count)) * scenario.plant.strokeVolume.value
                            + (lastStep?.programmeLostAtRestarts.value ?? 0)) * Double(strongest.value) / 1e9 + sinceWake
        let under = over + lostUg
        let judgeShortfall = !emptied && !scenario.events.contains {
            switch $0.kind { case .fault(.motorStall), .fault(.encoderSlip), .fault(.leak): true; default: false }
        }
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        for (window, name) in [(nil, "from the start"), (3600.0, "in an hour"), (86_400.0, "in a day")] as [(Double?, String)] {
            let allowance = window == nil ? 0 : strokeUg
            let x = d.extremes(windowSeconds: window)
            if x.excess > over + allowance {
                found.append("the plant delivered \(f(x.excess)) µg more than prescribed \(name) (to \(x.excessAtSeconds) s; tolerance \(f(over + allowance)) µg)")
            }
            if judgeShortfall, -x.shortfall > under + allowance {
                found.append("the plant delivered \(f(-x.shortfall)) µg less than prescribed \(name) (to \(x.shortfallAtSeconds) s; tolerance \(f(under + allowance)) µg)")
            }
        }
        let cap = Double(scenario.prescription.dailyCap.value) / 1000
        let most = d.mostCommitted(inWindowOfSeconds: 86_400)
        if most > cap + over { found.append("the plant delivered \(f(most)) µg in 24 h, above the daily cap of \(f(cap)) µg") }
        return found
    }
}
