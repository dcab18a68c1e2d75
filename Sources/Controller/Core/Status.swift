import PumpCore

/// The gauge's state of charge over time, thinned to one sample an hour over the last 60 days:
/// enough for a least-squares slope, and bounded in memory.
public struct BatteryTrend: Sendable {
    public private(set) var samples: [(at: MonotonicInstant, stateOfCharge: PerMille)] = []
    public static let spacing = Nanoseconds.hours(1)
    public static let window = Nanoseconds.days(60)
    /// Least history before a date is given (a day's drain of a real cell is well above the
    /// gauge's 0.1 % resolution only over days).
    public static let minimumSpan = Nanoseconds.days(1)

    public init() {}

    public mutating func observe(_ soc: PerMille, at now: MonotonicInstant) {
        if let last = samples.last, now - last.at < Self.spacing { return }
        samples.append((now, soc))
        if let first = samples.first, now - first.at > Self.window { samples.removeFirst() }
    }

    /// Change of state of charge per day (least squares), or nil without enough history.
    public var slopePerMillePerDay: Double? {
        guard samples.count >= 3, let first = samples.first, let last = samples.last,
              last.at - first.at >= Self.minimumSpan else { return nil }
        let n = Double(samples.count)
        let xs = samples.map { Double(($0.at - first.at).value) / Double(Nanoseconds.perDay) }
        let ys = samples.map { Double($0.stateOfCharge.value) }
        let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (x, y) in zip(xs, ys) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx) }
        return sxx > 0 ? sxy / sxx : nil
    }

    /// When the charge reaches `threshold` at the current slope (nil: no history or not falling).
    public func reaching(_ threshold: PerMille, from now: MonotonicInstant, current: PerMille) -> MonotonicInstant? {
        guard let slope = slopePerMillePerDay, slope < 0 else { return nil }
        if current <= threshold { return now }
        let days = Double(current.value - threshold.value) / -slope
        guard days < 36_500 else { return nil }
        return now + Nanoseconds(Int64(days * Double(Nanoseconds.perDay)))
    }
}

/// Reservoir forecast: how much a day takes and when the reservoir reaches the low-reservoir
/// level and empties, in the expected case (the programme plus the patient's boluses of the last
/// 24 hours, repeated) and in the worst case (the highest basal rate plus every patient bolus the
/// lockout and daily maximum allow, within the rolling 24-hour cap).
public struct ReservoirForecast: Hashable, Sendable {
    public var expectedPerDay: Nanolitres
    public var worstPerDay: Nanolitres
    /// Times from now (nil: never at that rate).
    public var expectedToLow: Nanoseconds?
    public var expectedToEmpty: Nanoseconds?
    public var worstToLow: Nanoseconds?
    public var worstToEmpty: Nanoseconds?

    static func time(_ volume: Nanolitres, perDay: Nanolitres) -> Nanoseconds? {
        guard perDay.value > 0 else { return nil }
        let ns = Int128(max(volume.value, 0)) * Int128(Nanoseconds.perDay) / Int128(perDay.value)
        return ns > Int128(Nanoseconds.days(36_500).value) ? nil : Nanoseconds(Int64(ns))
    }
}

/// What `pumpctl status` shows: the therapy, the reservoir with its forecast, the battery with
/// its elective-replacement forecast, the alarms, and the patient bolus availability.
public struct ControllerStatus: Sendable {
    public var state: TherapyState
    public var prescription: Prescription
    public var basalRate: NanogramsPerDay
    public var concentrationInForce: NanogramsPerMillilitre
    /// How long a running bridge would still take at the rate in force (an estimate: it ends by volume).
    public var bridgeRemaining: Nanoseconds?
    /// The old drug a running bridge still has to push.
    public var bridgeRemainingVolume: Nanolitres?
    public var reservoirExpected: Nanolitres
    /// False after a journal loss until a refill records a volume (`reservoirExpected` is then a guess).
    public var reservoirKnown: Bool
    public var reservoirCapacity: Nanolitres
    public var lowReservoirLevel: Nanolitres
    public var forecast: ReservoirForecast
    public var batteryStateOfCharge: PerMille?
    /// Time until the elective-replacement threshold at the gauge's trend (nil: unknown).
    public var batteryToElectiveReplacement: Nanoseconds?
    public var activeAlarms: [AlarmRecord]
    public var commandedStrokes: Int64
    public var programmed: Nanolitres
    /// Time until the next patient bolus is allowed (zero: now; nil: none prescribed).
    public var nextPatientBolusIn: Nanoseconds?
    /// Why a patient bolus would be refused now besides timing (an alarm, the state).
    public var patientBolusBlocker: String?
    public var refills: [RefillRecord]
}

extension ControllerCore {
    public func forecast(at now: MonotonicInstant) -> ReservoirForecast {
        let p = prescription
        let c = scheduler.concentrationInForce
        let day = BolusBook.window
        let recentPatient = boluses.patientBolusesInWindow(at: now)
        let expectedDose = p.basal.nominalDailyDose.value + recentPatient.reduce(Int64(0)) { $0 + $1.dose.value }
        var worstDose = p.basal.maximumDailyDose.value
        if let rule = p.patientBolus {
            let byLockout = Int((day.value + rule.lockout.value - 1) / rule.lockout.value)
            worstDose += Int64(min(rule.maxPerDay, byLockout)) * rule.dose.value
        }
        worstDose = min(worstDose, max(p.dailyCap.value, p.basal.maximumDailyDose.value))
        let expected = c.volume(of: Nanograms(expectedDose)), worst = c.volume(of: Nanograms(worstDose))
        let v = ledger.expected
        let aboveLow = v - lowReservoirLevel
        return ReservoirForecast(
            expectedPerDay: expected, worstPerDay: worst,
            expectedToLow: ReservoirForecast.time(aboveLow, perDay: expected), expectedToEmpty: ReservoirForecast.time(v, perDay: expected),
            worstToLow: ReservoirForecast.time(aboveLow, perDay: worst), worstToEmpty: ReservoirForecast.time(v, perDay: worst))
    }

    public func status(at now: MonotonicInstant) -> ControllerStatus {
        let soc = battery.last?.stateOfCharge
        var nextBolus: Nanoseconds?
        if prescription.patientBolus != nil {
            nextBolus = boluses.nextPatientBolusAllowed(after: now, prescription: prescription).map { $0 - now } ?? .zero
        }
        var blocker: String?
        if state != .delivering { blocker = "delivery is \(state.rawValue)" }
        else if let a = alarms.patientBolusBlocker { blocker = "the \(a.rawValue) alarm is active" }
        else if scheduler.bolusInProgress { blocker = "a bolus is running" }
        return ControllerStatus(
            state: state, prescription: prescription, basalRate: scheduler.basalRate, concentrationInForce: scheduler.concentrationInForce,
            bridgeRemaining: scheduler.bridgeRemaining(at: now), bridgeRemainingVolume: scheduler.bridgeRemainingVolume, reservoirExpected: ledger.expected, reservoirKnown: reservoirKnown, reservoirCapacity: ledger.capacity,
            lowReservoirLevel: lowReservoirLevel, forecast: forecast(at: now), batteryStateOfCharge: soc,
            batteryToElectiveReplacement: soc.flatMap { batteryTrend.reaching(limits.batteryElectiveReplacement, from: now, current: $0) }.map { $0 - now },
            activeAlarms: alarms.active, commandedStrokes: scheduler.commandedStrokes, programmed: scheduler.programmedVolume,
            nextPatientBolusIn: nextBolus, patientBolusBlocker: blocker, refills: refills)
    }
}
