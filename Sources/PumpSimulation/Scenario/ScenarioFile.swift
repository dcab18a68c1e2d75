/// A scenario file as it is written (docs/scenarios.md v1): the swarm builds one and encodes it,
/// `Scenario.parse` reads it (and names the field of any mistake). Its events are the simulator's
/// own `ScenarioEvent`s, whose hazards are `Fault`s: one type from the plan to the plant.
import Foundation
import PumpCore
import PumpPlant

public struct ScenarioFile: Encodable, Sendable {
    public struct Start: Encodable, Sendable {
        /// Local date-time, YYYY-MM-DDTHH:MM:SS.
        public var at: String
        public var zone: String
    }
    public struct Drug: Encodable, Sendable {
        public var name: String
        public var concentration_ug_per_ml: Double
    }
    public struct Reservoir: Encodable, Sendable {
        public var capacity_ml: Double
        public var fill_ml: Double
    }
    public struct PatientBolus: Encodable, Sendable {
        public var dose_ug: Double
        public var lockout: String
        public var max_per_day: Int
    }
    public struct Step: Encodable, Sendable {
        /// Local time of day, HH:MM.
        public var start: String
        public var daily_dose_ug: Double
    }
    public struct Prescription: Encodable, Sendable {
        /// `continuous` (with `daily_dose_ug`) or `flex` (with `steps`).
        public var mode: String
        public var daily_dose_ug: Double?
        public var steps: [Step]?
        public var patient_bolus: PatientBolus?
    }
    /// The plant keys a file may set; those left nil keep their defaults.
    public struct Plant: Encodable, Sendable {
        public var stroke_volume_nl: Double?
        public var compliance_nl_per_mmhg: Double?
        public var resistance_mmhg_s_per_nl: Double?
        public var baseline_pressure_mmhg: Double?
        public var pressure_noise_mmhg: Double?
        public var coughs_per_day: Double?
        public var dead_space_ul: Double?
        public var sensor_max_mmhg: Double?
    }

    public var name: String
    public var seed: UInt64
    /// Seconds.
    public var duration: Double
    public var start: Start?
    public var drug: Drug
    public var reservoir: Reservoir
    public var prescription: Prescription
    public var plant: Plant
    public var events: [ScenarioEvent]

    /// The file's bytes: pretty-printed, keys sorted (a failing swarm seed writes these).
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Strings and finite numbers always encode.
        return (try? encoder.encode(self)) ?? Data()
    }
}

/// An event as a scenario file writes it: `at` in seconds, `type`, and the kind's fields (a
/// hazard's are its `Fault`'s JSON).
extension ScenarioEvent: Encodable {
    enum Key: String, CodingKey {
        case at, type, dose_ug, over, withdrawn_ml, added_ml, concentration_ug_per_ml, dead_space_ml, bridge
    }

    public func encode(to encoder: any Encoder) throws {
        if case .fault(let f) = kind { try f.encode(to: encoder) }
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(at.seconds, forKey: .at)
        switch kind {
        case .fault: break
        case .clinicianBolus(let dose, let over):
            try c.encode(kind.name, forKey: .type)
            try c.encode(dose.micrograms, forKey: .dose_ug)
            try c.encode(over.seconds, forKey: .over)
        case .refill(let withdrawn, let added, let concentration, let deadSpace, let bridge):
            try c.encode(kind.name, forKey: .type)
            try c.encodeIfPresent(withdrawn?.millilitres, forKey: .withdrawn_ml)
            try c.encode(added.millilitres, forKey: .added_ml)
            try c.encodeIfPresent(concentration.map { Double($0.value) / 1000 }, forKey: .concentration_ug_per_ml)
            try c.encode(deadSpace.millilitres, forKey: .dead_space_ml)
            try c.encode(bridge, forKey: .bridge)
        case .patientBolus, .acknowledge, .clinicianClear, .suspend, .resume, .doseLoopHang, .powerLoss:
            try c.encode(kind.name, forKey: .type)
        }
    }
}
