import Foundation
import PumpCore

/// The fault swarm: one seed derives a plant from the valid range, a prescription and one hazard;
/// the run is checked against the controller's invariants. A failure carries the scenario file
/// that reproduces it (`pumpctl simulate FILE`).
///
/// The parts, one job a file: `FaultPlan.swift` and `DosingPlan.swift` write a seed's scenario,
/// `RunJudge.swift` judges a finished run, `StepChecks.swift` and `Timeline.swift` watch every step,
/// `LatencyBound.swift` says how soon each hazard must alarm, `DosingViolations.swift` judges the
/// drug against the independent reference.
public enum Swarm {
    public struct Violation: Sendable, CustomStringConvertible {
        public var seed: UInt64
        public var what: String
        public var description: String { "seed \(seed): \(what)" }
    }

    public struct Outcome: Sendable {
        public var seed: UInt64
        public var violations: [Violation]
        /// The scenario, as a file's bytes, that replays this seed.
        public var scenarioJSON: Data
        public var hazard: String
        public var simulatedSeconds: Double
    }

    /// Runs one seed and checks every invariant.
    public static func run(seed: UInt64) async -> Outcome {
        await run(scenarioJSON: scenarioJSON(seed: seed), seed: seed)
    }

    /// Runs a swarm scenario (generated, or a kept regression file) and checks every invariant.
    public static func run(scenarioJSON json: Data, seed: UInt64) async -> Outcome {
        let scenario: Scenario
        do { scenario = try Scenario.parse(json) } catch {
            return Outcome(seed: seed, violations: [Violation(seed: seed, what: "generated an invalid scenario: \(error)")],
                           scenarioJSON: json, hazard: "-", simulatedSeconds: 0)
        }
        let stroke = scenario.plant.strokeVolume.value
        // The motor's 2 mL/h, basal and bolus together, judged on the plant's strokes over every
        // minute (one stroke of quantization and one at the window's edge allowed).
        let strokesPerMinute = Int64((Double(PumpLimits.maximumTotalRateNanolitresPerDay) / 1440 / Double(stroke)).rounded(.up)) + 1
        // One value the closure captures: each captured variable would cost a runtime
        // exclusivity check on every step (the closure escapes).
        var checks = StepChecks(stroke: stroke, strokesPerMinute: strokesPerMinute)
        let result = await Simulator.run(scenario, inspect: { checks.observe($0) })
        var judge = RunJudge(scenario: scenario, result: result, timeline: checks.timeline, lastStep: checks.previous)
        if let v = checks.firstViolation { judge.found.append(v) }
        judge.judgeAll()
        let hazardNames = judge.hazards.map(\.kind.name)
        let name = hazardNames.isEmpty ? "-" : hazardNames.joined(separator: "+")
        return Outcome(seed: seed, violations: judge.found.map { Violation(seed: seed, what: $0) }, scenarioJSON: json, hazard: name,
                       simulatedSeconds: result.report.duration_s)
    }
}
