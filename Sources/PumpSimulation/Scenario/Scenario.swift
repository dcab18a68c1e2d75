import Foundation
import PumpCore
import PumpFakes

/// A scenario file (SCENARIOS.md v1), fully validated: if one of these exists, it can run.
public struct Scenario: Sendable {
    public var name: String
    public var seed: UInt64
    public var duration: Nanoseconds
    public var startUTCSeconds: Int64
    public var zone: any TimeZoneRules
    public var prescription: Prescription
    public var reservoirCapacity: Nanolitres
    public var lowReservoirAlarm: Nanolitres
    public var plant: PlantParameters
    /// Random coughs per day on top of the listed events (a plant key of ours, default 0).
    public var coughsPerDay: Double
    /// Sorted by time; events at the same time keep their file order.
    public var events: [ScenarioEvent]
}

public struct ScenarioEvent: Sendable {
    public enum Kind: Sendable, Equatable {
        case patientBolus
        case clinicianBolus(dose: Nanograms, over: Nanoseconds)
        case occlusion(fraction: Double)
        case clearOcclusion
        case motorStall
        case encoderSlip(fraction: Double)
        case leak(fraction: Double)
        case pressureSensorFault(SensorFaultMode)
        case clearSensorFault
        case battery(percent: Double)
        case cough(mmHg: Double, over: Nanoseconds)
        case acknowledge
        case clinicianClear
        case suspend
        case resume
        /// Ours: the dose loop stops being scheduled (a hung task), to test the heartbeat.
        case doseLoopHang

        public var name: String {
            switch self {
            case .patientBolus: "patient_bolus"
            case .clinicianBolus: "clinician_bolus"
            case .occlusion: "occlusion"
            case .clearOcclusion: "clear_occlusion"
            case .motorStall: "motor_stall"
            case .encoderSlip: "encoder_slip"
            case .leak: "leak"
            case .pressureSensorFault: "pressure_sensor_fault"
            case .clearSensorFault: "clear_sensor_fault"
            case .battery: "battery"
            case .cough: "cough"
            case .acknowledge: "acknowledge"
            case .clinicianClear: "clinician_clear"
            case .suspend: "suspend"
            case .resume: "resume"
            case .doseLoopHang: "dose_loop_hang"
            }
        }
    }
    public var at: Nanoseconds
    public var kind: Kind
    public init(at: Nanoseconds, kind: Kind) {
        self.at = at
        self.kind = kind
    }
}

extension Scenario {
    /// Defaults a scenario may leave out, in one place (README "Scenario defaults").
    public enum Defaults {
        public static let name = "unnamed"
        public static let seed: UInt64 = 1
        /// Default start: 2026-01-01T00:00:00Z.
        public static let startUTCSeconds: Int64 = 1_767_225_600
        public static let capacity = Nanolitres.millilitres(20)
        public static let coughMMHg = 40.0
        public static let coughOver = Nanoseconds.seconds(1)
        public static let occlusionFraction = 1.0
    }

    /// Longest cough a scenario may describe: the detector's persistence rule is built for it.
    public static let longestCough = Nanoseconds.seconds(3)

    public static func parse(_ data: Data) throws(ValidationErrors) -> Scenario {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch { throw ValidationErrors([error]) }
        return try parse(root)
    }

