/// Alarm priority after IEC 60601-1-8: high needs immediate response, medium prompt, low awareness.
public enum AlarmPriority: String, Sendable, Comparable, CaseIterable {
    case low, medium, high
    public static func < (a: Self, b: Self) -> Bool {
        let order: [Self] = [.low, .medium, .high]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// What delivery does while a fault's alarm is active.
public enum DeliveryPolicy: String, Sendable {
    /// Safe state: motor disabled, no strokes until a clinician clears the alarm and resumes.
    case stop
    /// Deliver the programme's lowest basal rate; no patient boluses. For faults where stopping
    /// would be worse (baclofen withdrawal) but the programme cannot be followed as written.
    case minimumRate = "minimum_rate"
    /// Deliver as programmed and keep the alarm up.
    case continueDelivery = "continue"
}

/// Who ends an alarm once its cause is gone.
public enum ClearRule: String, Sendable {
    /// Latched until acknowledged; ends when acknowledged and its cause is gone.
    case acknowledge
    /// Acknowledging only silences it; a clinician must clear it once the cause is gone.
    case clinician
}

/// Every alarm the controller can raise.
public enum AlarmType: String, Sendable, CaseIterable, Hashable {
    case occlusion
    case motionMismatch = "motion_mismatch"
    case motorDriverFault = "motor_driver_fault"
    case doseLoopStalled = "dose_loop_stalled"
    case reservoirEmpty = "reservoir_empty"
    case reservoirLow = "reservoir_low"
    case batteryEndOfService = "battery_end_of_service"
    case batteryElectiveReplacement = "battery_elective_replacement"
    case pressureSensorFault = "pressure_sensor_fault"
    case batteryGaugeFault = "battery_gauge_fault"
    case wallClockInvalid = "wall_clock_invalid"
    case deliveryUncertain = "delivery_uncertain"
    case journalFault = "journal_fault"
    case refillDiscrepancy = "refill_discrepancy"
    case deliveryStopped = "delivery_stopped"
    case bolusInterrupted = "bolus_interrupted"
    case journalLost = "journal_lost"
}

/// How the controller answers one fault.
public struct FaultPolicy: Hashable, Sendable {
    public var delivery: DeliveryPolicy
    public var priority: AlarmPriority
    public var clear: ClearRule
    /// Patient boluses are refused while this alarm is active.
    public var blocksPatientBolus: Bool
    /// Clinician boluses too (no limit on them can be checked while it is active).
    public var blocksClinicianBolus = false
    /// The reason, for the table in docs/safety.md.
    public var rationale: String
}

/// The one table that maps each fault to its delivery policy, alarm priority and clear rule.
/// Nothing else in the code decides these; docs/safety.md prints this table (`pumpctl faults`).
public enum FaultTable {
    public static func policy(for alarm: AlarmType) -> FaultPolicy {
        switch alarm {
        case .occlusion:
            FaultPolicy(delivery: .stop, priority: .high, clear: .clinician, blocksPatientBolus: true,
                        rationale: "drug is not reaching the patient; pushing on raises catheter pressure (a pressure no open line can hold, \(Int(SafetyLimits().occlusionCeilingMMHg)) mmHg, is one too, learned or not). Never restarts by itself.")
        case .motionMismatch:
            FaultPolicy(delivery: .stop, priority: .high, clear: .clinician, blocksPatientBolus: true,
                        rationale: "measured motion disagrees with commanded motion (stall, slip or runaway), or the kernel dropped encoder edges (a burst, as a runaway makes): delivered volume is unknown.")
        case .motorDriverFault:
            FaultPolicy(delivery: .stop, priority: .high, clear: .clinician, blocksPatientBolus: true,
                        rationale: "the stepper driver reports a fault or refused a command.")
        case .doseLoopStalled:
            FaultPolicy(delivery: .stop, priority: .high, clear: .clinician, blocksPatientBolus: true,
                        rationale: "the dose loop stopped beating; the watchdog cannot tell what it will do next.")
        case .reservoirEmpty:
            FaultPolicy(delivery: .stop, priority: .high, clear: .clinician, blocksPatientBolus: true,
                        rationale: "nothing left to deliver; strokes would pump air. Cleared by a refill.")
        case .batteryEndOfService:
            FaultPolicy(delivery: .stop, priority: .high, clear: .clinician, blocksPatientBolus: true,
                        rationale: "the battery can no longer guarantee a stroke completes; safe stop before brown-out.")
        case .reservoirLow:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .acknowledge, blocksPatientBolus: false,
                        rationale: "refill soon; computed from measured motion, so it also fires when the pump over-infuses.")
        case .batteryElectiveReplacement:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .acknowledge, blocksPatientBolus: false,
                        rationale: "plan the replacement; delivery is unaffected.")
        case .pressureSensorFault:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .acknowledge, blocksPatientBolus: true,
                        rationale: "occlusion monitoring is blind; stopping would risk withdrawal, so basal continues and boluses wait.")
        case .batteryGaugeFault:
            FaultPolicy(delivery: .continueDelivery, priority: .low, clear: .acknowledge, blocksPatientBolus: false,
                        rationale: "battery state unknown; delivery is unaffected until the gauge answers again.")
        case .wallClockInvalid:
            FaultPolicy(delivery: .minimumRate, priority: .medium, clear: .acknowledge, blocksPatientBolus: true,
                        rationale: "the time of day is unknown, so the flex step in force is unknown; the lowest step is the safe guess.")
        case .deliveryUncertain:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .acknowledge, blocksPatientBolus: false,
                        rationale: "a restart found strokes intended but never confirmed; they count as delivered (never repeated), so up to that volume may be missing.")
        case .journalFault:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .acknowledge, blocksPatientBolus: true,
                        rationale: "the journal cannot be written, so a restart could not know what was delivered; basal continues (stopping risks withdrawal), boluses wait; status, suspend and resume still run by command (a counter kept in memory).")
        case .refillDiscrepancy:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .clinician, blocksPatientBolus: true,
                        rationale: "the volume withdrawn at a refill disagrees with the ledger (possible over- or under-infusion, a leak or a pocket fill); basal continues (stopping risks withdrawal), extra boluses wait until a clinician has reviewed.")
        case .deliveryStopped:
            FaultPolicy(delivery: .continueDelivery, priority: .high, clear: .acknowledge, blocksPatientBolus: false,
                        rationale: "delivery has been stopped (suspended, or halted and not resumed) for \(Int(SafetyLimits().longestStopWithoutAlarm.seconds / 60)) minutes: abrupt withdrawal (baclofen) turns dangerous within hours. It changes nothing itself (resuming is a clinician's decision); it ends once delivery runs again.")
        case .bolusInterrupted:
            FaultPolicy(delivery: .continueDelivery, priority: .medium, clear: .acknowledge, blocksPatientBolus: false,
                        rationale: "a bolus was cut short by a halt or a restart and is never resumed (a repeat could double-dose): the patient got less than asked and must know before asking again.")
        case .journalLost:
            FaultPolicy(delivery: .continueDelivery, priority: .high, clear: .clinician, blocksPatientBolus: true, blocksClinicianBolus: true,
                        rationale: "the journal was missing, damaged, not a journal or from a newer pumpd: its remains are kept aside and a new one started. Basal continues from the prescription file (stopping risks withdrawal; a program set by command is lost with it); every bolus is refused until a clinician has reviewed and cleared it (the 24 h history is gone, so no cap can be checked); the reservoir is unknown until a refill records a volume; requests signed before the loss are refused.")
        }
    }

    /// Technical alarms are about the equipment rather than the therapy (IEC 60601-1-8 wording).
    public static func isTechnical(_ alarm: AlarmType) -> Bool {
        switch alarm {
        case .pressureSensorFault, .batteryGaugeFault, .motorDriverFault, .wallClockInvalid, .journalFault, .journalLost: true
        default: false
        }
    }
}
