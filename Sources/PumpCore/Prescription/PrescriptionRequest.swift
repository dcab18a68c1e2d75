/// A prescription as entered (scenario file, command), before any check. Numbers are as typed:
/// micrograms, µg/mL; durations already parsed.
public struct PrescriptionRequest: Sendable {
    public struct Step: Sendable {
        public var start: String?
        public var dailyDoseMicrograms: Double?
        public init(start: String?, dailyDoseMicrograms: Double?) {
            self.start = start
            self.dailyDoseMicrograms = dailyDoseMicrograms
        }
    }
    public struct PatientBolus: Sendable {
        public var doseMicrograms: Double?
        public var lockout: Nanoseconds?
        public var maxPerDay: Double?
        public var duration: Nanoseconds?
        public init(doseMicrograms: Double?, lockout: Nanoseconds?, maxPerDay: Double?, duration: Nanoseconds? = nil) {
            self.doseMicrograms = doseMicrograms
            self.lockout = lockout
            self.maxPerDay = maxPerDay
            self.duration = duration
        }
    }

    public var drugName: String?
    public var concentrationMicrogramsPerMillilitre: Double?
    public var mode: String?
    public var dailyDoseMicrograms: Double?
    public var steps: [Step]?
    public var patientBolus: PatientBolus?
    public var dailyCapMicrograms: Double?

    public init(
        drugName: String?, concentrationMicrogramsPerMillilitre: Double?, mode: String?,
        dailyDoseMicrograms: Double? = nil, steps: [Step]? = nil, patientBolus: PatientBolus? = nil,
        dailyCapMicrograms: Double? = nil
    ) {
        self.drugName = drugName
        self.concentrationMicrogramsPerMillilitre = concentrationMicrogramsPerMillilitre
        self.mode = mode
        self.dailyDoseMicrograms = dailyDoseMicrograms
        self.steps = steps
        self.patientBolus = patientBolus
        self.dailyCapMicrograms = dailyCapMicrograms
    }

    /// The request that gives back `p` (to change one field of a valid prescription and check the
    /// result again, e.g. a new concentration at a refill).
    public init(_ p: Prescription) {
        func ug(_ v: Int64) -> Double { Double(v) / 1000 }
        drugName = p.drug.name
        concentrationMicrogramsPerMillilitre = ug(p.drug.concentration.value)
        switch p.basal {
        case .continuous(let d):
            mode = "continuous"
            dailyDoseMicrograms = ug(d.value)
        case .flex(let steps):
            mode = "flex"
            self.steps = steps.map { Step(start: $0.start.description, dailyDoseMicrograms: ug($0.dailyDose.value)) }
        }
        patientBolus = p.patientBolus.map {
            PatientBolus(doseMicrograms: ug($0.dose.value), lockout: $0.lockout, maxPerDay: Double($0.maxPerDay), duration: $0.duration)
        }
        dailyCapMicrograms = ug(p.dailyCap.value)
    }

    /// Default time to deliver one patient bolus when the prescription does not say.
    public static let defaultPatientBolusDuration = Nanoseconds.minutes(10)
    public static let maximumSteps = 48
    public static let maximumPatientBolusesPerDay = 24
    public static let minimumLockout = Nanoseconds.minutes(10)

