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
public final class PumpController: Sendable {
    private let core: Mutex<ControllerCore>
    public let motor: any MotorDriver
    public let pressure: any PressureSensor
    public let battery: any BatteryGauge
    public let limits: SafetyLimits
    private let motorEnabled = Mutex(false)
    private let nextBatteryRead: Mutex<MonotonicInstant>

    public init(configuration: ControllerConfiguration, motor: any MotorDriver, pressure: any PressureSensor,
                battery: any BatteryGauge, now: MonotonicInstant, utcNanoseconds: Int64) {
        core = Mutex(ControllerCore(configuration: configuration, now: now, utcNanoseconds: utcNanoseconds))
        self.motor = motor
        self.pressure = pressure
        self.battery = battery
        limits = configuration.limits
        nextBatteryRead = Mutex(now)
    }

    /// A consistent copy of the core's state (for status, reports and tests).
    public func snapshot() -> ControllerCore { core.withLock { $0 } }

    public func withCore<R: Sendable>(_ body: (inout ControllerCore) -> R) -> R { core.withLock { body(&$0) } }

    /// One wake of the dose loop: plan, stroke, record. Returns the absolute deadline of the next wake.
    public func doseLoopStep(now: MonotonicInstant, utcNanoseconds: Int64) async -> MonotonicInstant {
        await doseLoopStepOutcome(now: now, utcNanoseconds: utcNanoseconds).deadline
    }

    public func doseLoopStepOutcome(now: MonotonicInstant, utcNanoseconds: Int64) async -> (deadline: MonotonicInstant, outcome: StepOutcome) {
        let strokes = core.withLock { $0.planStrokes(at: now, utcNanoseconds: utcNanoseconds) }
        if strokes > 0 {
            do {
                if !motorEnabled.withLock({ $0 }) {
                    try await motor.enable()
                    motorEnabled.withLock { $0 = true }
                }
                try await motor.step(count: Int(strokes), direction: .forward)
                core.withLock { $0.strokesCompleted(strokes, at: now) }
            } catch {
                core.withLock { $0.motorCommandFailed(error, at: now) }
                await safeState()
            }
        }
        return core.withLock { c in
            (c.nextDoseDeadline(after: now), StepOutcome(alarmCount: c.alarms.records.count, commandedStrokes: c.scheduler.commandedStrokes))
        }
    }

    /// What a step left behind, so a driver of the loop (the simulator) need not lock the core again.
    public struct StepOutcome: Sendable {
        public var alarmCount: Int
        public var commandedStrokes: Int64
    }

    /// One watchdog tick: read every sensor, let the core judge, and disable the motor on the
    /// watchdog's own path if delivery must not run.
    @discardableResult
    public func watchdogStep(now: MonotonicInstant) async -> StepOutcome {
        let p: CentiMMHg? = try? await pressure.read()
        let fb: MotorFeedback? = try? await motor.feedback()
        let batteryDue = nextBatteryRead.withLock { next in
            guard now >= next else { return false }
            next = now + limits.batteryPeriod
            return true
        }
        var b: BatteryReading?
        if batteryDue { b = try? await battery.read() }
        let readings = WatchdogReadings(pressure: p, motor: fb, battery: b, batteryDue: batteryDue)
        let (stop, outcome) = core.withLock { c in
            (c.watchdogTick(at: now, readings: readings), StepOutcome(alarmCount: c.alarms.records.count, commandedStrokes: c.scheduler.commandedStrokes))
        }
        if stop, motorEnabled.withLock({ $0 }) { await safeState() }
        return outcome
    }

    /// An operator command (scenario event, later the command socket).
    public func handle(_ command: OperatorCommand, now: MonotonicInstant, utcNanoseconds: Int64) async -> CommandOutcome {
        let (outcome, stop) = core.withLock { c in
            let o = c.handle(command, at: now, utcNanoseconds: utcNanoseconds)
            return (o, c.state != .delivering)
        }
        if stop { await safeState() }
        return outcome
    }

    /// Motor disabled. Retried on the next watchdog tick if the driver refuses.
    private func safeState() async {
        do {
            try await motor.disable()
            motorEnabled.withLock { $0 = false }
        } catch {
            // Left enabled in our books, so the next tick tries again.
        }
    }

    /// Runs the dose loop and the watchdog as two tasks until cancelled. Both use absolute
    /// deadlines on `clock`, so lateness does not accumulate.
    public func run<C: Clock<Duration>>(clock: C, wallClock: any WallClock) async {
        let start = clock.now
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