    public static func parse(_ root: JSONValue) throws(ValidationErrors) -> Scenario {
        var problems: [FieldError] = []
        guard var r = ObjectReader.open(root, path: "", problems: &problems) else {
            throw ValidationErrors(problems.isEmpty ? [FieldError("(file)", "must be a JSON object")] : problems)
        }
        let name = r.string("name", &problems) ?? Defaults.name
        var seed = Defaults.seed
        if let s = r.number("seed", &problems) {
            if s.isFinite, s >= 0, s <= 9_007_199_254_740_991, s.rounded() == s { seed = UInt64(s) }
            else { problems.append(FieldError("seed", "must be a whole number from 0 to 2^53-1")) }
        }
        let duration = r.duration("duration", &problems)
        if r.value("duration") == nil { problems.append(FieldError("duration", "is required")) }
        if let d = duration, d.value <= 0 { problems.append(FieldError("duration", "must be longer than 0")) }

        // Start time and zone.
        var start = Defaults.startUTCSeconds
        var zone: any TimeZoneRules = FixedOffsetZone()
        if var s = r.object("start", &problems) {
            let zoneName = s.string("zone", &problems) ?? "UTC"
            if let tz = FoundationZone(identifier: zoneName) { zone = tz } else {
                problems.append(FieldError("start.zone", "unknown IANA time zone '\(zoneName)'"))
            }
            if let at = s.string("at", &problems) {
                if let utc = FoundationZone.utcSeconds(localISO: at, zone: zoneName) { start = utc } else {
                    problems.append(FieldError("start.at", "must be a local date-time YYYY-MM-DDTHH:MM:SS, got '\(at)'"))
                }
            } else {
                problems.append(FieldError("start.at", "is required"))
            }
            s.rejectUnknown(&problems)
        }

        // Drug and prescription.
        var request = PrescriptionRequest(drugName: nil, concentrationMicrogramsPerMillilitre: nil, mode: nil)
        if var d = r.object("drug", &problems) {
            request.drugName = d.string("name", &problems)
            request.concentrationMicrogramsPerMillilitre = d.number("concentration_ug_per_ml", &problems)
            d.rejectUnknown(&problems)
        } else if r.value("drug") == nil {
            problems.append(FieldError("drug", "is required"))
        }
        if var p = r.object("prescription", &problems) {
            request.mode = p.string("mode", &problems)
            request.dailyDoseMicrograms = p.number("daily_dose_ug", &problems)
            request.dailyCapMicrograms = p.number("daily_cap_ug", &problems)
            if let steps = p.array("steps", &problems) {
                request.steps = steps.enumerated().compactMap { i, v in
                    guard var st = ObjectReader.open(v, path: "prescription.steps[\(i)]", problems: &problems) else { return nil }
                    let step = PrescriptionRequest.Step(start: st.string("start", &problems), dailyDoseMicrograms: st.number("daily_dose_ug", &problems))
                    st.rejectUnknown(&problems)
                    return step
                }
            }
            // In continuous mode the steps are not used (the SCENARIOS.md example carries both).
            if request.mode == "continuous" { request.steps = nil }
            if var b = p.object("patient_bolus", &problems) {
                request.patientBolus = PrescriptionRequest.PatientBolus(
                    doseMicrograms: b.number("dose_ug", &problems), lockout: b.duration("lockout", &problems),
                    maxPerDay: b.number("max_per_day", &problems), duration: b.duration("over", &problems))
                b.rejectUnknown(&problems)
            }
            p.rejectUnknown(&problems)
        } else if r.value("prescription") == nil {
            problems.append(FieldError("prescription", "is required"))
        }
        var prescription: Prescription?
        if request.mode != nil || request.drugName != nil {
            switch request.validated() {
            case .success(let p): prescription = p
            case .failure(let e): problems += e.problems
            }
        }

        // Reservoir.
        var capacity = Defaults.capacity, fill: Nanolitres?, low = SafetyLimits().lowReservoir
        if var res = r.object("reservoir", &problems) {
            func ml(_ key: String, max: Double, zeroOK: Bool) -> Nanolitres? {
                guard let v = res.number(key, &problems) else { return nil }
                return FixedPointInput.thousandths(v, path: "reservoir.\(key)", max: max, allowZero: zeroOK, into: &problems)
                    .map { Nanolitres($0 * 1000) }
            }
            capacity = ml("capacity_ml", max: PumpLimits.maximumReservoir.millilitres, zeroOK: false) ?? capacity
            fill = ml("fill_ml", max: PumpLimits.maximumReservoir.millilitres, zeroOK: true)
            low = ml("low_alarm_ml", max: PumpLimits.maximumReservoir.millilitres, zeroOK: true) ?? low
            res.rejectUnknown(&problems)
        }
        let filled = fill ?? capacity
        if filled > capacity { problems.append(FieldError("reservoir.fill_ml", "must not exceed reservoir.capacity_ml")) }
        if low > capacity { problems.append(FieldError("reservoir.low_alarm_ml", "must not exceed reservoir.capacity_ml")) }

        // Plant.
        var plant = PlantParameters()
        plant.reservoirFill = filled
        var coughsPerDay = 0.0
        if var pl = r.object("plant", &problems) {
            func ranged(_ key: String, _ range: ClosedRange<Double>) -> Double? {
                guard let v = pl.number(key, &problems) else { return nil }
                guard v.isFinite, range.contains(v) else {
                    problems.append(FieldError("plant.\(key)", "must be within \(range.lowerBound)–\(range.upperBound), the range the controller is validated for"))
                    return nil
                }
                return v
            }
            if let v = ranged("stroke_volume_nl", 50...1000) {
                if v.rounded() == v { plant.strokeVolume = Nanolitres(Int64(v)) }
                else { problems.append(FieldError("plant.stroke_volume_nl", "must be a whole number of nanolitres")) }
            }
            if let v = ranged("compliance_nl_per_mmhg", 50...1000) { plant.complianceNanolitresPerMMHg = v }
            if let v = ranged("resistance_mmhg_s_per_nl", 0.000_001...1.2) { plant.resistanceMMHgSecondsPerNanolitre = v }
            if let v = ranged("baseline_pressure_mmhg", 0...25) { plant.baselineMMHg = v }
            if let v = ranged("pressure_noise_mmhg", 0...1) { plant.pressureNoiseMMHg = v }
            if let v = ranged("battery_percent", 0...100) { plant.batteryPercent = v }
            if let v = ranged("encoder_counts_per_stroke", 1...64) {
                if v.rounded() == v { plant.encoderCountsPerStroke = Int64(v) }
                else { problems.append(FieldError("plant.encoder_counts_per_stroke", "must be a whole number")) }
            }
            if let v = ranged("coughs_per_day", 0...1000) { coughsPerDay = v }
            let tau = plant.timeConstantSeconds
            if !(1...60).contains(tau.rounded(toPlaces: 9)) {
                problems.append(FieldError("plant.resistance_mmhg_s_per_nl", "gives a time constant of \(tau) s (compliance × resistance); valid plants have 1–60 s"))
            }
            pl.rejectUnknown(&problems)
        }

        // Events.
        var events: [ScenarioEvent] = []
        if let list = r.array("events", &problems) {
            for (i, v) in list.enumerated() {
                if let e = parseEvent(v, path: "events[\(i)]", duration: duration, &problems) { events.append(e) }
            }
        }
        r.rejectUnknown(&problems)

        guard problems.isEmpty, let duration, let prescription else {
            throw ValidationErrors(problems.isEmpty ? [FieldError("prescription", "is required")] : problems)
        }
        events = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        return Scenario(name: name, seed: seed, duration: duration, startUTCSeconds: start, zone: zone,
                        prescription: prescription, reservoirCapacity: capacity, lowReservoirAlarm: low,
                        plant: plant, coughsPerDay: coughsPerDay, events: events)
    }

