import Foundation
import PumpCore

/// The therapy sections shared by scenario files and pumpd's prescription file: `drug`,
/// `prescription` and `reservoir` (docs/scenarios.md v1 keys).
public struct Therapy: Sendable {
    public var prescription: Prescription
    public var reservoirCapacity: Nanolitres
    public var reservoirFill: Nanolitres
    public var lowReservoirAlarm: Nanolitres

    public static let defaultCapacity = Nanolitres.millilitres(20)

    /// Reads the three sections from `r`, appending every problem; nil if any.
    public static func read(from r: inout ObjectReader, problems: inout [FieldError]) -> Therapy? {
        let before = problems.count
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
            // In continuous mode the steps are not used (the docs/scenarios.md example carries both).
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
        var capacity = defaultCapacity, fill: Nanolitres?, low = SafetyLimits().lowReservoir
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


        guard problems.count == before, let prescription else { return nil }
        return Therapy(prescription: prescription, reservoirCapacity: capacity, reservoirFill: filled, lowReservoirAlarm: low)
    }

    /// A prescription file for pumpd: `{"name": …, "drug": …, "prescription": …, "reservoir": …}`.
    public static func parse(_ data: Data) throws(ValidationErrors) -> Therapy {
        try ObjectReader.document(data) { r, problems in
            _ = r.string("name", &problems)
            let therapy = read(from: &r, problems: &problems)
            if therapy == nil, problems.isEmpty { problems.append(FieldError("prescription", "is required")) }
            return therapy
        }
    }
}
