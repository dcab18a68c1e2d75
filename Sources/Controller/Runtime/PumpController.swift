import PumpCore
import PumpHAL
import Synchronization

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
        /// Whether the shell believes the motor is enabled (only the shell touches the driver).
        @usableFromInline var motorEnabled = false
        @usableFromInline var nextBatteryRead: MonotonicInstant
        @usableFromInline init(core: ControllerCore, nextBatteryRead: MonotonicInstant) {
            self.core = core
            self.nextBatteryRead = nextBatteryRead
        }
    }
    // The step methods are @inlinable so that the module instantiating the controller (the
    // simulator, a rig) specializes them for its concrete hardware types.
    @usableFromInline let state: Mutex<Guarded>
    public let motor: Motor
    public let pressure: Pressure
    public let battery: Battery
    public let limits: SafetyLimits

    public init(configuration: ControllerConfiguration, motor: Motor, pressure: Pressure,
                battery: Battery, now: MonotonicInstant, utcNanoseconds: Int64) {
        state = Mutex(Guarded(core: ControllerCore(configuration: configuration, now: now, utcNanoseconds: utcNanoseconds),
                              nextBatteryRead: now))
        self.motor = motor
        self.pressure = pressure
        self.battery = battery
        limits = configuration.limits
    }

    /// A consistent copy of the core's state (for status, reports and tests).
    public func snapshot() -> ControllerCore { state.withLock { $0.core } }

    public func withCore<R: Sendable>(_ body: (inout ControllerCore) -> R) -> R { state.withLock { body(&$0.core) } }

    /// One wake of the dose loop: plan, stroke, record. Returns the absolute deadline of the next wake.
    @inlinable nonisolated(nonsending) public func doseLoopStep(now: MonotonicInstant, utcNanoseconds: Int64) async -> MonotonicInstant {
        await doseLoopStepOutcome(now: now, utcNanoseconds: utcNanoseconds).deadline
    }

    @inlinable nonisolated(nonsending) public func doseLoopStepOutcome(now: MonotonicInstant, utcNanoseconds: Int64) async -> (deadline: MonotonicInstant, outcome: StepOutcome) {
        let (strokes, enabled) = state.withLock { ($0.core.planStrokes(at: now, utcNanoseconds: utcNanoseconds), $0.motorEnabled) }
        if strokes > 0 {
            do {
                if !enabled {
                    try await motor.enable()
                    state.withLock { $0.motorEnabled = true }
                }
                try await motor.step(count: Int(strokes), direction: .forward)
                state.withLock { $0.core.strokesCompleted(strokes, at: now) }
            } catch {
                state.withLock { $0.core.motorCommandFailed(error, at: now) }
                await safeState()
            }
        }
        return state.withLock { g in
            (g.core.nextDoseDeadline(after: now), StepOutcome(g.core))
        }
    }

    /// What a step left behind, so a driver of the loop (the simulator) need not lock the core again.
    public struct StepOutcome: Sendable {
        public var alarmCount: Int
        public var commandedStrokes: Int64
        /// For invariant checks (the fault swarm): the programme so far and the state after the step.
        public var programmed: Nanolitres
        public var state: TherapyState
        @inlinable init(_ c: borrowing ControllerCore) {
            (alarmCount, commandedStrokes, programmed, state) = c.summary()
        }
    }

    /// One watchdog tick: read every sensor, let the core judge, and disable the motor on the
    /// watchdog's own path if delivery must not run.
    @discardableResult
    @inlinable nonisolated(nonsending) public func watchdogStep(now: MonotonicInstant) async -> StepOutcome {
        let p: CentiMMHg? = try? await pressure.read()
        let fb: MotorFeedback? = try? await motor.feedback()
        // The battery is read every `batteryPeriod`; `nextBatteryRead` only moves on under the lock below.
        let batteryDue = state.withLock { now >= $0.nextBatteryRead }
        var b: BatteryReading?
        if batteryDue { b = try? await battery.read() }
        let readings = WatchdogReadings(pressure: p, motor: fb, battery: b, batteryDue: batteryDue)
        let (stop, enabled, outcome) = state.withLock { g in
            if batteryDue { g.nextBatteryRead = now + limits.batteryPeriod }
            let stop = g.core.watchdogTick(at: now, readings: readings)
            return (stop, g.motorEnabled, StepOutcome(g.core))
        }
        if stop, enabled { await safeState() }
        return outcome
    }

    /// An operator command (scenario event, later the command socket).
    nonisolated(nonsending) public func handle(_ command: OperatorCommand, now: MonotonicInstant, utcNanoseconds: Int64) async -> CommandOutcome {
        let (outcome, stop) = state.withLock { g in
            let o = g.core.handle(command, at: now, utcNanoseconds: utcNanoseconds)
            return (o, g.core.state != .delivering)
        }
        if stop { await safeState() }
        return outcome
    }

    /// Puts the motor in the safe state on the way out (daemon shutdown). Returns false if the
    /// driver refused twice.
    public func safeStop() async -> Bool {
        for _ in 0..<2 {
            do {
                try await motor.disable()
                state.withLock { $0.motorEnabled = false }
                return true
            } catch {}
        }
        return false
    }

    /// Motor disabled. Retried on the next watchdog tick if the driver refuses.
    @usableFromInline nonisolated(nonsending) func safeState() async {
        do {
            try await motor.disable()
            state.withLock { $0.motorEnabled = false }
        } catch {
            // Left enabled in our books, so the next tick tries again.
        }
    }

    /// Runs the dose loop and the watchdog as two tasks until cancelled. Both use absolute
    /// deadlines on `clock`, so lateness does not accumulate.
    /// `epoch` is the instant monotonic time counts from (default: now); a daemon that checks
    /// health alongside passes the same one.
    nonisolated(nonsending) public func run<C: Clock<Duration>>(clock: C, wallClock: any WallClock, epoch: C.Instant? = nil) async {
        let start = epoch ?? clock.now
        func monotonic(_ i: C.Instant) -> MonotonicInstant {
            let d = start.duration(to: i)
            return MonotonicInstant(nanoseconds: d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
        }
        func instant(_ m: MonotonicInstant) -> C.Instant { start.advanced(by: .nanoseconds(m.nanoseconds)) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let deadline = await self.doseLoopStep(now: monotonic(clock.now), utcNanoseconds: wallClock.utcNanoseconds())
                    try? await clock.sleep(until: instant(deadline), tolerance: nil)
                }
            }
            group.addTask {
                var next = monotonic(clock.now)
                while !Task.isCancelled {
                    await self.watchdogStep(now: monotonic(clock.now))
                    next = next + self.limits.watchdogPeriod
                    try? await clock.sleep(until: instant(next), tolerance: nil)
                }
            }
        }
    }
}