    /// Checks everything and returns the prescription, or every problem with its field path.
    /// `drugPath` and `path` name where the drug and the prescription sit in the caller's input.
    public func validated(drugPath: String = "drug", path: String = "prescription") -> Result<Prescription, ValidationErrors> {
        var problems: [FieldError] = []
        // Drug and concentration.
        var limits: DrugLimits?
        if let name = drugName {
            limits = DrugLibrary.named(name)
            if limits == nil {
                problems.append(FieldError("\(drugPath).name", "unknown drug '\(name)' (library: \(DrugLibrary.all.map(\.name).joined(separator: ", ")))"))
            }
        } else {
            problems.append(FieldError("\(drugPath).name", "is required"))
        }
        var concentration: NanogramsPerMillilitre?
        if let c = concentrationMicrogramsPerMillilitre {
            let max = limits.map { Double($0.maxConcentration.value) / 1000 } ?? 1e9
            if let v = FixedPointInput.thousandths(c, path: "\(drugPath).concentration_ug_per_ml", max: max, into: &problems) {
                concentration = NanogramsPerMillilitre(v)
            }
        } else {
            problems.append(FieldError("\(drugPath).concentration_ug_per_ml", "is required"))
        }

        // A daily dose is checked against the drug's maximum and against the pump's rate range.
        func dose(_ ug: Double?, _ p: String) -> NanogramsPerDay? {
            guard let ug else {
                problems.append(FieldError(p, "is required"))
                return nil
            }
            let max = limits.map { Double($0.maxDailyDose.value) / 1000 } ?? 1e9
            guard let v = FixedPointInput.thousandths(ug, path: p, max: max, into: &problems) else { return nil }
            if let concentration {
                let nlPerDay = concentration.wholeNanolitresPerDay(NanogramsPerDay(v))
                if nlPerDay < Int128(PumpLimits.minimumRateNanolitresPerDay) {
                    problems.append(FieldError(p, "is \(Decimal3.format(Int64(nlPerDay))) µL/day at this concentration, below the pump's minimum of 48 µL/day"))
                    return nil
                }
                if nlPerDay > Int128(PumpLimits.maximumRateNanolitresPerDay) {
                    problems.append(FieldError(p, "needs more than the pump's maximum of 24 mL/day at this concentration"))
                    return nil
                }
            }
            return NanogramsPerDay(v)
        }

        var basal: BasalProgram?
        switch mode {
        case "continuous":
            if let d = dose(dailyDoseMicrograms, "\(path).daily_dose_ug") { basal = .continuous(d) }
        case "flex":
            if let steps, !steps.isEmpty {
                if steps.count > Self.maximumSteps {
                    problems.append(FieldError("\(path).steps", "has \(steps.count) steps; at most \(Self.maximumSteps)"))
                }
                var parsed: [FlexStep] = []
                var ok = true
                for (i, s) in steps.enumerated() {
                    let p = "\(path).steps[\(i)]"
                    var start: TimeOfDay?
                    if let text = s.start {
                        start = TimeOfDay(parsing: text)
                        if start == nil { problems.append(FieldError("\(p).start", "must be HH:MM (24-hour), got '\(text)'")) }
                    } else {
                        problems.append(FieldError("\(p).start", "is required"))
                    }
                    if i == 0, let start, start.minutes != 0 {
                        problems.append(FieldError("\(p).start", "the first step must start at 00:00"))
                        ok = false
                    }
                    if let start, let last = parsed.last, start <= last.start {
                        problems.append(FieldError("\(p).start", "must be later than the step before (\(last.start))"))
                        ok = false
                    }
                    let d = dose(s.dailyDoseMicrograms, "\(p).daily_dose_ug")
                    if let start, let d { parsed.append(FlexStep(start: start, dailyDose: d)) } else { ok = false }
                }
                if ok { basal = .flex(parsed) }
            } else {
                problems.append(FieldError("\(path).steps", "flex mode needs at least one step"))
            }
        case nil:
            problems.append(FieldError("\(path).mode", "is required (continuous or flex)"))
        case let other?:
            problems.append(FieldError("\(path).mode", "must be continuous or flex, got '\(other)'"))
        }

        var rule: PatientBolusRule?
        if let pb = patientBolus {
            let p = "\(path).patient_bolus"
            var bolusDose: Nanograms?
            if let ug = pb.doseMicrograms {
                let max = limits.map { Double($0.maxBolusDose.value) / 1000 } ?? 1e9
                if let v = FixedPointInput.thousandths(ug, path: "\(p).dose_ug", max: max, into: &problems) { bolusDose = Nanograms(v) }
            } else {
                problems.append(FieldError("\(p).dose_ug", "is required"))
            }
            let lockout = pb.lockout
            if lockout == nil { problems.append(FieldError("\(p).lockout", "is required")) }
            if let lockout, lockout < Self.minimumLockout || lockout > .days(1) {
                problems.append(FieldError("\(p).lockout", "must be between 10m and 1d"))
            }
            var maxPerDay: Int?
            if let m = pb.maxPerDay {
                if !m.isFinite || m.rounded() != m || m < 1 || m > Double(Self.maximumPatientBolusesPerDay) {
                    problems.append(FieldError("\(p).max_per_day", "must be a whole number from 1 to \(Self.maximumPatientBolusesPerDay)"))
                } else {
                    maxPerDay = Int(m)
                }
            } else {
                problems.append(FieldError("\(p).max_per_day", "is required"))
            }
            let duration = pb.duration ?? Self.defaultPatientBolusDuration
            if duration < .seconds(1) || duration > .hours(1) {
                problems.append(FieldError("\(p).over", "must be between 1s and 1h"))
            } else if let lockout, duration > lockout {
                problems.append(FieldError("\(p).over", "must not be longer than the lockout"))
            }
            // (A zero duration was refused above; the fuzzer found it dividing here.)
            if let bolusDose, let concentration, duration.value > 0,
               !PumpLimits.withinMaximumTotalRate(volume: concentration.volume(of: bolusDose), over: duration) {
                problems.append(FieldError("\(p).dose_ug", "cannot be delivered within \(duration.seconds) s at the motor's maximum of 2 mL/h"))
            }
            if let bolusDose, let lockout, let maxPerDay {
                rule = PatientBolusRule(dose: bolusDose, lockout: lockout, maxPerDay: maxPerDay, duration: duration)
            }
        }

        var cap: NanogramsPerDay?
        if let c = dailyCapMicrograms {
            let max = limits.map { Double($0.maxDailyDose.value) / 1000 } ?? 1e9
            if let v = FixedPointInput.thousandths(c, path: "\(path).daily_cap_ug", max: max, into: &problems) { cap = NanogramsPerDay(v) }
        } else {
            cap = limits?.maxDailyDose
        }
        if let cap, let basal, basal.maximumDailyDose > cap {
            problems.append(FieldError("\(path).daily_cap_ug", "is below the programme's highest daily rate (\(basal.maximumDailyDose))"))
        }

        guard problems.isEmpty, let limits, let concentration, let basal, let cap else {
            return .failure(ValidationErrors(problems))
        }
        return .success(Prescription(
            drug: Drug(limits: limits, concentration: concentration), basal: basal, patientBolus: rule, dailyCap: cap))
    }
}
