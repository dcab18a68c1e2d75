import Controller
import PumpCore
import PumpHAL
import PumpPlant
import PumpSync
import Testing

/// A pressure sensor whose bus does not acknowledge (a Raspberry Pi's EREMOTEIO, 121) while `failing`.
final class NoAckPressureSensor: PressureSensor {
    let plant: Plant
    let failing = Locked(true)
    init(plant: Plant) { self.plant = plant }
    nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg {
        if failing.withLock({ $0 }) { throw HALError(.noAcknowledge, errno: 121, "0x48: read") }
        return try plant.readPressure()
    }
}

/// Issue 19 finding 5: no read error is dropped on the way to the decision. Every failed read's
/// error reaches the core; one per device per minute is recorded with the count of the rest.
@Suite("Read errors reach the core")
struct ReadErrorTests {
    @Test func aFailingSensorsErrorIsRecordedOncePerMinuteWithTheCountOfTheRest() async {
        let plant = Plant(parameters: PlantParameters(), seed: 2)
        let sensor = NoAckPressureSensor(plant: plant)
        let c = plantController(motor: FakeMotorDriver(plant: plant), pressure: sensor, plant: plant, microgramsPerDay: 100, reservoirMillilitres: 20)
        // 130 s of watchdog ticks every 250 ms (t = 0, 0.25, …, 129.75 s): 520 failed reads, one per
        // tick (the second conversion is not tried after the first failed). Records at 0, 60 and
        // 120 s; each later one counts the 60 s × 4 − 1 = 239 reads in between.
        var nextDose = MonotonicInstant.zero
        for i in 0..<520 {
            let t = MonotonicInstant(nanoseconds: Int64(i) * 250_000_000)
            plant.advance(to: t.nanoseconds)
            if t >= nextDose { nextDose = await c.doseLoopStep(now: t, utcNanoseconds: 0) }
            _ = await c.watchdogStep(now: t)
        }
        let records = c.snapshot().events.compactMap { e -> (Double, ReadErrorRecord)? in
            if case .readError(let r) = e.kind { (e.at.seconds, r) } else { nil }
        }
        #expect(records.map(\.0) == [0, 60, 120])
        #expect(records.map(\.1.unrecordedBefore) == [0, 239, 239])
        #expect(records.allSatisfy { $0.1.device == .pressureSensor && $0.1.error == HALErrorSummary(kind: "no_acknowledge", errno: 121) })
        #expect(records.first?.1.description == "pressure_sensor: no_acknowledge errno 121")
        // The policy is the device's, whatever the kind: the sensor fault is raised, basal goes on.
        let s = c.snapshot()
        #expect(s.alarms.records.contains { $0.type == .pressureSensorFault })
        #expect(s.state == .delivering)
    }
}
