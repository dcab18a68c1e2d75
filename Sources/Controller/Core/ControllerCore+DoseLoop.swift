import PumpCore
import PumpHAL

/// The dose loop's side: how many strokes to issue, whether the motor must be off, and what the
/// motor reported back.
extension ControllerCore {
    /// Called by the dose loop at each wake: beats the heartbeat, integrates the programme, checks
    /// the reservoir and returns how many strokes to issue now.
    public mutating func planStrokes(at now: MonotonicInstant, utcNanoseconds: Int64) -> Int64 {
        lastHeartbeat = now
        set(.doseLoopStalled, present: false, at: now)
        let wallValid = utcNanoseconds / 1_000_000_000 >= limits.earliestValidWallClock.value
        // The time since the last wake is dosed at the rate that was in force during it; a change
        // of policy applies from now on.
        scheduler.advance(to: now, utcNanoseconds: wallValid ? utcNanoseconds : nil)
        set(.wallClockInvalid, present: !wallValid, at: now)
        scheduler.rateMode = alarms.requiresMinimumRate ? .minimum : .programmed
        set(.reservoirLow, present: ledger.isLow(level: lowReservoirLevel), at: now)
        let empty = ledger.isEmpty(strokeVolume: configuration.strokeVolume)
        set(.reservoirEmpty, present: empty, at: now)
        recordEndedBoluses(at: now)
        guard state == .delivering, !empty else { return 0 }
        let left = ledger.expected.value / configuration.strokeVolume.value
        strokesInFlight = min(scheduler.strokesDue, configuration.maximumStrokesPerWake, left)
        return strokesInFlight
    }

    /// The dose loop's planned strokes were not issued: delivery stopped while their intent was
    /// being written (a suspend or a halt in between). They stay due in the scheduler.
    public mutating func strokesNotIssued() { strokesInFlight = 0 }

    /// Whether the motor must be off, and how soon: the one answer the dose loop, the watchdog and
    /// the command path all act on (the shell only remembers what it last told the driver).
    public var motorStop: MotorStop {
        switch state {
        case .delivering: .none
        // A clinician's stop: the stroke under way finishes with ENABLE on and is counted, so
        // the books and the drug that moved agree (a cut mid-stroke would count a stroke that
        // never moved: HIL storage case, 2026-12-04).
        case .suspended: .afterStroke
        // A fault: ENABLE goes off at once, even mid-stroke. That stroke is counted as given
        // (never repeated): the books may show up to one wake's strokes more than moved.
        case .halted: .now
        }
    }

    /// Integrates the programme up to `now` without a dose-loop wake (end of a simulation, status).
    public mutating func advanceProgramme(to now: MonotonicInstant) {
        scheduler.advance(to: now, utcNanoseconds: nil)
    }

    /// When the dose loop must wake next.
    public func nextDoseDeadline(after now: MonotonicInstant) -> MonotonicInstant {
        scheduler.nextDeadline(after: now, maximumSleep: limits.doseLoopMaximumSleep)
    }

    /// Where the strokes stand (taken before the watchdog's pressure reads, compared after).
    public var strokeMark: StrokeMark { StrokeMark(confirmed: scheduler.commandedStrokes, inFlight: strokesInFlight > 0) }

    /// The motor confirmed `count` strokes.
    /// `feedback`: the motor's encoder read as the strokes were confirmed. The motion is judged
    /// here as well as at watchdog ticks, because a tick judges only when no stroke is in flight
    /// (a half-counted step is no reference), and under load a dose loop that has fallen behind
    /// strokes back to back: every tick then lands in flight and a slipping motor went unjudged
    /// (HIL slip under host load: 26 strokes, no alarm). Returns true when this judgement halted
    /// delivery (motion_mismatch), so the dose loop disables the motor at once.
    @discardableResult
    public mutating func strokesCompleted(_ count: Int64, at now: MonotonicInstant, feedback: MotorFeedback? = nil) -> Bool {
        strokesInFlight = 0
        scheduler.recordStrokes(count)
        ledger.recordCommanded(configuration.strokeVolume * count)
        for _ in 0..<count { occlusion.stroke(at: now) }
        guard let fb = feedback, state == .delivering,
              motion.observe(commandedStrokes: scheduler.commandedStrokes, encoderCounts: fb.encoderCounts, limits: limits) else { return false }
        raise(.motionMismatch, at: now)
        return state != .delivering
    }

    /// A read failed: recorded with its error (rate-limited, `ReadErrorDigest`). What it means
    /// for delivery is the device's monitor's judgement, whatever the kind.
    public mutating func readFailed(_ device: ReadDevice, _ error: HALError, at now: MonotonicInstant) {
        if let r = readErrors.failed(device, error, at: now) { record(.readError(r), at: now) }
    }

    /// A step command failed: its pulses may or may not have gone out (a line write or the
    /// encoder wait after them failed). They count as given, never repeated, as a restart counts
    /// the strokes it cannot confirm: at worst a wake's strokes are missing, never doubled
    /// (outside review, 2026-12-05: they stayed due and went out again after the resume).
    /// `alreadyReported`: the watchdog already called this step overdue (one driver fault per stroke).
    public mutating func stepFailed(_ strokes: Int64, _ error: HALError, at now: MonotonicInstant, alreadyReported: Bool = false) {
        scheduler.recordStrokes(strokes)
        ledger.recordCommanded(configuration.strokeVolume * strokes)
        if alreadyReported { strokesInFlight = 0 } else { motorCommandFailed(error, at: now) }
    }

    /// The motor refused a command: the driver is not trustworthy.
    public mutating func motorCommandFailed(_ error: HALError, at now: MonotonicInstant) {
        strokesInFlight = 0
        record(.motorError(HALErrorSummary(error)), at: now)
        raise(.motorDriverFault, at: now)
        set(.motorDriverFault, present: false, at: now)   // the command is over; a clinician decides
    }
}
