import PumpCore
import PumpHAL
import PumpSync

/// Where the shell gets wall-clock time (UTC nanoseconds). Only the flex schedule uses it.
public protocol WallClock: Sendable {
    func utcNanoseconds() -> Int64
}

/// The imperative shell: owns the hardware and the core, and runs the dose loop and the watchdog.
///
/// The core sits behind a mutex and is only ever touched by short synchronous calls; hardware I/O
/// happens outside the lock. The watchdog has its own path to the safe state: it disables the
/// motor itself, without waiting for the dose loop. On the rig `run` drives both as tasks on a
/// real clock; the simulator calls `doseLoopStep` and `watchdogStep` itself, in virtual time and
/// in a fixed order, so the code under test is the code on the rig.
///
/// Generic over the concrete hardware types, so each rig (and the simulator) gets a specialized
/// controller whose hardware calls compile to direct calls.
public final class PumpController<Motor: MotorDriver, Pressure: PressureSensor, Battery: BatteryGauge>: Sendable {
    /// The core plus the shell's own bookkeeping, under one lock.
    @usableFromInline struct Guarded: Sendable {
        @usableFromInline var core: ControllerCore
        /// Whether ENABLE may be on: set before an enable is tried, cleared only by a disable that
        /// succeeded, so a failed or hung enable still owes a disable. Whether the motor *must* be
        /// off is the core's `motorStop`. Written under `enableGate` only.
        @usableFromInline var motorEnabled = false
        /// A disable failed and was recorded (one `motorDriverFault` per streak of failures).
        @usableFromInline var disableFailing = false
        /// The dose loop is between deciding to step and the step's confirmation: a suspend leaves
        /// the ENABLE line to it (`MotorStop.afterStroke`).
        @usableFromInline var strokeUnderWay = false
        @usableFromInline var nextBatteryRead: MonotonicInstant
        /// The sequence number of the next core event to hand to the journal.
        @usableFromInline var journaledEvents = 0
        /// When the occlusion learner's memory last went to the journal.
        @usableFromInline var lineMemoryAt: MonotonicInstant?
        @usableFromInline init(core: ControllerCore, nextBatteryRead: MonotonicInstant) {
            self.core = core
            self.nextBatteryRead = nextBatteryRead
        }
    }
    // The step methods are @inlinable so that the module instantiating the controller (the
    // simulator, a rig) specializes them for its concrete hardware types.
    @usableFromInline let state: Locked<Guarded>
    /// Every write of the ENABLE line, and the decision right before it, happens holding this:
    /// a cut decided before a resume re-checks once it holds the gate and then does nothing, and
    /// never lands under the strokes that followed (outside review of the stroke race, 2026-12-05).
    @usableFromInline let enableGate = AsyncGate()
    public let motor: Motor
    public let pressure: Pressure
    public let battery: Battery
    public let limits: SafetyLimits
    /// Written before the motor moves (nil: no journal, as in most simulations).
    public let journal: (any DoseJournal)?

    /// `restoring`: the journal's last state, to continue from after a restart (see `RestoredState`).
    public init(configuration: ControllerConfiguration, motor: Motor, pressure: Pressure,
                battery: Battery, now: MonotonicInstant, utcNanoseconds: Int64,
                journal: (any DoseJournal)? = nil, restoring: RestoredState? = nil) {
        let core = restoring.map { ControllerCore(configuration: configuration, now: now, utcNanoseconds: utcNanoseconds, restoring: $0) }
            ?? ControllerCore(configuration: configuration, now: now, utcNanoseconds: utcNanoseconds)
        state = Locked(Guarded(core: core, nextBatteryRead: now))
        self.motor = motor
        self.pressure = pressure
        self.battery = battery
        limits = configuration.limits
        self.journal = journal
    }

    /// A consistent copy of the core's state (for status, reports and tests).
    public func snapshot() -> ControllerCore { state.withLock { $0.core } }

