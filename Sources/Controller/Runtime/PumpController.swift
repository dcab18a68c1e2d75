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
///
/// This file holds the state and `run`; `+DoseLoop` the dose loop's wake, `+Watchdog` the
/// watchdog's tick, `+Commands` operator commands, `+MotorOff` every cut of the ENABLE line,
/// `+Journal` the hand-over to the journal.
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
        /// The first watchdog tick that saw the stroke under way: the step is timed from there, on
        /// the watchdog's clock (the dose loop's wake time would count the intent wait before it).
        @usableFromInline var strokeSeenAt: MonotonicInstant?
        /// The stroke under way outlived `strokeUnderWayLimit` and was reported (once per stroke).
        @usableFromInline var strokeOverdueReported = false
        /// The stroke is over (confirmed, failed, or never started).
        @usableFromInline mutating func strokeEnded() { strokeUnderWay = false; strokeSeenAt = nil }
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
