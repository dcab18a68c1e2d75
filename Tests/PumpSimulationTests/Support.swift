import Foundation
import PumpCore
import Testing
import PumpSimulation

/// Builds a scenario from a dictionary (through the same JSON parser as files).
func scenario(_ object: [String: Any]) throws -> Scenario {
    try Scenario.parse(JSONSerialization.data(withJSONObject: object))
}

/// A baclofen scenario at `rateMlPerDay` with a default plant (overridable) and events.
func baclofen(rateMlPerDay: Double, hours: Double, plant: [String: Double] = [:], events: [[String: Any]] = [],
              seed: Int = 1, fillMl: Double = 60, extra: [String: Any] = [:], prescription: [String: Any] = [:]) -> [String: Any] {
    let concentration = rateMlPerDay >= 4 ? 50.0 : 500.0
    var p: [String: Any] = ["mode": "continuous", "daily_dose_ug": rateMlPerDay * concentration,
                            "patient_bolus": ["dose_ug": 10, "lockout": "1h", "max_per_day": 4]]
    p.merge(prescription) { $1 }
    var s: [String: Any] = [
        "name": "test", "seed": seed, "duration": hours * 3600,
        "drug": ["name": "baclofen", "concentration_ug_per_ml": concentration],
        "reservoir": ["capacity_ml": max(60, fillMl), "fill_ml": fillMl],
        "prescription": p, "plant": plant, "events": events,
    ]
    s.merge(extra) { $1 }
    return s
}

/// A halt that lasts an hour also sounds `delivery_stopped` (high) an hour after it (docs/alarms.md):
/// the alarms besides that one, after checking it came exactly then (on the 250 ms watchdog tick).
func besidesTheStopAlarm(_ r: Report) -> [Report.Alarm] {
    let stopped = r.alarms.filter { $0.type == "delivery_stopped" }
    if let halt = r.halts.first, halt.at_s + 3600 <= r.duration_s - 0.25 {
        #expect(stopped.count == 1 && abs((stopped.first?.at_s ?? 0) - (halt.at_s + 3600)) <= 0.25, "\(stopped)")
        #expect(stopped.first?.priority == "high")
    }
    return r.alarms.filter { $0.type != "delivery_stopped" }
}

func run(_ object: [String: Any], seed: UInt64? = nil) async throws -> Report {
    try await Simulator.run(scenario(object), seed: seed).report
}

/// Physical facts of a plant, for bounds (the controller is never told these).
struct PlantFacts {
    var strokeNl = 250.0, compliance = 200.0, resistance = 0.05, noise = 0.3
    init(_ p: [String: Double]) {
        strokeNl = p["stroke_volume_nl"] ?? 250
        compliance = p["compliance_nl_per_mmhg"] ?? 200
        resistance = p["resistance_mmhg_s_per_nl"] ?? 0.05
        noise = p["pressure_noise_mmhg"] ?? 0.3
    }
    /// Pressure rise of one stroke into a blocked line.
    var rise: Double { strokeNl / compliance }
    var tau: Double { compliance * resistance }
    func interval(rateMlPerDay: Double) -> Double { strokeNl / (rateMlPerDay * 1e6) * 86_400 }
    /// Strokes a fixed +100 mmHg detector needs after onset: the open line already sits at the
    /// mean excess flow × resistance, and each blocked stroke adds `rise`.
    func fixedThresholdStrokes(rateMlPerDay: Double) -> Double {
        let meanExcess = strokeNl / interval(rateMlPerDay: rateMlPerDay) * resistance
        return ((100 - meanExcess) / rise).rounded(.up)
    }
}
