/// A fault's JSON form: the scenario event's fields (docs/scenarios.md), with the same defaults and
/// ranges; a value out of range is refused, naming its key.
import PumpCore
import PumpHAL

extension Fault: Codable {
    enum Key: String, CodingKey { case type, fraction, mode, percent, mmhg, over, count, kind, errno }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: .type)
        switch self {
        case .occlusion(let f), .encoderSlip(let f), .leak(let f): try c.encode(f, forKey: .fraction)
        case .pressureSensorFault(let m): try c.encode(m, forKey: .mode)
        case .battery(let p): try c.encode(p, forKey: .percent)
        case .cough(let mmHg, let over):
            try c.encode(mmHg, forKey: .mmhg)
            try c.encode(over.seconds, forKey: .over)
        case .droppedEncoderEdges(let n): try c.encode(n, forKey: .count)
        case .motorCommandFailure(let kind, let errno):
            try c.encode(kind, forKey: .kind)
            try c.encodeIfPresent(errno, forKey: .errno)
        case .clearOcclusion, .motorStall, .clearMotorStall, .clearSensorFault, .driverFault, .clearDriverFault,
             .gaugeFailing, .clearGaugeFailing: break
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func bad(_ key: Key, _ why: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.rawValue) \(why)")
        }
        func number(_ key: Key, _ range: ClosedRange<Double>, default d: Double?) throws -> Double {
            guard let v = try c.decodeIfPresent(Double.self, forKey: key) ?? d else { throw bad(key, "is required") }
            guard v.isFinite, range.contains(v) else { throw bad(key, "must be from \(range.lowerBound) to \(range.upperBound)") }
            return v
        }
        func fraction(default d: Double? = nil) throws -> Double { try number(.fraction, 0...1, default: d) }
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "occlusion": self = .occlusion(fraction: try fraction(default: Defaults.occlusionFraction))
        case "clear_occlusion": self = .clearOcclusion
        case "motor_stall": self = .motorStall
        case "clear_motor_stall": self = .clearMotorStall
        case "encoder_slip": self = .encoderSlip(fraction: try fraction())
        case "leak": self = .leak(fraction: try fraction())
        case "pressure_sensor_fault": self = .pressureSensorFault(try c.decode(SensorFaultMode.self, forKey: .mode))
        case "clear_sensor_fault": self = .clearSensorFault
        case "battery": self = .battery(percent: try number(.percent, 0...100, default: nil))
        case "cough":
            let mmHg = try number(.mmhg, 0...150, default: Defaults.coughMMHg)
            let over = Nanoseconds.fromSeconds(try number(.over, 0...SafetyLimits.longestCough.seconds, default: Defaults.coughOver.seconds))
            guard over.value > 0 else { throw bad(.over, "must be longer than 0") }
            self = .cough(mmHg: mmHg, over: over)
        case "driver_fault": self = .driverFault
        case "clear_driver_fault": self = .clearDriverFault
        case "dropped_encoder_edges":
            let n = try c.decode(Int64.self, forKey: .count)
            guard n >= 0 else { throw bad(.count, "must be 0 or more") }
            self = .droppedEncoderEdges(count: n)
        case "gauge_failing": self = .gaugeFailing
        case "clear_gauge_failing": self = .clearGaugeFailing
        case "motor_command_failure":
            self = .motorCommandFailure(try c.decode(HALError.Kind.self, forKey: .kind), errno: try c.decodeIfPresent(Int32.self, forKey: .errno))
        default: throw bad(.type, "is not a fault: '\(type)'")
        }
    }
}

extension Nanoseconds {
    /// Whole nanoseconds nearest `seconds` (as a scenario file reads a number of seconds).
    public static func fromSeconds(_ seconds: Double) -> Nanoseconds { Nanoseconds(Int64((seconds * 1e9).rounded())) }
}
