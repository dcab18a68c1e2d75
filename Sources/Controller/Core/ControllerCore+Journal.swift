import PumpCore
import PumpHAL

/// What the journal's own health means for the therapy: its failures, losses and recovery.
extension ControllerCore {
    /// The journal could not write (an intent, a program change, or any write while `DoseJournal.failure`
    /// says so): the alarm rises, delivery goes on (fault table).
    public mutating func journalFailed(_ why: String, at now: MonotonicInstant) {
        if !alarms.isActive(.journalFault) { record(.journalError(why), at: now) }
        raise(.journalFault, at: now)
    }

    /// A reader of the event log (`EventLog.since`) fell more than `EventLog.retained` events
    /// behind, so some never reached it: recorded, so the gap itself is on the record.
    public mutating func eventsLost(_ count: Int, by reader: String, at now: MonotonicInstant) {
        record(.journalError("\(count) events left memory before \(reader) took them"), at: now)
    }

    /// The journal this start expected was lost and a new one begun (`JournalStorage`): the
    /// alarm rises (a finding a clinician clears after review) and the reservoir is unknown
    /// until a refill records a volume.
    public mutating func journalLost(_ why: String, at now: MonotonicInstant) {
        record(.journalError("lost: \(why)"), at: now)
        raise(.journalLost, at: now)
        set(.journalLost, present: false, at: now)
        reservoirKnown = false
    }

    /// The bolus accepted at `acceptedAt` could not be made durable: it is taken back before any
    /// of it is delivered, and journal_fault rises. Its acceptance stays in the bolus history (in
    /// memory, and in the journal once it writes again): its lockout then holds as if it had been
    /// given, the safe side of not knowing.
    public mutating func revokeBolus(acceptedAt: MonotonicInstant, at now: MonotonicInstant) {
        scheduler.revokeNewestBolus(startedAt: acceptedAt)
        // Recorded even when journal_fault is already active (it usually is: the watchdog saw the
        // failure first), so the log says why an accepted bolus never ran (storage attack).
        record(.journalError("bolus not recorded, so not given"), at: now)
        raise(.journalFault, at: now)
    }

    /// The journal is writing again.
    public mutating func journalRecovered(at now: MonotonicInstant) { set(.journalFault, present: false, at: now) }
}
