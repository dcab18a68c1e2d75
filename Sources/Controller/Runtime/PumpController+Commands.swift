import PumpCore
import PumpHAL
import PumpSync

/// Operator commands reach the core here, and a stop they cause reaches the motor.
extension PumpController {
    /// An operator command (scenario event, later the command socket).
    nonisolated(nonsending) public func handle(_ command: OperatorCommand, now: MonotonicInstant, utcNanoseconds: Int64) async -> CommandOutcome {
        let (outcome, stop, program) = state.withLock { g in
            let o = g.core.handle(command, at: now, utcNanoseconds: utcNanoseconds)
            var program: ProgramRecord?
            if o.accepted, journal != nil {
                switch command {
                case .program, .setLowReservoir: program = g.core.programRecord(refill: nil, utcNanoseconds: utcNanoseconds)
                case .refill: program = g.core.programRecord(refill: g.core.refills.last, utcNanoseconds: utcNanoseconds)
                default: break
                }
            }
            return (o, g.motorEnabled && mustCut(g), program)
        }
        if stop { await safeState(now: now) }
        if let journal, let program, !journal.recordProgram(program) {
            state.withLock { $0.core.journalFailed("program change not recorded: a restart would return to the previous program", at: now) }
        }
        if journal != nil { journalize(now: now, utcNanoseconds: utcNanoseconds) }
        // A bolus counts as given only once the journal holds it: otherwise a restart would not
        // know it, and a second one inside its lockout would be accepted (storage attack, 2026-12-04:
        // a press just after the storage failed, before the first failed commit).
        switch command {
        case .patientBolus, .clinicianBolus:
            if outcome.accepted, let journal, !(await journal.awaitCommit()) {
                state.withLock { $0.core.revokeBolus(acceptedAt: now, at: now) }
                return CommandOutcome(accepted: false, reason: "the journal cannot record it, so it was not given (journal_fault)")
            }
        default: break
        }
        return outcome
    }
}
