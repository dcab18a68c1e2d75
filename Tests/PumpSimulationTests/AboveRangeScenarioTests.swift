import Foundation
import PumpCore
import PumpSimulation
import Testing

/// A line that blocks while the pressure sensor is out is alarmed the moment the sensor is back,
/// although its pressure is then above what the sensor can show. Outside attack (2026-12-05): a
/// reading above the sensor's range was a failed read, a sensor fault, and delivery went on into
/// the blocked line for ever (the ceiling only counted readings it could see).
@Suite("Pressure above the sensor's range, simulated")
struct AboveRangeScenarioTests {
    /// Baclofen at 0.5 mL/day on the default line (250 nL strokes, 200 nL/mmHg, resting 10 mmHg):
    /// the sensor stops answering at 1 h, the catheter kinks at 2 h, the sensor is repaired at 12 h.
    /// By hand: 10 h × 0.5 mL/day = 208.3 µL = 833 strokes into the blocked line, 1.25 mmHg each:
    /// 1051 mmHg at 12 h, above both tops (the scenario's 950 and the default 1000). Four watchdog
    /// ticks (250 ms) above the top are the occlusion: alarmed and halted by 12 h + 1.25 s.
    @Test(arguments: [950.0, nil])
    func aLineThatBlockedWhileTheSensorWasOutIsAlarmedWhenItIsBack(sensorMaxMMHg: Double?) async throws {
        let repaired = 12 * 3600.0
        let plant = sensorMaxMMHg.map { ["sensor_max_mmhg": $0] } ?? [:]
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 14, plant: plant, events: [
            ["at": 3600, "type": "pressure_sensor_fault", "mode": "nack"],
            ["at": 7200, "type": "occlusion"],
            ["at": repaired, "type": "clear_sensor_fault"],
        ]))
        let occlusion = try #require(r.alarms.first { $0.type == "occlusion" }, "the blocked line was never alarmed")
        #expect(occlusion.at_s >= repaired && occlusion.at_s <= repaired + 1.25, "\(occlusion.at_s)")
        #expect(r.final_state == "halted" && r.halts.first?.reason == "occlusion")
        #expect(!r.alarms.contains { $0.type == "pressure_sensor_fault" && $0.at_s >= repaired }, "above range taken for a sensor fault")
    }

    /// A scenario's sensor must show the ceiling, as a board's must: a top under 900 mmHg is refused.
    @Test func aSensorTopBelowTheCeilingIsRefused() throws {
        do {
            _ = try scenario(baclofen(rateMlPerDay: 0.5, hours: 1, plant: ["sensor_max_mmhg": 318.75]))
            Issue.record("accepted")
        } catch let e as ValidationErrors {
            #expect(e.problems.contains { $0.path == "plant.sensor_max_mmhg" }, "\(e)")
        }
    }
}
