import Foundation

/// The report of docs/scenarios.md v1. Keys are snake_case with the unit last; fields may be added
/// but none of these may change meaning. Encoded with sorted keys so a seed gives the same bytes.
public struct Report: Encodable, Sendable, Equatable {
    public struct Alarm: Encodable, Sendable, Equatable {
        public var type: String
        public var priority: String
        public var at_s: Double
        @Null public var acknowledged_at_s: Double?
        @Null public var cleared_at_s: Double?
        /// Ours: when it sounded again after an acknowledgement (its cause came back).
        public var reannounced_at_s: [Double] = []
    }
    public struct Halt: Encodable, Sendable, Equatable {
        public var reason: String
        public var at_s: Double
    }
    public struct Fault: Encodable, Sendable, Equatable {
        public var type: String
        public var at_s: Double
        @Null public var detected_at_s: Double?
        @Null public var latency_s: Double?
        @Null public var alarm: String?
        /// Ours: the alarm this fault should raise (null: none is expected, e.g. a cough or a leak).
        @Null public var expected_alarm: String?
        public var volume_since_fault_ul: Double
        /// Ours: strokes commanded from the fault until it was detected (or the end).
        public var strokes_since_fault: Int64
        /// Ours, occlusions only: what the detector had learned and how it was set at the onset
        /// (its latency bound depends on these, not on where a run ends).
        public var detector: Learned?
    }
    public struct Bolus: Encodable, Sendable, Equatable {
        public var kind: String
        public var requested_at_s: Double
        public var accepted: Bool
        public var dose_ug: Double
        public var reason: String?
    }
    public struct Command: Encodable, Sendable, Equatable {
        public var type: String
        public var at_s: Double
        public var accepted: Bool
        public var reason: String?
    }
    /// Ours: each accepted refill's reconciliation against the ledger.
    public struct Refill: Encodable, Sendable, Equatable {
        public var at_s: Double
        public var expected_ul: Double
        public var withdrawn_ul: Double
        public var discrepancy_ul: Double
        public var tolerance_ul: Double
        public var beyond_tolerance: Bool
        public var added_ul: Double
        public var old_concentration_ug_per_ml: Double
        public var new_concentration_ug_per_ml: Double
        @Null public var bridge_s: Double?
    }
    /// Ours: a conventional fixed-threshold occlusion detector run on the same readings.
    public struct Baseline: Encodable, Sendable, Equatable {
        public var fixed_threshold_mmhg: Double
        @Null public var alarm_at_s: Double?
        /// Every crossing of the threshold over the run (re-armed 10 mmHg below it).
        public var alarm_count: Int
        /// Plant strokes from the first `occlusion` event to its first alarm.
        @Null public var strokes_since_fault: Int64?
    }

    /// Ours: what the controller learned about the catheter and how its occlusion detector is set.
    public struct Learned: Encodable, Sendable, Equatable {
        @Null public var tau_s: Double?
        @Null public var stroke_rise_mmhg: Double?
        @Null public var baseline_mmhg: Double?
        @Null public var noise_mmhg: Double?
        public var detector_armed: Bool
        @Null public var detector_window_s: Double?
        @Null public var detector_required_windows: Int?
        /// Ours: the slowest open-line decay the detector judges against (τ_test) and the growth
        /// windows its backstop needs.
        @Null public var detector_tau_test_s: Double?
        @Null public var detector_growth_windows: Int?
    }

    public var scenario: String
    public var seed: UInt64
    public var duration_s: Double
    public var stroke_volume_ul: Double
    public var programmed_ul: Double
    public var commanded_ul: Double
    public var delivered_ul: Double
    public var programmed_ug: Double
    public var delivered_ug: Double
    public var final_state: String
    /// Ours: the controller's own idea of the programme in µg (what `programmed_ug` was before
    /// it came from the independent reference).
    public var controller_programmed_ug: Double
    /// Ours: the drug the pump pushed past the catheter's dead space, as the plant counts it
    /// (`delivered_ug` plus what the line's compliance still holds).
    public var committed_ug: Double
    public var alarms: [Alarm]
    public var halts: [Halt]
    public var faults: [Fault]
    public var boluses: [Bolus]
    public var commands: [Command]
    public var refills: [Refill]
    public var baseline: Baseline
    public var learned: Learned

    public func json() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        return (try? e.encode(self)) ?? Data()
    }
}

/// An optional that the report encodes as `null` when absent (the contract names these fields
/// in every entry), where Swift's synthesized coding would leave the key out.
@propertyWrapper
public struct Null<Value: Encodable & Sendable & Equatable>: Encodable, Sendable, Equatable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let v = wrappedValue { try c.encode(v) } else { try c.encodeNil() }
    }
}
