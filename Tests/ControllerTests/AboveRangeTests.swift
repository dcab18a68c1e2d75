import Controller
import PumpCore
import PumpHAL
import PumpPlant
import PumpSync
import Testing

/// A transducer with a top: above it the read fails with `aboveRange`, as a saturated ADS1115
/// window or ABP2 output does; below `bottom` it fails with `invalidData` (a broken wire). A small
/// changing noise keeps it from ever reading "stuck".
final class TransducerWithTop: PressureSensor {
    let state = Locked<(mmHg: Double, k: Int)>((10, 0))
    let topMMHg: Double, bottomMMHg: Double
    init(topMMHg: Double, bottomMMHg: Double = -100) { (self.topMMHg, self.bottomMMHg) = (topMMHg, bottomMMHg) }
    func set(_ mmHg: Double) { state.withLock { $0.mmHg = mmHg } }
    nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg {
        let v = state.withLock { s in s.k += 1; return s.mmHg + (s.k % 2 == 0 ? 0.03 : -0.03) + Double(s.k % 7) * 0.01 }
        if v > topMMHg { throw HALError(.aboveRange, "above \(topMMHg) mmHg") }
        if v < bottomMMHg { throw HALError(.invalidData, "below \(bottomMMHg) mmHg") }
        return CentiMMHg(mmHg: v)
    }
}

/// A pressure above what the sensor can show is at least its top: evidence of a blocked line,
/// counted by the occlusion ceiling. Outside attack (2026-12-05): it was a failed read, so a
/// sensor fault (delivery goes on), and a blocked line whose pressure passed the top between two
/// ceiling counts, or while the sensor was out, was pushed into for ever.
@Suite("Pressure above the sensor's range")
struct AboveRangeTests {
    let tick = SafetyLimits().watchdogPeriod

    /// Delivers with the line at 50 mmHg, then the sensor reads above its top. `ticksAbove`
    /// watchdog ticks later: was the occlusion raised, was a sensor fault, is the motor on?
    func run(sensor: TransducerWithTop, to mmHg: Double, ticksAbove: Int) async -> (occlusion: Bool, sensorFault: Bool, state: TherapyState, motorOn: Bool) {
        let plant = Plant(parameters: PlantParameters(), seed: 3)
        let c = plantController(motor: FakeMotorDriver(plant: plant), pressure: sensor, plant: plant, microgramsPerDay: 1200)
        var t = MonotonicInstant.zero, nextDose = MonotonicInstant.zero
        func step() async {
            plant.advance(to: t.nanoseconds)
            if t >= nextDose { nextDose = await c.doseLoopStep(now: t, utcNanoseconds: 0) }
            _ = await c.watchdogStep(now: t)
            t = t + tick
        }
        sensor.set(50)
        for _ in 0..<20 { await step() }
        sensor.set(mmHg)
        for _ in 0..<ticksAbove { await step() }
        let s = c.snapshot()
        return (s.alarms.isActive(.occlusion), s.alarms.records.contains { $0.type == .pressureSensorFault }, s.state, FakeMotorDriver(plant: plant).isEnabled)
    }

    /// The bench board's transducer tops out at 1034.2 × 4250 / 4000 = 1098.8 mmHg (its 4750 mV
    /// window edge): four readings above it are an occlusion (the ceiling's count, 4), three are
    /// not yet; the halt cuts the motor; no sensor fault is raised.
    @Test func fourReadingsAboveTheTopAreAnOcclusion() async {
        let three = await run(sensor: TransducerWithTop(topMMHg: 1098.8), to: 5000, ticksAbove: 3)
        #expect(!three.occlusion && three.state == .delivering)
        let four = await run(sensor: TransducerWithTop(topMMHg: 1098.8), to: 5000, ticksAbove: 4)
        #expect(four.occlusion, "a pressure above the sensor's top was not an occlusion")
        #expect(four.state == .halted && !four.motorOn)
        #expect(!four.sensorFault, "a pressure above the top was taken for a sensor fault")
    }

    /// A sensor that shows more than the watchdog's plausible range (a 30 psi ABP2 reads 1200 mmHg):
    /// above 1000 mmHg is above range too, not a sensor fault.
    @Test func aReadingAboveThePlausibleRangeIsAnOcclusionNotAFault() async {
        let r = await run(sensor: TransducerWithTop(topMMHg: 1650), to: 1200, ticksAbove: 4)
        #expect(r.occlusion && r.state == .halted && !r.sensorFault)
    }

    /// The other side is unchanged: below the sensor's range is a broken wire or transducer, a
    /// sensor fault with basal going on (FaultTable: stopping baclofen is a hazard of its own).
    @Test func belowTheRangeStaysASensorFault() async {
        let r = await run(sensor: TransducerWithTop(topMMHg: 1098.8, bottomMMHg: -40), to: -300, ticksAbove: 12)
        #expect(r.sensorFault && !r.occlusion && r.state == .delivering)
    }

    /// Above-range readings and a frozen value: after an excursion above the top, the first live
    /// reading at the ceiling is counted even if it equals the one before the excursion.
    @Test func theDetectorCountsAboveRangeAndLiveReadingsTogether() {
        let limits = SafetyLimits()
        var d = OcclusionDetector(periodNanoseconds: 250_000_000, strokeVolume: Nanolitres(250), limits: limits)
        func at(_ k: Int) -> MonotonicInstant { MonotonicInstant(nanoseconds: Int64(k) * 250_000_000) }
        let high = limits.occlusionCeilingMMHg + 10
        d.tick(at: at(0), reading: high, delivering: true)
        d.tick(at: at(1), reading: nil, aboveRange: true, delivering: true)
        d.tick(at: at(2), reading: nil, aboveRange: true, delivering: true)
        #expect(!d.occluded)
        d.tick(at: at(3), reading: high, delivering: true)
        #expect(d.occluded, "1 live + 2 above range + 1 live (equal to the first) are 4 at or above the ceiling")
        // A failed read (not above range) holds the count; a reading below the ceiling resets it.
        var e = OcclusionDetector(periodNanoseconds: 250_000_000, strokeVolume: Nanolitres(250), limits: limits)
        e.tick(at: at(0), reading: nil, aboveRange: true, delivering: true)
        e.tick(at: at(1), reading: nil, delivering: true)
        e.tick(at: at(2), reading: nil, aboveRange: true, delivering: true)
        e.tick(at: at(3), reading: 100, delivering: true)
        e.tick(at: at(4), reading: nil, aboveRange: true, delivering: true)
        e.tick(at: at(5), reading: nil, aboveRange: true, delivering: true)
        #expect(!e.occluded)
        e.tick(at: at(6), reading: nil, aboveRange: true, delivering: true)
        #expect(!e.occluded)
        e.tick(at: at(7), reading: nil, aboveRange: true, delivering: true)
        #expect(e.occluded)
    }
}
