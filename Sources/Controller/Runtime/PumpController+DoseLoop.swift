import PumpCore
import PumpHAL
import PumpSync

/// The dose loop's wake: plan, make the intent durable, enable, step, confirm.
extension PumpController {
    /// One wake of the dose loop: plan, stroke, record. Returns the absolute deadline of the next wake.
    /// `onHaltDecision`: see `watchdogStep` (the dose loop halts on the motion of strokes it has
    /// just confirmed).
    @inlinable nonisolated(nonsending) public func doseLoopStep(now: MonotonicInstant, utcNanoseconds: Int64,
                                                               onHaltDecision: (@Sendable () -> Void)? = nil) async -> MonotonicInstant {
        await doseLoopStepOutcome(now: now, utcNanoseconds: utcNanoseconds, onHaltDecision: onHaltDecision).deadline
    }

    @inlinable nonisolated(nonsending) public func doseLoopStepOutcome(now: MonotonicInstant, utcNanoseconds: Int64,
                                                                      onHaltDecision: (@Sendable () -> Void)? = nil) async -> (deadline: MonotonicInstant, outcome: StepOutcome) {
        let (strokes, commanded, ahead) = state.withLock { g in
            (g.core.planStrokes(at: now, utcNanoseconds: utcNanoseconds), g.core.scheduler.commandedStrokes,
             journal == nil ? 0 : g.core.scheduler.strokesExpected(within: limits.journalLookahead))
        }
        if strokes > 0 {
            if let journal { await recordIntent(journal, through: commanded + strokes, ahead: ahead, now: now, utcNanoseconds: utcNanoseconds) }
            if await enableForStrokes(now: now) {
                await issue(strokes, now: now, onHaltDecision: onHaltDecision)
            }
        }
        if journal != nil { journalize(now: now, utcNanoseconds: utcNanoseconds) }
        return state.withLock { g in
            (g.core.nextDoseDeadline(after: now), StepOutcome(g.core))
        }
    }

    /// Right before anything moves, holding the ENABLE gate: delivery may have stopped while the
    /// intent was written, or while the motor was being enabled; then nothing moves (the stop's
    /// answer said stopped). True: ENABLE is on and the stroke is marked under way.
    @usableFromInline nonisolated(nonsending) func enableForStrokes(now: MonotonicInstant) async -> Bool {
        await enableGate.acquire()
        let needsEnable: Bool? = state.withLock { g in
            guard g.core.motorStop == .none else { g.core.strokesNotIssued(); return nil }
            g.strokeUnderWay = true
            g.strokeOverdueReported = false
            defer { g.motorEnabled = true }
            return !g.motorEnabled
        }
        var go = needsEnable != nil
        if needsEnable == true {
            do {
                try await motor.enable()
                go = state.withLock { g in
                    guard g.core.motorStop != .none else { return true }
                    g.strokeEnded()
                    g.core.strokesNotIssued()
                    return false
                }
            } catch {
                state.withLock { g in g.strokeEnded(); g.core.motorCommandFailed(error, at: now) }
                go = false
            }
            if !go { await cutIfStillWanted(now: now) }
        }
        enableGate.release()
        return go
    }

    /// Steps and has the core judge the strokes, then leaves the ENABLE line where the core's
    /// `motorStop` wants it: a suspend that came during the stroke left the disable to this.
    @usableFromInline nonisolated(nonsending) func issue(_ strokes: Int64, now: MonotonicInstant,
                                                        onHaltDecision: (@Sendable () -> Void)?) async {
        do {
            try await motor.step(count: Int(strokes), direction: .forward)
            // The motion of these strokes, judged now that they are confirmed (strokesCompleted).
            let fb: MotorFeedback?
            do { fb = try await motor.feedback() } catch {
                fb = nil
                state.withLock { $0.core.readFailed(.motor, error, at: now) }
            }
            let halt = state.withLock { g in
                g.strokeEnded()
                return g.core.strokesCompleted(strokes, at: now, feedback: fb)
            }
            if halt { onHaltDecision?() }
        } catch {
            state.withLock { g in g.strokeEnded(); g.core.stepFailed(strokes, error, at: now, alreadyReported: g.strokeOverdueReported) }
        }
        await safeState(now: now)
    }

    /// Before the motor moves: the strokes must be durable as intended. Normally they already are
    /// (intents run `journalLookahead` ahead and are renewed in the background at half of it), so
    /// the dose loop waits only at the start, after a rate jump, or when storage has stalled
    /// longer than the lookahead.
    @usableFromInline nonisolated(nonsending) func recordIntent(_ journal: any DoseJournal, through need: Int64, ahead: Int64,
                                                               now: MonotonicInstant, utcNanoseconds: Int64) async {
        let durable = journal.durableIntentThrough
        if durable >= need + ahead / 2 { return }
        journal.requestIntent(throughStroke: need + max(ahead, 1), utcNanoseconds: utcNanoseconds)
        guard durable < need else { return }
        let ok = await journal.awaitIntent(throughStroke: need)
        state.withLock { g in
            if ok { g.core.journalRecovered(at: now) } else { g.core.journalFailed("stroke intent not recorded", at: now) }
        }
    }
}
