import Controller
import PumpCore

/// One event as the `event` table holds it: a type, a sentence for people, and the structured
/// fields a restart and the log's filters need.
struct EventRow: Sendable, Equatable {
    var type: String
    var detail: String
    var alarm: String?
    var bolusKind: String?
    var bolusDoseNanograms: Int64?
    var bolusDurationNanoseconds: Int64?
    var accepted: Bool?

    init(type: String, detail: String, alarm: String? = nil, bolusKind: String? = nil, bolusDoseNanograms: Int64? = nil,
         bolusDurationNanoseconds: Int64? = nil, accepted: Bool? = nil) {
        self.type = type
        self.detail = detail
        self.alarm = alarm
        self.bolusKind = bolusKind
        self.bolusDoseNanograms = bolusDoseNanograms
        self.bolusDurationNanoseconds = bolusDurationNanoseconds
        self.accepted = accepted
    }

    init(_ kind: ControllerEvent.Kind) {
        switch kind {
        case .alarmRaised(let a, let p): self.init(type: "alarm_raised", detail: "\(a.rawValue) (\(p.rawValue))", alarm: a.rawValue)
        case .alarmCauseGone(let a): self.init(type: "alarm_cause_gone", detail: a.rawValue, alarm: a.rawValue)
        case .alarmReannounced(let a): self.init(type: "alarm_reannounced", detail: a.rawValue, alarm: a.rawValue)
        case .alarmsAcknowledged(let n): self.init(type: "alarms_acknowledged", detail: "\(n) alarm(s)")
        case .alarmCleared(let a): self.init(type: "alarm_cleared", detail: a.rawValue, alarm: a.rawValue)
        case .halted(let a): self.init(type: "halted", detail: a.rawValue, alarm: a.rawValue)
        case .stateChanged(let s): self.init(type: "state_changed", detail: s.rawValue)
        case .bolus(let b):
            self.init(type: "bolus", detail: "\(b.kind.rawValue) \(b.dose) over \(b.duration.seconds) s: \(b.refusal.map { "refused, \($0)" } ?? "accepted")",
                      bolusKind: b.kind.rawValue, bolusDoseNanograms: b.dose.value, bolusDurationNanoseconds: b.duration.value,
                      accepted: b.accepted)
        case .command(let c, let ok, let reason):
            self.init(type: "command", detail: "\(c.name): \(ok ? "accepted" : "refused")\(reason.map { ", \($0)" } ?? "")", accepted: ok)
        case .motorError(let m): self.init(type: "motor_error", detail: "\(m.kind) errno \(m.errno.map(String.init) ?? "-")")
        case .bolusEnded(let b):
            self.init(type: "bolus_ended", detail: "\(b.complete ? "completed" : "cut short"): \(b.programmed) of \(b.total)")
        case .restarted(let r):
            self.init(type: "restarted", detail: "\(r.uncertainStrokes) uncertain stroke(s) counted as delivered; outage \(r.outage.seconds) s not caught up"
                        + (r.interruptedBolus ? "; a running bolus not resumed" : ""))
        case .journalError(let why): self.init(type: "journal_error", detail: why)
        case .refill(let r):
            self.init(type: "refill", detail: "expected \(r.expected), withdrawn \(r.withdrawn) (discrepancy \(r.discrepancy), tolerance \(r.tolerance): \(r.verdict)); added \(r.added) at \(r.newConcentration)"
                        + (r.bridge.map { "; bridge \($0.volume) at \($0.concentration) over \(Int64($0.duration.seconds)) s" } ?? ""))
        case .programmed(let old, let new): self.init(type: "program", detail: "was: \(old) | now: \(new)")
        case .remoteCommand(let r):
            self.init(type: "remote_command",
                      detail: "\(r.role ?? "unauthenticated") \(r.command ?? "?")\(r.counter.map { " #\($0)" } ?? ""): \(r.accepted ? "accepted" : "refused")"
                        + (r.reason.map { ", \($0)" } ?? ""),
                      accepted: r.accepted)
        case .remoteRefusals(let r): self.init(type: "remote_refusals", detail: r.description, accepted: false)
        case .readError(let r): self.init(type: "read_error", detail: r.description)
        }
    }

    /// Every type the log can hold (for `pumpctl log --type`).
    static let types = ["session", "program", "alarm_raised", "alarm_reannounced", "alarm_cause_gone", "alarms_acknowledged", "alarm_cleared", "halted",
                        "state_changed", "bolus", "bolus_ended", "command", "motor_error", "read_error", "restarted", "journal_error", "refill", "remote_command", "remote_refusals"]
}
