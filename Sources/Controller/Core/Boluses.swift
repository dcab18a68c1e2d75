import PumpCore

public enum BolusKind: String, Sendable { case patient, clinician }

/// Why a bolus was refused. Every refusal is recorded with one of these.
public enum BolusRefusal: Hashable, Sendable, CustomStringConvertible {
    case notPrescribed
    case notDelivering(TherapyState)
    case blockedByAlarm(AlarmType)
    case bolusInProgress
    case lockout(remaining: Nanoseconds)
    case dailyMaximum(Int)
    case dailyCap(NanogramsPerDay)
    case exceedsBolusLimit(Nanograms)
    case invalid(String)

    public var description: String {
        switch self {
        case .notPrescribed: "no patient bolus in the prescription"
        case .notDelivering(let s): "delivery is \(s.rawValue)"
        case .blockedByAlarm(let a): "blocked while the \(a.rawValue) alarm is active"
        case .bolusInProgress: "another bolus is still running"
        case .lockout(let r): "lockout: next bolus allowed in \(Int64(r.seconds.rounded(.up))) s"
        case .dailyMaximum(let n): "daily maximum of \(n) patient boluses reached"
        case .dailyCap(let c): "would exceed the rolling 24-hour cap of \(c)"
        case .exceedsBolusLimit(let m): "exceeds the drug library's bolus maximum of \(m)"
        case .invalid(let why): why
        }
    }
    /// Short machine-readable reason for reports and logs.
    public var code: String {
        switch self {
        case .notPrescribed: "not_prescribed"
        case .notDelivering: "not_delivering"
        case .blockedByAlarm: "blocked_by_alarm"
        case .bolusInProgress: "bolus_in_progress"
        case .lockout: "lockout"
        case .dailyMaximum: "daily_maximum"
        case .dailyCap: "daily_cap"
        case .exceedsBolusLimit: "exceeds_bolus_limit"
        case .invalid: "invalid"
        }
    }
}

public struct BolusRecord: Hashable, Sendable {
    public var kind: BolusKind
    public var requestedAt: MonotonicInstant
    public var dose: Nanograms
    public var duration: Nanoseconds
    /// nil when accepted.
    public var refusal: BolusRefusal?
    public var accepted: Bool { refusal == nil }
    public init(kind: BolusKind, requestedAt: MonotonicInstant, dose: Nanograms, duration: Nanoseconds, refusal: BolusRefusal?) {
        self.kind = kind
        self.requestedAt = requestedAt
        self.dose = dose
        self.duration = duration
        self.refusal = refusal
    }
}

/// Bolus limits: lockout, daily count and the rolling 24-hour cap, enforced here whatever the
/// caller, and a history of every request.
public struct BolusBook: Sendable {
    public private(set) var history: [BolusRecord] = []
    /// The rolling window of the daily cap and the daily count of patient boluses.
    public static let window = Nanoseconds.days(1)

    /// Accepted patient boluses requested within the rolling window before `now`.
    public func patientBolusesInWindow(at now: MonotonicInstant) -> [BolusRecord] {
        history.filter { $0.accepted && $0.kind == .patient && now - $0.requestedAt < Self.window }
    }

    public init() {}

    /// Checks a request against the prescription and the rolling windows. Does not record it.
    public func check(kind: BolusKind, dose: Nanograms, duration: Nanoseconds, at now: MonotonicInstant,
                      prescription: Prescription) -> BolusRefusal? {
        if dose > prescription.drug.limits.maxBolusDose { return .exceedsBolusLimit(prescription.drug.limits.maxBolusDose) }
        let recent = history.filter { $0.accepted && now - $0.requestedAt < Self.window }
        if kind == .patient {
            guard let rule = prescription.patientBolus else { return .notPrescribed }
            let patient = recent.filter { $0.kind == .patient }
            if let last = patient.last, now - last.requestedAt < rule.lockout {
                return .lockout(remaining: rule.lockout - (now - last.requestedAt))
            }
            if patient.count >= rule.maxPerDay { return .dailyMaximum(rule.maxPerDay) }
        }
        // Basal can reach its highest daily rate in any window; the boluses must fit on top.
        let bolusTotal = recent.reduce(Int64(0)) { $0 + $1.dose.value } + dose.value
        if bolusTotal + prescription.basal.maximumDailyDose.value > prescription.dailyCap.value {
            return .dailyCap(prescription.dailyCap)
        }
        return nil
    }

    public mutating func record(_ r: BolusRecord) { history.append(r) }

    /// Accepted boluses from before a restart, so lockout and daily limits carry over.
    public mutating func restore(_ records: [BolusRecord]) { history = records + history }

    /// When the next patient bolus will be allowed by lockout and daily count (nil: now).
    public func nextPatientBolusAllowed(after now: MonotonicInstant, prescription: Prescription) -> MonotonicInstant? {
        guard let rule = prescription.patientBolus else { return nil }
        let patient = patientBolusesInWindow(at: now)
        var t = now
        if let last = patient.last { t = max(t, last.requestedAt + rule.lockout) }
        if patient.count >= rule.maxPerDay { t = max(t, patient[patient.count - rule.maxPerDay].requestedAt + Self.window) }
        return t > now ? t : nil
    }
}