    public func withCore<R: Sendable>(_ body: (inout ControllerCore) -> R) -> R { state.withLock { body(&$0.core) } }

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
            defer { g.motorEnabled = true }
            return !g.motorEnabled
        }
        var go = needsEnable != nil
        if needsEnable == true {
            do {
                try await motor.enable()
                go = state.withLock { g in
                    guard g.core.motorStop != .none else { return true }
                    g.strokeUnderWay = false
                    g.core.strokesNotIssued()
                    return false
                }
            } catch {
                state.withLock { g in g.strokeUnderWay = false; g.core.motorCommandFailed(error, at: now) }
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
                g.strokeUnderWay = false
                return g.core.strokesCompleted(strokes, at: now, feedback: fb)
            }
            if halt { onHaltDecision?() }
        } catch {
            state.withLock { g in g.strokeUnderWay = false; g.core.stepFailed(strokes, error, at: now) }
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

    /// Hands the journal the current checkpoint and any unrecorded events (a clean shutdown).
    public func flushJournal(now: MonotonicInstant, utcNanoseconds: Int64) { journalize(now: now, utcNanoseconds: utcNanoseconds) }

    /// Hands the journal the checkpoint and the events recorded since the last call.
    @usableFromInline func journalize(now: MonotonicInstant, utcNanoseconds: Int64) {
        guard let journal else { return }
        let (checkpoint, events) = state.withLock { g -> (JournalCheckpoint, [ControllerEvent]) in
            let (new, lost) = g.core.events.since(g.journaledEvents)
            g.journaledEvents = g.core.events.endSequence
            if lost > 0 { g.core.eventsLost(lost, by: "the journal", at: now) }
            var checkpoint = g.core.checkpoint(now: now, utcNanoseconds: utcNanoseconds)
            if g.lineMemoryAt.map({ now - $0 >= OcclusionDetector.lineMemoryPeriod }) ?? true, let m = g.core.occlusion.lineMemory {
                checkpoint.lineMemory = m
                g.lineMemoryAt = now
            }
            return (checkpoint, Array(new))
        }
        journal.record(checkpoint, events: events.map { JournalEvent(event: $0, utcNanoseconds: utcNanoseconds - (now - $0.at).value) })
    }

    /// What a step left behind, so a driver of the loop (the simulator) need not lock the core again.
    public struct StepOutcome: Sendable {
        public var alarmCount: Int
        public var commandedStrokes: Int64
        /// For invariant checks (the fault swarm): the programme so far and the state after the step.
        public var programmed: Nanolitres
        public var state: TherapyState
        /// The programme's lowest basal runs instead of the step in force (fault table: minimum rate).
        public var minimumRate: Bool
        @inlinable init(_ c: borrowing ControllerCore) {
            (alarmCount, commandedStrokes, programmed, state, minimumRate) = c.summary()
        }
    }

    /// One watchdog tick: read every sensor, let the core judge, and disable the motor on the
    /// watchdog's own path if delivery must not run.
    /// `utcNanoseconds`: the wall clock, for the journal's event times (without it, events reach
    /// the journal at the dose loop's next wake).
    @discardableResult
    /// `onHaltDecision`: called the moment this tick decides to stop a running motor, before the
    /// driver is told (a daemon timestamps it: halt decision → ENABLE at the pin).
    @inlinable nonisolated(nonsending) public func watchdogStep(now: MonotonicInstant, utcNanoseconds: Int64? = nil,
                                                               onHaltDecision: (@Sendable () -> Void)? = nil) async -> StepOutcome {
        // Two conversions back to back: the pressure cannot move between them, so their
        // difference is the sensor's own noise (SensorHealthMonitor), unless a stroke fell in
        // between, which the mark taken before them tells the core.
        // The battery is read every `batteryPeriod`; `nextBatteryRead` only moves on under the lock
        // below, and only this step moves it, so it is read together with the mark.
        let (mark, batteryDue) = state.withLock { ($0.core.strokeMark, now >= $0.nextBatteryRead) }
        // Every failed read's error goes to the core with the readings (nothing is dropped).
        var errors: [ReadDevice: HALError] = [:]
        func read<T>(_ device: ReadDevice, _ body: () async throws(HALError) -> T) async -> T? {
            do { return try await body() } catch {
                if errors[device] == nil { errors[device] = error }
                return nil
            }
        }
        let p = await read(.pressureSensor) { () async throws(HALError) in try await pressure.read() }
        let p2 = p == nil ? nil : await read(.pressureSensor) { () async throws(HALError) in try await pressure.read() }
        let fb = await read(.motor) { () async throws(HALError) in try await motor.feedback() }
        var b: BatteryReading?
        if batteryDue { b = await read(.batteryGauge) { () async throws(HALError) in try await battery.read() } }
        let readings = WatchdogReadings(pressure: p, pressureRepeat: p2, strokeMarkBeforePressure: mark, motor: fb, battery: b, batteryDue: batteryDue,
                                        readErrors: errors)
        let (cut, outcome) = state.withLock { g in
            if batteryDue { g.nextBatteryRead = now + limits.batteryPeriod }
            g.core.watchdogTick(at: now, readings: readings)
            return (g.motorEnabled && mustCut(g), StepOutcome(g.core))
        }
        if cut {
            onHaltDecision?()
            await safeState(now: now)
        }
        if let journal {
            let failure = journal.failure
            state.withLock { g in
                if let failure { g.core.journalFailed("not writing: \(failure)", at: now) } else { g.core.journalRecovered(at: now) }
            }
            if let utcNanoseconds { journalize(now: now, utcNanoseconds: utcNanoseconds) }
        }
        return outcome
    }

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

    /// Whether the watchdog or a command must disable the motor now; a stroke under way while
    /// only suspended is left to the dose loop, which disables once it is confirmed.
    @usableFromInline func mustCut(_ g: Guarded) -> Bool {
        switch g.core.motorStop {
        case .none: false
        case .afterStroke: !g.strokeUnderWay
        case .now: true
        }
    }

    /// Puts the motor in the safe state on the way out (daemon shutdown). Returns false if the
    /// driver refused twice.
    public func safeStop() async -> Bool {
        await enableGate.acquire()
        defer { enableGate.release() }
        for _ in 0..<2 {
            do {
                try await motor.disable()
                state.withLock { $0.motorEnabled = false }
                return true
            } catch {}
        }
        return false
    }

    /// The motor disabled if the core still wants it off, decided again holding the gate (the
    /// decision that called this may be stale: a resume came in between).
    @usableFromInline nonisolated(nonsending) func safeState(now: MonotonicInstant) async {
        await enableGate.acquire()
        await cutIfStillWanted(now: now)
        enableGate.release()
    }

    /// Holding the gate: disables if ENABLE may be on and `mustCut` says so. A refused disable
    /// stays owed (`motorEnabled`), so the next watchdog tick tries again, and is a driver fault
    /// (high alarm, halt) once per streak: a pump that cannot turn its motor off must say so.
    @usableFromInline nonisolated(nonsending) func cutIfStillWanted(now: MonotonicInstant) async {
        guard state.withLock({ $0.motorEnabled && mustCut($0) }) else { return }
        do {
            try await motor.disable()
            state.withLock { g in g.motorEnabled = false; g.disableFailing = false }
        } catch {
            state.withLock { g in
                guard !g.disableFailing else { return }
                g.disableFailing = true
                g.core.motorCommandFailed(error, at: now)
            }
        }
    }

    /// Runs the dose loop and the watchdog as two tasks until cancelled. Both use absolute
    /// deadlines on `clock`, so lateness does not accumulate.
    /// `epoch` is the instant monotonic time counts from (default: now); a daemon that checks
    /// health alongside passes the same one.
    /// `onWake`: how late each wake came after its deadline, per loop (for the benchmark's
    /// lateness percentiles; the loops do not depend on it).
    /// `onHaltDecision`: see `watchdogStep`.
    nonisolated(nonsending) public func run<C: Clock<Duration>>(clock: C, wallClock: any WallClock, epoch: C.Instant? = nil,
                                                               onWake: (@Sendable (WakeLoop, Nanoseconds) -> Void)? = nil,
                                                               onHaltDecision: (@Sendable () -> Void)? = nil) async {
        let start = epoch ?? clock.now
        func monotonic(_ i: C.Instant) -> MonotonicInstant {
            let d = start.duration(to: i)
            return MonotonicInstant(nanoseconds: d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
        }
        func instant(_ m: MonotonicInstant) -> C.Instant { start.advanced(by: .nanoseconds(m.nanoseconds)) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let deadline = await self.doseLoopStep(now: monotonic(clock.now), utcNanoseconds: wallClock.utcNanoseconds(),
                                                           onHaltDecision: onHaltDecision)
                    try? await clock.sleep(until: instant(deadline), tolerance: nil)
                    if let onWake { onWake(.doseLoop, monotonic(clock.now) - deadline) }
                }
            }
            group.addTask {
                var next = monotonic(clock.now)
                while !Task.isCancelled {
                    await self.watchdogStep(now: monotonic(clock.now), utcNanoseconds: wallClock.utcNanoseconds(), onHaltDecision: onHaltDecision)
                    next = next + self.limits.watchdogPeriod
                    try? await clock.sleep(until: instant(next), tolerance: nil)
                    if let onWake { onWake(.watchdog, monotonic(clock.now) - next) }
                }
            }
        }
    }
}

/// The two loops of `run`.
public enum WakeLoop: String, Sendable { case doseLoop = "dose_loop", watchdog }
