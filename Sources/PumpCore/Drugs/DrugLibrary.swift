/// A drug the pump may hold, with the hard limits no prescription can exceed.
public struct DrugLimits: Hashable, Sendable {
    public var name: String
    /// Highest concentration that may be put in the reservoir.
    public var maxConcentration: NanogramsPerMillilitre
    /// Highest daily dose (basal plus every bolus, over any 24 hours).
    public var maxDailyDose: NanogramsPerDay
    /// Highest single bolus (clinician or patient).
    public var maxBolusDose: Nanograms
}

/// A drug at a concentration: what is in the reservoir.
public struct Drug: Hashable, Sendable {
    public var limits: DrugLimits
    public var concentration: NanogramsPerMillilitre
    public var name: String { limits.name }
    public init(limits: DrugLimits, concentration: NanogramsPerMillilitre) {
        self.limits = limits
        self.concentration = concentration
    }
}

/// The built-in drug library. Every value names its source; where no published figure exists the
/// comment says it is this project's choice.
public enum DrugLibrary {
    /// Morphine. PACC 2017 (Deer et al., Neuromodulation 2017;20:96-132, table of maximum
    /// concentrations and doses): 20 mg/mL, 15 mg/day. Bolus: project choice, 25 % of the daily maximum.
    public static let morphine = DrugLimits(
        name: "morphine", maxConcentration: .microgramsPerMillilitre(20_000),
        maxDailyDose: .microgramsPerDay(15_000), maxBolusDose: .micrograms(3_750))
    /// Hydromorphone. PACC 2017 (same table): 15 mg/mL, 10 mg/day. Bolus: project choice, 25 %.
    public static let hydromorphone = DrugLimits(
        name: "hydromorphone", maxConcentration: .microgramsPerMillilitre(15_000),
        maxDailyDose: .microgramsPerDay(10_000), maxBolusDose: .micrograms(2_500))
    /// Baclofen. Lioresal Intrathecal / Gablofen US labels: strengths up to 2000 µg/mL; maintenance
    /// doses reported from 12 to 2003 µg/day, so 2000 µg/day. Bolus: the labels' screening bolus
    /// tops out at 100 µg.
    public static let baclofen = DrugLimits(
        name: "baclofen", maxConcentration: .microgramsPerMillilitre(2_000),
        maxDailyDose: .microgramsPerDay(2_000), maxBolusDose: .micrograms(100))
    /// Ziconotide. Prialt US label: 100 µg/mL (undiluted), at most 19.2 µg/day (0.8 µg/h).
    /// Bolus: the label gives none; project choice, 25 % of the daily maximum.
    public static let ziconotide = DrugLimits(
        name: "ziconotide", maxConcentration: .microgramsPerMillilitre(100),
        maxDailyDose: .microgramsPerDay(19) + NanogramsPerDay(200), maxBolusDose: Nanograms(4_800))
    /// Clonidine. PACC 2017: 1000 µg/mL, 600 µg/day. Bolus: project choice, 25 %.
    public static let clonidine = DrugLimits(
        name: "clonidine", maxConcentration: .microgramsPerMillilitre(1_000),
        maxDailyDose: .microgramsPerDay(600), maxBolusDose: .micrograms(150))

    public static let all: [DrugLimits] = [morphine, hydromorphone, baclofen, ziconotide, clonidine]

    public static func named(_ name: String) -> DrugLimits? {
        all.first { $0.name == name.lowercased() }
    }
}

/// Limits of the pump mechanism itself, whatever the drug (SynchroMed II class: 0.048–24 mL/day,
/// the range the fault-swarm issue draws from).
public enum PumpLimits {
    /// Lowest programmable basal rate, in nanolitres per day.
    public static let minimumRateNanolitresPerDay: Int64 = 48_000
    /// Highest programmable basal rate, in nanolitres per day.
    public static let maximumRateNanolitresPerDay: Int64 = 24_000_000
    /// Highest total rate (basal plus bolus) the motor may run at: 2 mL/h. A bolus that would need
    /// more is refused at validation.
    public static let maximumTotalRateNanolitresPerDay: Int64 = 48_000_000

    /// The one test of the 2 mL/h ceiling: `volume` pushed evenly over `duration`, on top of a
    /// basal of `basalNanolitresPerDay`, stays within the motor's maximum total rate.
    public static func withinMaximumTotalRate(volume: Nanolitres, over duration: Nanoseconds, basalNanolitresPerDay: Int64 = 0) -> Bool {
        guard duration.value > 0 else { return false }
        let perDay = Int128(volume.value) * Int128(Nanoseconds.perDay) / Int128(duration.value) + Int128(max(0, basalNanolitresPerDay))
        return perDay <= Int128(maximumTotalRateNanolitresPerDay)
    }
    /// Largest reservoir a scenario may describe: implants hold 20–40 mL, bench rigs may use a
    /// syringe or bag, and a year at 0.5 mL/day needs 183 mL.
    public static let maximumReservoir = Nanolitres.millilitres(250)
    /// Largest pump-plus-catheter dead space a refill may declare (a long catheter holds ~0.5 mL).
    public static let maximumDeadSpace = Nanolitres.millilitres(2)
}
