import PumpCore

public enum TherapyState: String, Sendable {
    case delivering
    /// Stopped by a clinician, or by a fault whose alarm has since been cleared; waits for `resume`.
    case suspended
    /// Stopped by a fault whose alarm is still active (safe state).
    case halted
}

/// When the motor must be off (`ControllerCore.motorStop`).
public enum MotorStop: Sendable {
    /// Delivery runs: the motor may be enabled.
    case none
    /// Off once the stroke under way (if any) has finished.
    case afterStroke
    /// Off now, mid-stroke if need be.
    case now
}

/// One alarm from the moment it is raised until it ends.
public struct AlarmRecord: Hashable, Sendable {
    public var id: Int
    public var type: AlarmType
    public var raisedAt: MonotonicInstant
    public var acknowledgedAt: MonotonicInstant?
    public var clearedAt: MonotonicInstant?
    /// The condition behind the alarm is still present.
    public var causePresent: Bool
    /// When the alarm sounded again after it had been acknowledged: its cause came back after it
    /// had gone (a second refill discrepancy, a kink again), so it is news to whoever silenced it.
    public var reannouncedAt: [MonotonicInstant] = []
    public var policy: FaultPolicy { FaultTable.policy(for: type) }
    public var isActive: Bool { clearedAt == nil }
}

/// Latching alarm list. Policy (priority, clear rule, delivery effect) comes only from `FaultTable`.
public struct AlarmBook: Sendable {
    public private(set) var records: [AlarmRecord] = []
    /// Index into `records` of the active alarm of each type (at most one): the watchdog asks
    /// several times a tick, so lookups must not scan the history.
    /// Indices into `records` of the active alarms, in raise order: usually empty or one or two,
    /// so the watchdog's several lookups a tick never scan the history.
    private var activeIndices: [Int] = []
    public init() {}

    private func index(of t: AlarmType) -> Int? { activeIndices.first { records[$0].type == t } }
    public var active: [AlarmRecord] { activeIndices.map { records[$0] } }
    public func isActive(_ t: AlarmType) -> Bool { index(of: t) != nil }
    public func isCausePresent(_ t: AlarmType) -> Bool { index(of: t).map { records[$0].causePresent } ?? false }
    public var stopsDelivery: Bool { activeIndices.contains { records[$0].policy.delivery == .stop } }
    public var requiresMinimumRate: Bool { activeIndices.contains { records[$0].policy.delivery == .minimumRate } }
    public var patientBolusBlocker: AlarmType? { active.first { $0.policy.blocksPatientBolus }?.type }
    public var clinicianBolusBlocker: AlarmType? { active.first { $0.policy.blocksClinicianBolus }?.type }

    /// Raises `type` unless it is already active; returns the record if it sounds anew: a new
    /// one, or an active one that was acknowledged and whose cause had gone and is back.
    @discardableResult
    public mutating func raise(_ type: AlarmType, at now: MonotonicInstant) -> AlarmRecord? {
        if let i = index(of: type) {
            let recurred = !records[i].causePresent && records[i].acknowledgedAt != nil
            records[i].causePresent = true
            guard recurred else { return nil }
            reannounce(i, at: now)
            return records[i]
        }
        let r = AlarmRecord(id: records.count + 1, type: type, raisedAt: now, causePresent: true)
        activeIndices.append(records.count)
        records.append(r)
        return r
    }

    /// Active alarms acknowledged at least `interval(priority)` ago sound again (the condition
    /// lasts; silencing is for a while). Returns their types.
    public mutating func reannounceSilenced(at now: MonotonicInstant, after interval: (AlarmPriority) -> Nanoseconds?) -> [AlarmType] {
        var again: [AlarmType] = []
        for i in activeIndices {
            guard let ack = records[i].acknowledgedAt, let d = interval(records[i].policy.priority), now - ack >= d else { continue }
            reannounce(i, at: now)
            again.append(records[i].type)
        }
        return again
    }

    /// `type` sounds again (the journal's replay of `reannounceSilenced`).
    public mutating func reannounce(_ type: AlarmType, at now: MonotonicInstant) {
        if let i = index(of: type) { reannounce(i, at: now) }
    }

    private mutating func reannounce(_ i: Int, at now: MonotonicInstant) {
        records[i].acknowledgedAt = nil
        records[i].reannouncedAt.append(now)
    }

    /// An alarm that was active when the controller stopped, active again from `now` (its cause
    /// is judged afresh by the monitors).
    /// `acknowledgedAt`: when it was acknowledged, in this run's clock (its re-announcement counts
    /// from then); `acknowledged` without a time: at `now`.
    public mutating func restore(_ type: AlarmType, acknowledged: Bool, acknowledgedAt: MonotonicInstant? = nil, causePresent: Bool,
                                 at now: MonotonicInstant) {
        guard let r = raise(type, at: now), let i = index(of: r.type) else { return }
        if acknowledged { records[i].acknowledgedAt = min(acknowledgedAt ?? now, now) }
        records[i].causePresent = causePresent
    }

    /// The condition behind `type` has gone. An acknowledge-rule alarm that was already acknowledged ends now.
    public mutating func causeGone(_ type: AlarmType, at now: MonotonicInstant) {
        guard let i = index(of: type), records[i].causePresent else { return }
        records[i].causePresent = false
        if records[i].policy.clear == .acknowledge, records[i].acknowledgedAt != nil { end(i, at: now) }
    }

    private mutating func end(_ i: Int, at now: MonotonicInstant) {
        records[i].clearedAt = now
        activeIndices.removeAll { $0 == i }
    }

    /// Silences every active alarm; acknowledge-rule alarms whose cause is gone end.
    public mutating func acknowledgeAll(at now: MonotonicInstant) -> Int {
        var n = 0
        for i in activeIndices {
            if records[i].acknowledgedAt == nil { records[i].acknowledgedAt = now; n += 1 }
            if records[i].policy.clear == .acknowledge, !records[i].causePresent { end(i, at: now) }
        }
        return n
    }

    /// A clinician ends every active alarm whose cause is gone; returns those ended and those refused.
    public mutating func clinicianClear(at now: MonotonicInstant) -> (cleared: [AlarmType], refused: [AlarmType]) {
        var cleared: [AlarmType] = [], refused: [AlarmType] = []
        for i in activeIndices {
            if records[i].causePresent {
                refused.append(records[i].type)
            } else {
                if records[i].acknowledgedAt == nil { records[i].acknowledgedAt = now }
                end(i, at: now)
                cleared.append(records[i].type)
            }
        }
        return (cleared, refused)
    }
}