    private static func parseEvent(_ v: JSONValue, path: String, duration: Nanoseconds?, _ problems: inout [FieldError]) -> ScenarioEvent? {
        guard var e = ObjectReader.open(v, path: path, problems: &problems) else { return nil }
        defer { e.rejectUnknown(&problems) }
        let at = e.duration("at", &problems)
        if e.value("at") == nil { problems.append(FieldError("\(path).at", "is required")) }
        if let at, let duration, at > duration { problems.append(FieldError("\(path).at", "is after the end of the scenario")) }
        guard let type = e.string("type", &problems) else {
            if e.value("type") == nil { problems.append(FieldError("\(path).type", "is required")) }
            return nil
        }
        func fraction(_ key: String, default d: Double?) -> Double? {
            guard let f = e.number(key, &problems) else {
                if d == nil { problems.append(FieldError("\(path).\(key)", "is required")) }
                return d
            }
            guard f.isFinite, (0...1).contains(f) else {
                problems.append(FieldError("\(path).\(key)", "must be from 0 to 1"))
                return nil
            }
            return f
        }
        var kind: ScenarioEvent.Kind?
        switch type {
        case "patient_bolus": kind = .patientBolus
        case "clinician_bolus":
            let dose = e.number("dose_ug", &problems)
            let over = e.duration("over", &problems, max: .days(1))
            if dose == nil, e.value("dose_ug") == nil { problems.append(FieldError("\(path).dose_ug", "is required")) }
            if over == nil, e.value("over") == nil { problems.append(FieldError("\(path).over", "is required")) }
            if let over, over.value <= 0 { problems.append(FieldError("\(path).over", "must be longer than 0")) }
            if let dose, let ng = FixedPointInput.thousandths(dose, path: "\(path).dose_ug", max: 1_000_000, into: &problems),
               let over, over.value > 0 {
                kind = .clinicianBolus(dose: Nanograms(ng), over: over)
            }
        case "occlusion": kind = fraction("fraction", default: Defaults.occlusionFraction).map { .occlusion(fraction: $0) }
        case "clear_occlusion": kind = .clearOcclusion
        case "motor_stall": kind = .motorStall
        case "encoder_slip": kind = fraction("fraction", default: nil).map { .encoderSlip(fraction: $0) }
        case "leak": kind = fraction("fraction", default: nil).map { .leak(fraction: $0) }
        case "pressure_sensor_fault":
            if let m = e.string("mode", &problems) {
                if let mode = SensorFaultMode(rawValue: m) { kind = .pressureSensorFault(mode) } else {
                    problems.append(FieldError("\(path).mode", "must be nack, stuck or noise, got '\(m)'"))
                }
            } else if e.value("mode") == nil {
                problems.append(FieldError("\(path).mode", "is required (nack, stuck or noise)"))
            }
        case "clear_sensor_fault": kind = .clearSensorFault
        case "battery":
            if let p = e.number("percent", &problems) {
                if p.isFinite, (0...100).contains(p) { kind = .battery(percent: p) } else {
                    problems.append(FieldError("\(path).percent", "must be from 0 to 100"))
                }
            } else if e.value("percent") == nil {
                problems.append(FieldError("\(path).percent", "is required"))
            }
        case "cough":
            let mmHg = e.number("mmhg", &problems) ?? Defaults.coughMMHg
            let over = e.duration("over", &problems, max: longestCough) ?? Defaults.coughOver
            if !(mmHg.isFinite && (0...150).contains(mmHg)) { problems.append(FieldError("\(path).mmhg", "must be from 0 to 150")) }
            else if over.value <= 0 { problems.append(FieldError("\(path).over", "must be longer than 0")) }
            else { kind = .cough(mmHg: mmHg, over: over) }
        case "acknowledge": kind = .acknowledge
        case "clinician_clear": kind = .clinicianClear
        case "suspend": kind = .suspend
        case "resume": kind = .resume
        case "dose_loop_hang": kind = .doseLoopHang
        case "power_loss":
            problems.append(FieldError("\(path).type", "power_loss is not supported yet: it needs the crash-safe journal (issue 5)"))
        case "refill":
            problems.append(FieldError("\(path).type", "refill is not supported yet: it needs the refill workflow (issue 6)"))
        default:
            problems.append(FieldError("\(path).type", "unknown event type '\(type)'"))
        }
        guard let at, let kind else { return nil }
        return ScenarioEvent(at: at, kind: kind)
    }
}

extension Double {
    func rounded(toPlaces n: Int) -> Double {
        let f = Foundation.pow(10.0, Double(n))
        return (self * f).rounded() / f
    }
}
