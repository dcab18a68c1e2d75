import Controller
import PumpCore
import PumpFakes
import PumpPlant
import PumpHAL
import PumpSync
import Testing

/// A one-shot signal between tasks (no sleeps: the waiter resumes when it is signalled).
final class Signal: Sendable {
    private let state = Locked<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    var hasFired: Bool { state.withLock { $0.fired } }
    func fire() {
        let waiters = state.withLock { s in s.fired = true; defer { s.waiters = [] }; return s.waiters }
        for w in waiters { w.resume() }
    }
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                if s.fired { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// The plant's motor, with a stroke that can be held between its start and its STEP pulses, so
/// a test can put a suspend or a halt exactly there (on the rig: a stroke's pulses and encoder
/// wait take milliseconds, in which a command or a watchdog tick can land).
final class HeldMotor: MotorDriver {
    let inner: FakeMotorDriver
    let started = Signal(), release = Signal()
    /// The held step then fails (its pulses never went out) instead of stepping.
    let failing: Bool
    init(plant: Plant, failing: Bool = false) { inner = FakeMotorDriver(plant: plant); self.failing = failing }
    nonisolated(nonsending) func enable() async throws(HALError) { try await inner.enable() }
    nonisolated(nonsending) func disable() async throws(HALError) { try await inner.disable() }
    nonisolated(nonsending) func step(count: Int, direction: StepDirection) async throws(HALError) {
        started.fire()
        await release.wait()
        if failing { throw HALError(.timeout, "encoder wait") }
        try await inner.step(count: count, direction: direction)
    }
    nonisolated(nonsending) func feedback() async throws(HALError) -> MotorFeedback { try await inner.feedback() }
}

/// A journal whose intent is held until the test lets it go (storage slow at the wrong moment).
final class HeldIntentJournal: DoseJournal, Sendable {
    let asked = Signal(), release = Signal()
    var durableIntentThrough: Int64 { 0 }
    func requestIntent(throughStroke: Int64, utcNanoseconds: Int64) {}
    func awaitIntent(throughStroke: Int64) async -> Bool {
        asked.fire()
        await release.wait()
        return true
    }
    func record(_ checkpoint: JournalCheckpoint, events: [JournalEvent]) {}
    func recordProgram(_ program: ProgramRecord) -> Bool { true }
    var failure: String? { nil }
    func awaitCommit() async -> Bool { true }
}

/// "Motor must be off" against the plant's ENABLE line: the plant counts every STEP pulse that
/// reached a disabled driver, so the books (commanded strokes) are judged by what moved.
/// Found by the HIL storage case (2026-12-04, 1.6.3 guest): a `pumpctl suspend` racing a stroke
/// disabled the motor while the stroke's pulses went out, and pumpd confirmed the stroke
/// (confirmed 23, plant 22, 1 while disabled).
@Suite("Strokes and stops racing")
struct StrokeRaceTests {
    let t0 = MonotonicInstant(nanoseconds: 0)

    /// 24 mL/day: a stroke due every 0.9 s; the first wake after 1 s issues one.
    private func controller<M: MotorDriver>(_ motor: M, plant: Plant, journal: (any DoseJournal)? = nil)
        -> PumpController<M, FakePressureSensor, FakeBatteryGauge> {
        plantController(motor: motor, pressure: FakePressureSensor(plant: plant), plant: plant, journal: journal)
    }

    /// A dose loop wake whose stroke is held after it started: the test acts, then releases it.
    private func heldStroke() async -> (Plant, HeldMotor, PumpController<HeldMotor, FakePressureSensor, FakeBatteryGauge>, MonotonicInstant, Task<MonotonicInstant, Never>) {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = HeldMotor(plant: plant)
        let c = controller(motor, plant: plant)
        let wake = MonotonicInstant(nanoseconds: 1_000_000_000)
        plant.advance(to: wake.nanoseconds)
        let loop = Task { await c.doseLoopStep(now: wake, utcNanoseconds: 0) }
        await motor.started.wait()
        return (plant, motor, c, wake, loop)
    }

    /// A dose loop wake held while its stroke's intent is written: the test acts, then releases it.
    private func heldIntent<M: MotorDriver>(_ makeMotor: (Plant) -> M) async
        -> (Plant, M, HeldIntentJournal, PumpController<M, FakePressureSensor, FakeBatteryGauge>, MonotonicInstant, Task<MonotonicInstant, Never>) {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = makeMotor(plant)
        let journal = HeldIntentJournal()
        let c = controller(motor, plant: plant, journal: journal)
        let wake = MonotonicInstant(nanoseconds: 1_000_000_000)
        plant.advance(to: wake.nanoseconds)
        let loop = Task { await c.doseLoopStep(now: wake, utcNanoseconds: 0) }
        await journal.asked.wait()
        return (plant, motor, journal, c, wake, loop)
    }

    @Test func aSuspendDuringAStrokeLetsItFinishWithTheMotorEnabledAndCountsIt() async {
        let (plant, motor, c, wake, loop) = await heldStroke()
        let o = await c.handle(.suspend, now: wake, utcNanoseconds: 0)
        #expect(o.accepted)
        #expect(motor.inner.isEnabled, "the suspend cut ENABLE while the stroke's pulses were still to go out")
        // The watchdog ticks meanwhile: a suspend is not its reason to cut a stroke either.
        _ = await c.watchdogStep(now: wake)
        #expect(motor.inner.isEnabled)
        motor.release.fire()
        _ = await loop.value
        let totals = plant.totals
        #expect(totals.strokes == 1 && totals.strokesWhileDisabled == 0, "plant: \(totals.strokes) strokes, \(totals.strokesWhileDisabled) while disabled")
        #expect(c.snapshot().scheduler.commandedStrokes == 1, "confirmed strokes must equal what moved")
        #expect(!motor.inner.isEnabled, "suspended, and the stroke over: ENABLE must be off")
    }

    @Test func aSuspendWhileTheIntentIsWrittenMovesNothing() async {
        let (plant, motor, journal, c, wake, loop) = await heldIntent { FakeMotorDriver(plant: $0) }
        #expect(await c.handle(.suspend, now: wake, utcNanoseconds: 0).accepted)
        journal.release.fire()
        _ = await loop.value
        #expect(plant.totals.strokes == 0, "a stroke went out after the suspend")
        #expect(c.snapshot().scheduler.commandedStrokes == 0)
        #expect(!motor.isEnabled)
        #expect(c.snapshot().strokesInFlight == 0)
    }

    /// A step that never comes back is a driver fault once it has been under way longer than
    /// `strokeUnderWayLimit`, timed from the first watchdog tick that saw it: the watchdog halts
    /// (motor_driver_fault, recorded once) and cuts ENABLE, whether delivering or suspended with
    /// the stroke left to finish (outside review of the stroke race, 2026-12-05: suspended, ENABLE
    /// stayed on until the 15 s heartbeat ran out).
    @Test(arguments: [false, true]) func aHungStepIsADriverFaultOnceItsLimitHasPassed(suspended: Bool) async {
        let (plant, motor, c, wake, loop) = await heldStroke()
        if suspended { #expect(await c.handle(.suspend, now: wake, utcNanoseconds: 0).accepted) }
        let limit = SafetyLimits().strokeUnderWayLimit, tick = SafetyLimits().watchdogPeriod
        _ = await c.watchdogStep(now: wake)                 // the first tick to see the stroke
        _ = await c.watchdogStep(now: wake + limit)         // at the limit itself: still legitimate
        #expect(motor.inner.isEnabled, "cut before the limit: a slow stroke is not a fault")
        #expect(!c.snapshot().alarms.isActive(.motorDriverFault))
        let o = await c.watchdogStep(now: wake + limit + tick)
        #expect(o.state == .halted)
        #expect(c.snapshot().alarms.isActive(.motorDriverFault))
        #expect(!motor.inner.isEnabled, "ENABLE must be off once the step is overdue")
        _ = await c.watchdogStep(now: wake + limit + tick * 2)
        let reports = c.snapshot().events.filter { if case .motorError = $0.kind { true } else { false } }
        #expect(reports.count == 1, "an overdue step is reported once, not every tick: \(reports.count)")
        motor.release.fire()
        _ = await loop.value
        #expect(!motor.inner.isEnabled, "the step's return re-enabled a halted motor")
        #expect(plant.totals.strokes - plant.totals.strokesWhileDisabled == 0, "the hung stroke moved with ENABLE on after the cut")
    }

    /// The time the intent took to become durable is not the step's: a stroke that starts late
    /// after a slow (healthy) journal write is not a driver fault (outside review of the limit:
    /// the wake time was the stamp, so 2.2 s of storage made a 50 ms step "overdue" and halted).
    @Test func aSlowButHealthyIntentWriteIsNotAMotorDriverFault() async {
        let (_, motor, journal, c, wake, loop) = await heldIntent { HeldMotor(plant: $0) }
        _ = await c.watchdogStep(now: wake + Nanoseconds.milliseconds(1000))   // ticks while the intent waits
        journal.release.fire()
        await motor.started.wait()
        let o = await c.watchdogStep(now: wake + Nanoseconds.milliseconds(2250))
        #expect(!c.snapshot().alarms.isActive(.motorDriverFault), "a step just begun was called overdue")
        #expect(o.state == .delivering)
        motor.release.fire()
        _ = await loop.value
    }

    /// A hung step that then fails is one driver fault, not two (outside review of the limit).
    @Test func anOverdueStepThatThenFailsIsRecordedOnce() async {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = HeldMotor(plant: plant, failing: true)
        let c = controller(motor, plant: plant)
        let wake = MonotonicInstant(nanoseconds: 1_000_000_000)
        plant.advance(to: wake.nanoseconds)
        let loop = Task { await c.doseLoopStep(now: wake, utcNanoseconds: 0) }
        await motor.started.wait()
        let limit = SafetyLimits().strokeUnderWayLimit, tick = SafetyLimits().watchdogPeriod
        _ = await c.watchdogStep(now: wake)
        _ = await c.watchdogStep(now: wake + limit + tick)
        motor.release.fire()
        _ = await loop.value
        let reports = c.snapshot().events.filter { if case .motorError = $0.kind { true } else { false } }
        #expect(reports.count == 1, "one hung-then-failed stroke, \(reports.count) motor_error events")
        #expect(c.snapshot().scheduler.commandedStrokes == 1, "the failed step's stroke counts as given, once")
    }

    /// A fault is the other kind of stop: the watchdog cuts ENABLE at once, mid-stroke.
    @Test func aHaltDuringAStrokeCutsTheMotorAtOnce() async {
        let (plant, motor, c, wake, loop) = await heldStroke()
        plant.apply(.driverFault)
        let o = await c.watchdogStep(now: wake)
        #expect(o.state == .halted)
        #expect(!motor.inner.isEnabled, "a halt must not wait for the stroke")
        motor.release.fire()
        _ = await loop.value
        #expect(!motor.inner.isEnabled, "the dose loop re-enabled a halted motor")
        #expect(plant.totals.strokes - plant.totals.strokesWhileDisabled == 0, "nothing may move after a halt")
    }
}
