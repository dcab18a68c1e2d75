/// One step of a flex (time-of-day) programme: from `start` (local time) until the next step,
/// the drug runs at `dailyDose` per 24 hours.
public struct FlexStep: Hashable, Sendable {
    public var start: TimeOfDay
    public var dailyDose: NanogramsPerDay
}

/// The basal programme: a steady rate, or time-of-day steps.
public enum BasalProgram: Hashable, Sendable {
    case continuous(NanogramsPerDay)
    /// Sorted by start; the first step starts at 00:00.
    case flex([FlexStep])

    /// The highest programmed daily rate: what any 24 hours of basal can reach.
    public var maximumDailyDose: NanogramsPerDay {
        switch self {
        case .continuous(let d): d
        case .flex(let steps): steps.map(\.dailyDose).max() ?? .zero
        }
    }
    /// The lowest programmed rate: what the minimum-rate fault policy delivers.
    public var minimumDailyDose: NanogramsPerDay {
        switch self {
        case .continuous(let d): d
        case .flex(let steps): steps.map(\.dailyDose).min() ?? .zero
        }
    }
    /// The dose a whole (24-hour) day of this programme delivers.
    public var nominalDailyDose: NanogramsPerDay {
        switch self {
        case .continuous(let d): return d
        case .flex(let steps):
            var total: Int128 = 0
            for (i, s) in steps.enumerated() {
                let end = i + 1 < steps.count ? steps[i + 1].start.minutes : 1440
                total += Int128(s.dailyDose.value) * Int128(end - s.start.minutes)
            }
            return NanogramsPerDay(Int64(total / 1440))
        }
    }
}

/// What a patient may ask for, and how often.
public struct PatientBolusRule: Hashable, Sendable {
    public var dose: Nanograms
    /// Minimum time between the starts of two accepted patient boluses.
    public var lockout: Nanoseconds
    /// Most accepted patient boluses in any rolling 24 hours.
    public var maxPerDay: Int
    /// How long one patient bolus takes to deliver.
    public var duration: Nanoseconds
}

/// A validated prescription. Only `PrescriptionRequest.validated()` makes one, so every
/// `Prescription` in the controller is within the drug library's and the pump's hard limits.
public struct Prescription: Hashable, Sendable {
    public var drug: Drug
    public var basal: BasalProgram
    public var patientBolus: PatientBolusRule?
    /// Most drug (basal plus boluses) in any rolling 24 hours.
    public var dailyCap: NanogramsPerDay

    /// Builds a prescription that is already known to be valid (tests, built-in scenarios).
    /// Anything from outside goes through `PrescriptionRequest`.
    public init(drug: Drug, basal: BasalProgram, patientBolus: PatientBolusRule?, dailyCap: NanogramsPerDay) {
        self.drug = drug
        self.basal = basal
        self.patientBolus = patientBolus
        self.dailyCap = dailyCap
    }

    /// Basal volume per day at the prescription's concentration.
    public func nanolitresPerDay(_ dose: NanogramsPerDay) -> Double {
        drug.concentration.nanolitresPerDay(dose)
    }
}

extension Prescription: CustomStringConvertible {
    /// One line for logs and the side-by-side view.
    public var description: String {
        var parts = ["\(drug.name) \(drug.concentration)"]
        switch basal {
        case .continuous(let d): parts.append("continuous \(d)")
        case .flex(let steps): parts.append("flex " + steps.map { "\($0.start) \($0.dailyDose)" }.joined(separator: ", "))
        }
        if let b = patientBolus {
            parts.append("patient bolus \(b.dose) over \(Int64(b.duration.seconds)) s, lockout \(Int64(b.lockout.seconds)) s, \(b.maxPerDay)/day")
        } else {
            parts.append("no patient bolus")
        }
        parts.append("cap \(dailyCap)")
        return parts.joined(separator: "; ")
    }
}
