import Foundation

/// The report of SCENARIOS.md v1. Keys are snake_case with the unit last; fields may be added
/// but none of these may change meaning. Encoded with sorted keys so a seed gives the same bytes.
public struct Report: Encodable, Sendable, Equatable {
    public struct Alarm: Encodable, Sendable, Equatable {
        public var type: String
        public var priority: String
        public var at_s: Double
        public var acknowledged_at_s: Double?
        public var cleared_at_s: Double?
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(type, forKey: .type)
            try c.encode(priority, forKey: .priority)
            try c.encode(at_s, forKey: .at_s)
            try c.encode(acknowledged_at_s, forKey: .acknowledged_at_s)
            try c.encode(cleared_at_s, forKey: .cleared_at_s)
        }
        enum CodingKeys: String, CodingKey { case type, priority, at_s, acknowledged_at_s, cleared_at_s }
    }
    public struct Halt: Encodable, Sendable, Equatable {
        public var reason: String
        public var at_s: Double
    }
    public struct Fault: Encodable, Sendable, Equatable {
        public var type: String
        public var at_s: Double
        public var detected_at_s: Double?
        public var latency_s: Double?
        public var alarm: String?
        public var volume_since_fault_ul: Double
        /// Ours: strokes commanded from the fault until it was detected (or the end).
        public var strokes_since_fault: Int64
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(type, forKey: .type)
            try c.encode(at_s, forKey: .at_s)
            try c.encode(detected_at_s, forKey: .detected_at_s)
            try c.encode(latency_s, forKey: .latency_s)
            try c.encode(alarm, forKey: .alarm)
            try c.encode(volume_since_fault_ul, forKey: .volume_since_fault_ul)
            try c.encode(strokes_since_fault, forKey: .strokes_since_fault)
        }
        enum CodingKeys: String, CodingKey {
            case type, at_s, detected_at_s, latency_s, alarm, volume_since_fault_ul, strokes_since_fault
        }
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
    /// Ours: a conventional fixed-threshold occlusion detector run on the same readings.
    public struct Baseline: Encodable, Sendable, Equatable {
        public var fixed_threshold_mmhg: Double
        public var alarm_at_s: Double?
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(fixed_threshold_mmhg, forKey: .fixed_threshold_mmhg)
            try c.encode(alarm_at_s, forKey: .alarm_at_s)
        }
        enum CodingKeys: String, CodingKey { case fixed_threshold_mmhg, alarm_at_s }
    }

    /// Ours: what the controller learned about the catheter and how its occlusion detector is set.
    public struct Learned: Encodable, Sendable, Equatable {
        public var tau_s: Double?
        public var stroke_rise_mmhg: Double?
        public var baseline_mmhg: Double?
        public var noise_mmhg: Double?
        public var detector_armed: Bool
        public var detector_window_s: Double?
        public var detector_required_windows: Int?
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tau_s, forKey: .tau_s)
            try c.encode(stroke_rise_mmhg, forKey: .stroke_rise_mmhg)
            try c.encode(baseline_mmhg, forKey: .baseline_mmhg)
            try c.encode(noise_mmhg, forKey: .noise_mmhg)
            try c.encode(detector_armed, forKey: .detector_armed)
            try c.encode(detector_window_s, forKey: .detector_window_s)
            try c.encode(detector_required_windows, forKey: .detector_required_windows)
        }
        enum CodingKeys: String, CodingKey {
            case tau_s, stroke_rise_mmhg, baseline_mmhg, noise_mmhg, detector_armed, detector_window_s, detector_required_windows
        }
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
    public var alarms: [Alarm]
    public var halts: [Halt]
    public var faults: [Fault]
    public var boluses: [Bolus]
    public var commands: [Command]
    public var baseline: Baseline
    public var learned: Learned

    public func json() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        return (try? e.encode(self)) ?? Data()
    }
}
