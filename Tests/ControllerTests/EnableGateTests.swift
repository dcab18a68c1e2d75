@testable import Controller
import PumpCore
import PumpFakes
import PumpPlant
import PumpHAL
import PumpSync
import Testing

/// The plant's motor with every ENABLE write and the stroke holdable, and disables that can be
/// refused: the interleavings an outside review of the stroke race found (2026-12-05).
final class GatedMotor: MotorDriver {
    let inner: FakeMotorDriver
    struct Holds { var enable = false, disable = false, step = false, refuseDisable = false }
    let holds = Locked(Holds())
    let enableStarted = Signal(), enableRelease = Signal()
    let disableStarted = Signal(), disableRelease = Signal()
    let stepStarted = Signal(), stepRelease = Signal()
    init(plant: Plant) { inner = FakeMotorDriver(plant: plant) }
    nonisolated(nonsending) func enable() async throws(HALError) {
        if holds.withLock({ $0.enable }) { enableStarted.fire(); await enableRelease.wait() }
        try await inner.enable()
    }
    nonisolated(nonsending) func disable() async throws(HALError) {
        if holds.withLock({ $0.disable }) { disableStarted.fire(); await disableRelease.wait() }
        if holds.withLock({ $0.refuseDisable }) { throw HALError(.bus, errno: 5, "ENABLE write refused") }
        try await inner.disable()
    }
    nonisolated(nonsending) func step(count: Int, direction: StepDirection) async throws(HALError) {
        if holds.withLock({ $0.step }) { stepStarted.fire(); await stepRelease.wait() }
        try await inner.step(count: count, direction: direction)
    }
    nonisolated(nonsending) func feedback() async throws(HALError) -> MotorFeedback { try await inner.feedback() }
}

@Suite("The ENABLE gate")
struct EnableGateTests {
    let second: Int64 = 1_000_000_000

    /// 24 mL/day: a stroke due every 0.9 s.
    private func rig() -> (Plant, GatedMotor, PumpController<GatedMotor, FakePressureSensor, FakeBatteryGauge>) {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = GatedMotor(plant: plant)
        return (plant, motor, plantController(motor: motor, pressure: FakePressureSensor(plant: plant), plant: plant))
    }

    private func at(_ ns: Int64) -> MonotonicInstant { MonotonicInstant(nanoseconds: ns) }

    /// Waits (yielding, no clock) until `done` holds.
    private func until(_ done: () -> Bool) async { while !done() { await Task.yield() } }

    /// A suspend's disable is slow to land; a resume comes, and the dose loop's next stroke
    /// follows. Before the gate the dose loop trusted "enabled" and stepped while the old
    /// disable landed under its pulses (confirmed, never moved). Now the stale disable re-checks
    /// and does nothing, or lands before the enable that follows it.
    @Test func aDisableDecidedBeforeAResumeNeverLandsUnderTheNextStroke() async {
        let (plant, motor, c) = rig()
        plant.advance(to: 1 * second)
        _ = await c.doseLoopStep(now: at(1 * second), utcNanoseconds: 0)     // one stroke: ENABLE on
        #expect(plant.totals.strokes == 1 && motor.inner.isEnabled)
        motor.holds.withLock { $0.disable = true; $0.step = true }
        let suspend = Task { await c.handle(.suspend, now: self.at(2 * second), utcNanoseconds: 0) }
        await motor.disableStarted.wait()                                     // the disable is on its way
        motor.holds.withLock { $0.disable = false }
        #expect(await c.handle(.resume, now: at(2 * second), utcNanoseconds: 0).accepted)
        plant.advance(to: 3 * second)
        let loop = Task { await c.doseLoopStep(now: self.at(3 * second), utcNanoseconds: 0) }
        // The dose loop now waits for the gate (or, without one, is at its pulses).
        await until { c.enableGate.waiting > 0 || motor.stepStarted.hasFired }
        motor.disableRelease.fire()
        _ = await suspend.value
        motor.stepRelease.fire()
        _ = await loop.value
        let totals = plant.totals
        #expect(totals.strokesWhileDisabled == 0, "\(totals.strokesWhileDisabled) strokes with ENABLE off")
        #expect(c.snapshot().scheduler.commandedStrokes == totals.strokes - totals.strokesWhileDisabled)
        #expect(motor.inner.isEnabled && c.snapshot().state == .delivering)
    }

    /// A suspend that lands while the motor is being enabled: nothing moves (its answer said
    /// stopped), and ENABLE ends off.
    @Test func aSuspendDuringTheEnableMovesNothing() async {
        let (plant, motor, c) = rig()
        motor.holds.withLock { $0.enable = true }
        plant.advance(to: 1 * second)
        let loop = Task { await c.doseLoopStep(now: self.at(1 * second), utcNanoseconds: 0) }
        await motor.enableStarted.wait()
        let suspend = Task { await c.handle(.suspend, now: self.at(1 * second), utcNanoseconds: 0) }
        await until { c.snapshot().state == .suspended }
        motor.enableRelease.fire()
        _ = await loop.value
        #expect(await suspend.value.accepted)
        #expect(plant.totals.strokes == 0 && c.snapshot().scheduler.commandedStrokes == 0)
        #expect(!motor.inner.isEnabled)
    }

