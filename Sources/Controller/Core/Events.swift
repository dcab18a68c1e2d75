import PumpCore

/// What the controller records as it runs: the event log clinicians and bench engineers read
/// (made durable by the journal, `pumpctl log`).
public struct ControllerEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case alarmRaised(AlarmType, AlarmPriority)
        /// An active alarm that was acknowledged sounds again (its re-announcement interval passed).
        case alarmReannounced(AlarmType)
        case alarmCauseGone(AlarmType)
        case alarmsAcknowledged(count: Int)
        case alarmCleared(AlarmType)
        case halted(reason: AlarmType)
        case stateChanged(TherapyState)
        case bolus(BolusRecord)
        case command(OperatorCommand, accepted: Bool, reason: String?)
        case motorError(HALErrorSummary)
        /// A device's read failed (one record per device per minute, with the count of the rest:
        /// `ReadErrorDigest`).
        case readError(ReadErrorRecord)
        /// A bolus ended: completed, or cut short by a halt or a suspension.
        case bolusEnded(BolusEnd)
        /// The controller started again from its journal.
        case restarted(RestartSummary)
        /// The journal could not be written (once per failure streak).
        case journalError(String)
        /// A refill was reconciled against the ledger.
        case refill(RefillRecord)
        /// A new prescription is in force (old and new, for the record).
        case programmed(old: Prescription, new: Prescription)
        /// A request on the command interface, authenticated or not (who, what, the verdict).
        case remoteCommand(RemoteCommandRecord)
        /// Refused requests counted, not recorded one by one, over an interval (a flood: `RefusalDigest`).
        case remoteRefusals(RemoteRefusalSummary)
    }
    public var at: MonotonicInstant
    public var kind: Kind
    public init(at: MonotonicInstant, kind: Kind) {
        self.at = at
        self.kind = kind
    }
}

/// A hardware error as recorded (kind and errno), decoupled from PumpHAL's type.
public struct HALErrorSummary: Hashable, Sendable {
    public var kind: String
    public var errno: Int32?
    public init(kind: String, errno: Int32?) {
        self.kind = kind
        self.errno = errno
    }
}

/// Commands from clinicians and patients (scenario events now; the command socket later).
public enum OperatorCommand: Hashable, Sendable {
    case patientBolus
    case clinicianBolus(dose: Nanograms, duration: Nanoseconds)
    case acknowledge
    case clinicianClear
    case suspend
    case resume
    /// A new prescription (already validated against the drug library). The drug and its
    /// concentration must be those in the reservoir: changing them is a refill.
    case program(Prescription)
    /// The expected reservoir volume at which the low-reservoir alarm rises.
    case setLowReservoir(Nanolitres)
    case refill(RefillRequest)

    public var name: String {
        switch self {
        case .patientBolus: "patient_bolus"
        case .clinicianBolus: "clinician_bolus"
        case .acknowledge: "acknowledge"
        case .clinicianClear: "clinician_clear"
        case .suspend: "suspend"
        case .resume: "resume"
        case .program: "program"
        case .setLowReservoir: "set_low_reservoir"
        case .refill: "refill"
        }
    }
}

/// What a command did.
public struct CommandOutcome: Hashable, Sendable {
    public var accepted: Bool
    public var reason: String?
}

/// What a restart from the journal found.
public struct RestartSummary: Hashable, Sendable {
    /// Strokes intended but never confirmed: counted as delivered, never repeated.
    public var uncertainStrokes: Int64
    /// Time between the last journal record and the restart (not caught up).
    public var outage: Nanoseconds
    /// A bolus was running at the crash; it is not resumed.
    public var interruptedBolus: Bool
}

/// How a bolus ended: the volume it was programmed to deliver up to its end, of its total.
public struct BolusEnd: Hashable, Sendable {
    public var programmed: Nanolitres
    public var total: Nanolitres
    public var complete: Bool { programmed == total }
}

/// Refused requests on the command interface over one interval beyond the first few, which were
/// recorded one by one: how many, and by the field their reason named.
public struct RemoteRefusalSummary: Hashable, Sendable {
    public struct FieldCount: Hashable, Sendable {
        public var field: String
        public var count: Int
        public init(field: String, count: Int) {
            self.field = field
            self.count = count
        }
    }
    /// How long the interval ran (from its first refusal).
    public var interval: Nanoseconds
    public var count: Int
    /// Most frequent first; ties by name.
    public var byField: [FieldCount]
    /// Requests whose signature matched (replays, expired, out of role), or not (junk).
    public var signed: Bool
    public init(interval: Nanoseconds, count: Int, byField: [FieldCount], signed: Bool) {
        self.interval = interval
        self.count = count
        self.byField = byField
        self.signed = signed
    }
    public var description: String {
        "\(count) more \(signed ? "signed" : "unsigned") refused in \(interval.value / 1_000_000_000) s, not recorded one by one: "
            + byField.map { "\($0.field) \($0.count)" }.joined(separator: ", ")
    }
}

/// One request on the command interface as the event log keeps it.
public struct RemoteCommandRecord: Hashable, Sendable {
    /// nil until the signature matched (an unauthenticated request has no trusted role).
    public var role: String?
    public var command: String?
    public var counter: Int64?
    public var accepted: Bool
    /// Why it was refused (the field and the reason), or a note on an acceptance (a counter kept in
    /// memory during a journal fault).
    public var reason: String?
    public init(role: String?, command: String?, counter: Int64?, accepted: Bool, reason: String?) {
        self.role = role
        self.command = command
        self.counter = counter
        self.accepted = accepted
        self.reason = reason
    }
}
