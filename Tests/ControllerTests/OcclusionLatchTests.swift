import Controller
import PumpCore
import PumpFakes
import PumpPlant
import PumpHAL
import PumpSync
import Testing

/// A pressure sensor the test sets (a small changing noise, so it is never "stuck").
final class ScriptedPressure: PressureSensor {
    let state = Locked<(mmHg: Double, k: Int)>((10, 0))
    func set(_ mmHg: Double) { state.withLock { $0.mmHg = mmHg } }
    nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg {
        state.withLock { s in s.k += 1; return CentiMMHg(mmHg: s.mmHg + (s.k % 2 == 0 ? 0.03 : -0.03) + Double(s.k % 7) * 0.01) }
    }
}

/// The occlusion latch is the alarm book's: what the detector finds is raised at once.
@Suite("Occlusion latch")
struct OcclusionLatchTests {
    /// A pressure no open line can hold, seen while suspended, before the detector could judge
    /// "the cause is gone": the alarm rises then (the pump halts) and the resume is refused until
    /// a clinician clears it. Outside review of moving the latch (2026-12-05): the finding lived one
    /// tick, and the resume delivered into the line just seen blocked.
    @Test func aCeilingOcclusionFoundWhileSuspendedIsRaisedAndBlocksTheResume() async {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let pressure = ScriptedPressure()
        let c = plantController(motor: FakeMotorDriver(plant: plant), pressure: pressure, plant: plant)
        let tick = SafetyLimits().watchdogPeriod
        var t = MonotonicInstant(nanoseconds: 0)
        #expect(await c.handle(.suspend, now: t, utcNanoseconds: 0).accepted)
        pressure.set(SafetyLimits().occlusionCeilingMMHg + 20)
        for _ in 0..<8 { t = t + tick; _ = await c.watchdogStep(now: t) }
        #expect(c.snapshot().alarms.isActive(.occlusion), "a blocked line seen while suspended raised nothing")
        pressure.set(300)
        for _ in 0..<4 { t = t + tick; _ = await c.watchdogStep(now: t) }
        #expect(!(await c.handle(.resume, now: t, utcNanoseconds: 0).accepted), "resumed into a line just seen blocked")
        t = t + tick
        _ = await c.watchdogStep(now: t)
        #expect(c.snapshot().state != .delivering)
        #expect(c.snapshot().occlusion.latchedRestingMMHg == nil || c.snapshot().alarms.isActive(.occlusion),
                "a latched resting level with no occlusion alarm")
    }
}