    /// A halt that comes while the dose loop enables: cut as soon as the enable returns, nothing
    /// moves.
    @Test func aHaltDuringTheEnableCutsBeforeAnyStroke() async {
        let (plant, motor, c) = rig()
        motor.holds.withLock { $0.enable = true }
        plant.advance(to: 1 * second)
        let loop = Task { await c.doseLoopStep(now: self.at(1 * second), utcNanoseconds: 0) }
        await motor.enableStarted.wait()
        plant.apply(.driverFault)
        let tick = Task { await c.watchdogStep(now: self.at(1 * second)) }
        await until { c.snapshot().state == .halted }
        motor.enableRelease.fire()
        _ = await loop.value
        _ = await tick.value
        #expect(plant.totals.strokes == 0 && c.snapshot().scheduler.commandedStrokes == 0)
        #expect(!motor.inner.isEnabled)
    }

    /// A driver that refuses to turn the motor off: a high alarm (motor_driver_fault) once, and
    /// the disable tried again at every watchdog tick until it works.
    @Test func aRefusedDisableIsADriverFaultAndIsRetried() async {
        let (plant, motor, c) = rig()
        plant.advance(to: 1 * second)
        _ = await c.doseLoopStep(now: at(1 * second), utcNanoseconds: 0)
        motor.holds.withLock { $0.refuseDisable = true }
        _ = await c.handle(.suspend, now: at(2 * second), utcNanoseconds: 0)
        for i in 0..<4 { _ = await c.watchdogStep(now: at(2 * second + Int64(i) * 250_000_000)) }
        let s = c.snapshot()
        #expect(s.alarms.records.filter { $0.type == .motorDriverFault }.count == 1)
        #expect(s.events.filter { if case .motorError = $0.kind { true } else { false } }.count == 1)
        #expect(motor.inner.isEnabled)                                       // still on: refused
        motor.holds.withLock { $0.refuseDisable = false }
        _ = await c.watchdogStep(now: at(3 * second))
        #expect(!motor.inner.isEnabled, "the owed disable was not tried again")
    }
}

/// The plant's motor whose next step sends its pulses and then fails (the encoder wait after
/// them, say): the plant moved, the driver said "error".
final class FailAfterPulsesMotor: MotorDriver {
    let inner: FakeMotorDriver
    let failNextStep = Locked(false)
    init(plant: Plant) { inner = FakeMotorDriver(plant: plant) }
    nonisolated(nonsending) func enable() async throws(HALError) { try await inner.enable() }
    nonisolated(nonsending) func disable() async throws(HALError) { try await inner.disable() }
    nonisolated(nonsending) func step(count: Int, direction: StepDirection) async throws(HALError) {
        try await inner.step(count: count, direction: direction)
        if failNextStep.withLock({ f in defer { f = false }; return f }) { throw HALError(.timeout, "encoder edges did not come") }
    }
    nonisolated(nonsending) func feedback() async throws(HALError) -> MotorFeedback { try await inner.feedback() }
}

@Suite("A failed step")
struct FailedStepTests {
    /// 24 mL/day (277.8 nL/s); the first wake at 4 s has 4 strokes due (1 111 nL), all sent, then
    /// the step fails: a halt. A clinician clears and resumes at 10 s; the loop runs to 60 s.
    /// Judged by the plant: what moved never exceeds the programme + 1 stroke (DeliveryBound).
    /// Before: the 4 strokes stayed due and went out again after the resume (8 strokes, 2 000 nL,
    /// at a programme of about 1 111 nL).
    @Test func itsStrokesCountAsGivenAndAreNeverRepeated() async {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = FailAfterPulsesMotor(plant: plant)
        let c = plantController(motor: motor, pressure: FakePressureSensor(plant: plant), plant: plant)
        motor.failNextStep.withLock { $0 = true }
        var t: Int64 = 4_000_000_000, worst: Int64 = .min
        var cleared = false
        while t <= 60_000_000_000 {
            plant.advance(to: t)
            if !cleared, t >= 10_000_000_000 {
                cleared = true
                #expect(c.snapshot().state == .halted)
                _ = await c.handle(.clinicianClear, now: MonotonicInstant(nanoseconds: t), utcNanoseconds: 0)
                #expect(await c.handle(.resume, now: MonotonicInstant(nanoseconds: t), utcNanoseconds: 0).accepted)
            }
            let next = await c.doseLoopStep(now: MonotonicInstant(nanoseconds: t), utcNanoseconds: 0)
            let moved = (plant.totals.strokes - plant.totals.strokesWhileDisabled) * 250
            worst = max(worst, moved - c.snapshot().scheduler.programmedVolume.value)
            t = max(next.nanoseconds, t + 1)
        }
        #expect(plant.totals.strokes >= 4, "the first wake's pulses went out")
        #expect(worst <= 250, "the plant moved \(worst) nL more than programmed (allowed: one stroke, 250 nL)")
    }
}
