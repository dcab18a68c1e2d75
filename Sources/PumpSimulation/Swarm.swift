import Foundation
import PumpCore
import PumpFakes

/// The fault swarm: one seed derives a plant from the valid range, a prescription and one hazard;
/// the run is checked against the controller's invariants. A failure carries the scenario file
/// that reproduces it (`pumpctl simulate FILE`).
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

    /// The scenario for `seed`, as JSON (the same bytes a failure writes out).
    public static func scenarioJSON(seed: UInt64) -> Data {
        var rng = Xoshiro256(seed: seed ^ 0x5EED_5A4D)
        func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * rng.unit() }
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.unit() * Double(xs.count)) % xs.count] }

        let compliance = uniform(50, 1000), tau = uniform(1, 60)
        let stroke = Double(Int(uniform(50, 1000)))
        let plant: [String: Any] = [
            "stroke_volume_nl": stroke, "compliance_nl_per_mmhg": compliance, "resistance_mmhg_s_per_nl": tau / compliance,
            "baseline_pressure_mmhg": uniform(0, 25), "pressure_noise_mmhg": uniform(0, 1), "coughs_per_day": pick([0.0, 12, 48]),
        ]
        // Rates 0.048–24 mL/day, log-uniform; concentration chosen so the dose stays in baclofen's limits.
        let rate = 0.048 * Double.pow(500, rng.unit())
        let concentration = rate < 1 ? 2000.0 : 50.0
        let daily = min(2000, (rate * concentration * 1000).rounded() / 1000 + 0.001)
        // At most 80 µL a bolus, so a bolus over 10 minutes stays under the motor's 2 mL/h.
        let bolus = min(pick([5.0, 10, 20]), (concentration * 0.08 * 1000).rounded(.down) / 1000)
        var prescription: [String: Any] = ["patient_bolus": ["dose_ug": bolus, "lockout": "1h", "max_per_day": 4]]
        if rng.unit() < 0.5 {
            prescription["mode"] = "continuous"
            prescription["daily_dose_ug"] = daily
        } else {
            prescription["mode"] = "flex"
            prescription["steps"] = [["start": "00:00", "daily_dose_ug": daily],
                                     ["start": "08:00", "daily_dose_ug": min(2000, 23.9 * concentration, max(0.05 * concentration, (daily * uniform(0.5, 1.5) * 1000).rounded() / 1000 + 0.001))]]
        }
        // Learning takes 8 strokes and 10 minutes; the hazard comes after that.
        let interval = stroke / (rate * 1e6) * 86_400
        let onset = (max(3600, 12 * interval) + uniform(0, 3600)).rounded()
        let hazards: [[String: Any]] = [
            ["type": "occlusion"], ["type": "motor_stall"], ["type": "encoder_slip", "fraction": uniform(0.25, 0.9)],
            ["type": "pressure_sensor_fault", "mode": pick(["nack", "stuck", "noise"])], ["type": "battery", "percent": pick([14.0, 4])],
            ["type": "leak", "fraction": uniform(0.1, 0.5)], ["type": "cough", "mmhg": uniform(10, 80), "over": "2s"],
        ]
        var hazard = pick(hazards)
        hazard["at"] = onset
        var events: [[String: Any]] = [hazard]
        // A few patient presses around the hazard exercise the limits.
        for _ in 0..<Int(uniform(0, 6)) { events.append(["at": (uniform(0, onset)).rounded(), "type": "patient_bolus"]) }
        let duration = onset + max(1800, 60 * interval)
        let scenario: [String: Any] = [
            "name": "swarm seed \(seed)", "seed": Double(seed % 9_007_199_254_740_991), "duration": duration.rounded(),
            "drug": ["name": "baclofen", "concentration_ug_per_ml": concentration],
            "reservoir": ["capacity_ml": 250, "fill_ml": 250], "prescription": prescription, "plant": plant, "events": events,
        ]
        // Plain dictionaries of numbers and strings always serialize.
        return (try? JSONSerialization.data(withJSONObject: scenario, options: [.sortedKeys, .prettyPrinted])) ?? Data()
    }

    /// Runs one seed and checks every invariant.
    public static func run(seed: UInt64) async -> Outcome {
        await run(scenarioJSON: scenarioJSON(seed: seed), seed: seed)
    }

    /// Runs a swarm scenario (generated, or a kept regression file) and checks every invariant.
    public static func run(scenarioJSON json: Data, seed: UInt64) async -> Outcome {
        var violations: [Violation] = []
        func fail(_ what: String) { violations.append(Violation(seed: seed, what: what)) }
        let scenario: Scenario
        do { scenario = try Scenario.parse(json) } catch {
            return Outcome(seed: seed, violations: [Violation(seed: seed, what: "generated an invalid scenario: \(error)")],
                           scenarioJSON: json, hazard: "-", simulatedSeconds: 0)
        }
        let stroke = scenario.plant.strokeVolume.value
        var previous: SimulationStep?
        var firstStepViolation: String?
        let result = await Simulator.run(scenario, inspect: { step in
            defer { previous = step }
            guard firstStepViolation == nil else { return }
            // Commanded never exceeds programmed + one stroke.
            if step.commandedStrokes * stroke > step.programmed.value + stroke {
                firstStepViolation = "at \(step.at.seconds) s commanded \(step.commandedStrokes) strokes > programmed \(step.programmed.value) nL + 1 stroke"
            }
            // No stroke while halted or suspended.
            if let p = previous, p.state != .delivering, step.state != .delivering, step.commandedStrokes > p.commandedStrokes {
                firstStepViolation = "at \(step.at.seconds) s a stroke while \(step.state.rawValue)"
            }
        })
        if let v = firstStepViolation { fail(v) }
        let r = result.report
        let hazard = scenario.events.first { !$0.kind.isCommand }
        let hazardName = hazard?.kind.name ?? "-"

        // Every observable hazard alarmed within its bound; no high alarm without a hazard.
        if let f = r.faults.first(where: { $0.type == hazardName }) {
            if let expected = f.expected_alarm {
                if let latency = f.latency_s {
                    let bound = latencyBound(hazard: hazard!.kind, report: r, scenario: scenario)
                    // Within the bound in strokes or in time (either holds where the other is loose).
                    if latency > bound.seconds && Double(f.strokes_since_fault) > bound.strokes {
                        fail("\(hazardName) alarmed after \(latency) s and \(f.strokes_since_fault) strokes; bound \(bound.seconds) s / \(bound.strokes) strokes")
                    }
                } else {
                    fail("\(hazardName) never raised \(expected)")
                }
            }
        }
        let allowedHigh = Set(r.faults.compactMap(\.expected_alarm))
        for a in r.alarms where a.priority == "high" && !allowedHigh.contains(a.type) {
            fail("high alarm \(a.type) at \(a.at_s) s without its hazard (injected: \(hazardName))")
        }
        // No patient bolus outside its limits (the prescription's lockout and daily count).
        if let rule = scenario.prescription.patientBolus {
            let accepted = r.boluses.filter { $0.kind == "patient" && $0.accepted }.map(\.requested_at_s)
            for (i, t) in accepted.enumerated() {
                if i > 0, t - accepted[i - 1] < rule.lockout.seconds { fail("patient bolus at \(t) s inside the lockout") }
                if accepted.filter({ $0 > t - 86_400 && $0 <= t }).count > rule.maxPerDay {
                    fail("more than \(rule.maxPerDay) patient boluses in 24 h at \(t) s")
                }
            }
        }
        return Outcome(seed: seed, violations: violations, scenarioJSON: json, hazard: hazardName, simulatedSeconds: r.duration_s)
    }

    /// The documented detection bound of each hazard (README "Limits", docs/occlusion-detection.md),
    /// in seconds and in strokes; a detection within either passes (-1: that form does not apply).
    static func latencyBound(hazard: ScenarioEvent.Kind, report r: Report, scenario s: Scenario) -> (seconds: Double, strokes: Double) {
        let p = s.plant
        let rateNlPerSecond = r.programmed_ul * 1000 / max(1, r.duration_s)
        let interval = Double(p.strokeVolume.value) / max(rateNlPerSecond, 1e-9)
        switch hazard {
        case .occlusion:
            let rise = Double(p.strokeVolume.value) / p.complianceNanolitresPerMMHg
            let window = r.learned.detector_window_s ?? 120, windows = Double(r.learned.detector_required_windows ?? 4)
            let noise = (p.pressureNoiseMMHg * p.pressureNoiseMMHg + p.sensorFloorMMHg * p.sensorFloorMMHg).squareRoot()
            let settle = (4 * noise / (window * 2).squareRoot() / rise).rounded(.up) + 1
            let strokes = settle + ((windows + 1) * window / interval).rounded(.up) + (2 * p.timeConstantSeconds / interval).rounded(.up)
            // The same bound in time, for onsets during a bolus (strokes faster than the basal).
            let seconds = (windows + 1) * window + 2 * p.timeConstantSeconds + settle * interval
            return (seconds, strokes)
        case .motorStall, .encoderSlip:
            // Motion tolerance over the window, and never less than one stroke's counts: a lost
            // fraction f shows after tolerance / f strokes, plus the one being judged.
            let l = SafetyLimits()
            let tolerance = max(l.motionTolerance * Double(l.motionWindowStrokes), l.motionToleranceStrokes)
            let f: Double = if case .encoderSlip(let x) = hazard { x } else { 1 }
            return (-1, (tolerance / f).rounded(.up) + 1)
        case .pressureSensorFault: return (3, -1)          // the requirement
        case .battery:
            let l = SafetyLimits()
            return ((l.batteryPeriod + l.watchdogPeriod).seconds, -1)
        default: return (.infinity, .infinity)
        }
    }
}

extension ScenarioEvent.Kind {
    /// A clinician or patient command rather than something that happens to the pump.
    var isCommand: Bool {
        switch self {
        case .patientBolus, .clinicianBolus, .acknowledge, .clinicianClear, .suspend, .resume, .refill: true
        default: false
        }
    }
}
