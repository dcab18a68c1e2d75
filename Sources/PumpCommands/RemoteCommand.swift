import Controller
import PumpConfig
import PumpCore

/// A command as it arrives on the socket, every field validated (docs/commands.md lists them).
public enum RemoteCommand: Sendable {
    case status
    case patientBolus
    case clinicianBolus(dose: Nanograms, over: Nanoseconds)
    case suspend
    case resume
    case acknowledge
    case clearAlarms
    /// Shows the prescription in force next to `new`; changes nothing.
    case previewProgram(Prescription)
    case program(Prescription)
    case setLowReservoir(Nanolitres)
    /// Reconciles and plans the refill without doing it.
    case previewRefill(RefillRequest)
    case refill(RefillRequest)

    public var name: String {
        switch self {
        case .status: "status"
        case .patientBolus: "patient_bolus"
        case .clinicianBolus: "clinician_bolus"
        case .suspend: "suspend"
        case .resume: "resume"
        case .acknowledge: "acknowledge"
        case .clearAlarms: "clear_alarms"
        case .previewProgram: "preview_program"
        case .program: "program"
        case .setLowReservoir: "set_low_reservoir"
        case .previewRefill: "preview_refill"
        case .refill: "refill"
        }
    }

    /// Patients may ask for status, their bolus and acknowledge alarms; everything else is a
    /// clinician's.
    public func allowed(for role: Role) -> Bool {
        switch self {
        case .status, .acknowledge: true
        case .patientBolus: role == .patient
        default: role == .clinician
        }
    }

    /// True for commands that change nothing.
    public var readOnly: Bool {
        switch self {
        case .status, .previewProgram, .previewRefill: true
        default: false
        }
    }

    /// Runs on a counter kept in memory while the journal cannot record one (`journal_fault`).
    /// A lasting storage fault must not take the clinician's view and control away: `status` and
    /// the previews change nothing; `suspend` stops delivery and `resume` returns it to the
    /// programmed basal, which is what the fault's own policy delivers (FaultTable), and an alarm
    /// that stops delivery still blocks it. The price: a restart while the fault lasts forgets the
    /// counter, so one of these requests could be replayed within its expiry (at most
    /// `Wire.maximumExpiry`), toggling between the programme and a stop, never more drug than
    /// programmed. Everything else (a bolus, a program, a refill, acknowledging or clearing
    /// alarms) waits for the journal: a replay of those could dose or silence.
    public var runsWithoutJournal: Bool {
        switch self {
        case .status, .previewProgram, .previewRefill, .suspend, .resume: true
        default: false
        }
    }

    /// The controller command this becomes (nil: read-only).
    public var operatorCommand: OperatorCommand? {
        switch self {
        case .status, .previewProgram, .previewRefill: nil
        case .patientBolus: .patientBolus
        case .clinicianBolus(let d, let o): .clinicianBolus(dose: d, duration: o)
        case .suspend: .suspend
        case .resume: .resume
        case .acknowledge: .acknowledge
        case .clearAlarms: .clinicianClear
        case .program(let p): .program(p)
        case .setLowReservoir(let l): .setLowReservoir(l)
        case .refill(let r): .refill(r)
        }
    }

    public static let types = ["status", "patient_bolus", "clinician_bolus", "suspend", "resume", "acknowledge", "clear_alarms",
                               "preview_program", "program", "set_low_reservoir", "preview_refill", "refill"]

    /// Decodes `{"type": …, fields…}`; the first problem names its field.
    public static func decode(_ value: JSONValue) -> Result<RemoteCommand, FieldError> {
        var problems: [FieldError] = []
        guard var r = ObjectReader.open(value, path: "body.command", problems: &problems) else {
            return .failure(FieldError("body.command", "must be an object"))
        }
        guard let type = r.string("type", &problems) else {
            return .failure(FieldError("body.command.type", problems.first?.message ?? "is required"))
        }
        var command: RemoteCommand?
        func ml(_ key: String, allowZero: Bool, max: Double, required: Bool) -> Nanolitres? {
            guard let v = r.number(key, &problems) else {
                if required, r.value(key) == nil { problems.append(FieldError(r.child(key), "is required")) }
                return nil
            }
            return FixedPointInput.thousandths(v, path: r.child(key), max: max, allowZero: allowZero, into: &problems).map { Nanolitres($0 * 1000) }
        }
        func confirmed() -> Bool {
            if r.bool("confirmed", &problems) == true { return true }
            if problems.isEmpty { problems.append(FieldError(r.child("confirmed"), "must be true: preview first, then confirm")) }
            return false
        }
        func refill() -> RefillRequest? {
            r.refillFields(withdrawnRequired: true, &problems).map {
                RefillRequest(withdrawn: $0.withdrawn ?? .zero, added: $0.added, concentration: $0.concentration,
                              deadSpace: $0.deadSpace ?? RefillRequest.defaultDeadSpace, bridge: $0.bridge)
            }
        }
        func prescription() -> Prescription? {
            if r.value("reservoir") != nil {
                problems.append(FieldError(r.child("reservoir"), "a program does not change the reservoir; that is a refill"))
                return nil
            }
            if r.value("drug") == nil { problems.append(FieldError(r.child("drug"), "is required")) }
            if r.value("prescription") == nil { problems.append(FieldError(r.child("prescription"), "is required")) }
            guard problems.isEmpty else { return nil }
            return Therapy.read(from: &r, problems: &problems)?.prescription
        }
        switch type {
        case "status": command = .status
        case "patient_bolus": command = .patientBolus
        case "suspend": command = .suspend
        case "resume": command = .resume
        case "acknowledge": command = .acknowledge
        case "clear_alarms": command = .clearAlarms
        case "clinician_bolus": command = r.clinicianBolus(&problems).map { .clinicianBolus(dose: $0.dose, over: $0.over) }
        case "preview_program": command = prescription().map { .previewProgram($0) }
        case "program":
            let ok = confirmed()
            if let p = prescription(), ok { command = .program(p) }
        case "set_low_reservoir":
            command = ml("low_reservoir_ml", allowZero: true, max: PumpLimits.maximumReservoir.millilitres, required: true).map { .setLowReservoir($0) }
        case "preview_refill": command = refill().map { .previewRefill($0) }
        case "refill":
            let ok = confirmed()
            if let q = refill(), ok { command = .refill(q) }
        default:
            return .failure(FieldError("body.command.type", "unknown command '\(String(type.prefix(40)))'"))
        }
        r.rejectUnknown(&problems)
        if let p = problems.first { return .failure(p) }
        guard let command else { return .failure(FieldError("body.command", "is incomplete")) }
        return .success(command)
    }
}
