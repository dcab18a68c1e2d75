import Foundation
import PumpCore

/// The prescription as the journal stores it: integer units, as in the core, so nothing is
/// rounded on the way through. Read back, it is validated again against the drug library.
struct PrescriptionCodec: Codable, Equatable {
    struct Step: Codable, Equatable {
        var start: String
        var daily_dose_ng: Int64
    }
    struct PatientBolus: Codable, Equatable {
        var dose_ng: Int64
        var lockout_ns: Int64
        var max_per_day: Int
        var duration_ns: Int64
    }
    var drug: String
    var concentration_ng_per_ml: Int64
    var mode: String
    var daily_dose_ng: Int64?
    var steps: [Step]?
    var patient_bolus: PatientBolus?
    var daily_cap_ng: Int64

    init(_ p: Prescription) {
        drug = p.drug.name
        concentration_ng_per_ml = p.drug.concentration.value
        switch p.basal {
        case .continuous(let d): mode = "continuous"; daily_dose_ng = d.value
        case .flex(let s): mode = "flex"; steps = s.map { Step(start: $0.start.description, daily_dose_ng: $0.dailyDose.value) }
        }
        patient_bolus = p.patientBolus.map {
            PatientBolus(dose_ng: $0.dose.value, lockout_ns: $0.lockout.value, max_per_day: $0.maxPerDay, duration_ns: $0.duration.value)
        }
        daily_cap_ng = p.dailyCap.value
    }

    func text() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Decodes and validates again (the file may have been edited by hand).
    static func prescription(from text: String) throws(JournalError) -> Prescription {
        guard let c = try? JSONDecoder().decode(PrescriptionCodec.self, from: Data(text.utf8)) else {
            throw JournalError("journal: a stored prescription cannot be read")
        }
        func ug(_ ng: Int64) -> Double { Double(ng) / 1000 }
        let request = PrescriptionRequest(
            drugName: c.drug, concentrationMicrogramsPerMillilitre: ug(c.concentration_ng_per_ml), mode: c.mode,
            dailyDoseMicrograms: c.daily_dose_ng.map(ug), steps: c.steps?.map { .init(start: $0.start, dailyDoseMicrograms: ug($0.daily_dose_ng)) },
            patientBolus: c.patient_bolus.map {
                .init(doseMicrograms: ug($0.dose_ng), lockout: Nanoseconds($0.lockout_ns), maxPerDay: Double($0.max_per_day), duration: Nanoseconds($0.duration_ns))
            },
            dailyCapMicrograms: ug(c.daily_cap_ng))
        switch request.validated() {
        case .success(let p): return p
        case .failure(let e): throw JournalError("journal: a stored prescription is invalid: \(e)")
        }
    }
}
