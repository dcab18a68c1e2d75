import PumpCore

public enum TherapyState: String, Sendable {
    case delivering
    /// Stopped by a clinician, or by a fault whose alarm has since been cleared; waits for `resume`.
    case suspended
    /// Stopped by a fault whose alarm is still active (safe state).
    case halted
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
    public var policy: FaultPolicy { FaultTable.policy(for: type) }
    public var isActive: Bool { clearedAt == nil }
}

/// Latching alarm list. Policy (priority, clear rule, delivery effect) comes only from `FaultTable`.
public struct AlarmBook: Sendable {
    public private(set) var records: [AlarmRecord] = []
    public init() {}

    public var active: [AlarmRecord] { records.filter(\.isActive) }
    public func isActive(_ t: AlarmType) -> Bool { records.contains { $0.type == t && $0.isActive } }
    public func isCausePresent(_ t: AlarmType) -> Bool { records.contains { $0.type == t && $0.isActive && $0.causePresent } }
    public var stopsDelivery: Bool { active.contains { $0.policy.delivery == .stop } }
    public var requiresMinimumRate: Bool { active.contains { $0.policy.delivery == .minimumRate } }
    public var patientBolusBlocker: AlarmType? { active.first { $0.policy.blocksPatientBolus }?.type }

    /// Raises `type` unless it is already active; returns the new record if one was made.
    @discardableResult
    public mutating func raise(_ type: AlarmType, at now: MonotonicInstant) -> AlarmRecord? {
        if let i = records.lastIndex(where: { $0.type == type && $0.isActive }) {
            records[i].causePresent = true
            return nil
        }
        let r = AlarmRecord(id: records.count + 1, type: type, raisedAt: now, causePresent: true)
        records.append(r)
        return r
    }

    /// The condition behind `type` has gone. An acknowledge-rule alarm that was already acknowledged ends now.
    public mutating func causeGone(_ type: AlarmType, at now: MonotonicInstant) {
        for i in records.indices where records[i].type == type && records[i].isActive && records[i].causePresent {
            records[i].causePresent = false
            if records[i].policy.clear == .acknowledge, records[i].acknowledgedAt != nil { records[i].clearedAt = now }
        }
    }

    /// Silences every active alarm; acknowledge-rule alarms whose cause is gone end.
    public mutating func acknowledgeAll(at now: MonotonicInstant) -> Int {
        var n = 0
        for i in records.indices where records[i].isActive {
            if records[i].acknowledgedAt == nil { records[i].acknowledgedAt = now; n += 1 }
            if records[i].policy.clear == .acknowledge, !records[i].causePresent { records[i].clearedAt = now }
        }
        return n
    }

    /// A clinician ends every active alarm whose cause is gone; returns those ended and those refused.
    public mutating func clinicianClear(at now: MonotonicInstant) -> (cleared: [AlarmType], refused: [AlarmType]) {
        var cleared: [AlarmType] = [], refused: [AlarmType] = []
        for i in records.indices where records[i].isActive {
            if records[i].causePresent {
                refused.append(records[i].type)
            } else {
                records[i].clearedAt = now
                if records[i].acknowledgedAt == nil { records[i].acknowledgedAt = now }
                cleared.append(records[i].type)
            }
        }
        return (cleared, refused)
    }
}
