import Foundation
import PumpCore
import PumpSimulation
import Testing

/// docs/scenarios.md's `refill` event, run by the simulator through the controller's refill workflow.
@Suite("Refill in the simulator")
struct RefillTests {
    @Test func aRefillThatMatchesTheReservoirIsWithinTolerance() async throws {
        // 0.5 mL/day for 4 days from 10 mL: the reservoir holds 8 mL; by default the clinician
        // withdraws exactly what the plant holds.
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 96, events: [["at": "96h", "type": "refill", "added_ml": 20]], fillMl: 10))
        #expect(r.refills.count == 1)
        let f = r.refills[0]
        #expect(abs(f.expected_ul - 8000) <= 0.25 + 1e-9 && abs(f.withdrawn_ul - 8000) <= 0.5)
        #expect(!f.beyond_tolerance && !r.alarms.contains { $0.type == "refill_discrepancy" })
        #expect(r.commands.contains { $0.type == "refill" && $0.accepted })
    }

    @Test func aRefillWithADiscrepancyAlarmsAndDeliveryContinues() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 72, events: [
            ["at": "48h", "type": "refill", "withdrawn_ml": 7.5, "added_ml": 20],          // 9 mL expected: 1.5 mL missing
            ["at": "49h", "type": "patient_bolus"],
        ], fillMl: 10))
        let f = r.refills[0]
        #expect(f.beyond_tolerance && abs(f.discrepancy_ul + 1500) < 1)
        #expect(r.alarms.contains { $0.type == "refill_discrepancy" && $0.priority == "medium" })
        #expect(r.final_state == "delivering")
        #expect(r.boluses.first?.reason == "blocked_by_alarm")
    }

    /// 50 → 100 µg/mL at 250 µg/day (5 mL/day): the stroke plan halves after the bridge, the
    /// dose stays, and a power loss afterwards restarts with the new concentration from the journal.
    @Test func aConcentrationChangeKeepsTheDoseAcrossAPowerLoss() async throws {
        let r = try await run(baclofen(rateMlPerDay: 5, hours: 4, events: [
            ["at": "1h", "type": "refill", "added_ml": 20, "concentration_ug_per_ml": 100],
            ["at": "3h", "type": "power_loss"],
        ], fillMl: 20))
        let f = r.refills[0]
        #expect(f.new_concentration_ug_per_ml == 100 && f.bridge_s == 4320)       // 0.25 mL at 5 mL/day
        // Volume: 1 h and the 1.2 h bridge at 5 mL/day, then 1.8 h at 2.5 mL/day.
        let expectedUl = (2.2 * 5 + 1.8 * 2.5) / 24 * 1000
        #expect(abs(r.programmed_ul - expectedUl) < 1, "\(r.programmed_ul)")
        // The dose: 250 µg/day throughout (4 h: 41.67 µg).
        #expect(abs(r.programmed_ug - 250.0 / 6) < 0.1, "\(r.programmed_ug)")
        #expect(r.final_state == "delivering")
    }

    @Test func badRefillFieldsNameTheField() throws {
        let cases: [([String: Any], String)] = [
            (["at": "1h", "type": "refill"], "events[0].added_ml"),
            (["at": "1h", "type": "refill", "added_ml": -1], "events[0].added_ml"),
            (["at": "1h", "type": "refill", "added_ml": 5, "withdrawn_ml": "x"], "events[0].withdrawn_ml"),
            (["at": "1h", "type": "refill", "added_ml": 5, "concentration_ug_per_ml": 2e6], "events[0].concentration_ug_per_ml"),
            (["at": "1h", "type": "refill", "added_ml": 5, "dead_space_ml": 9], "events[0].dead_space_ml"),
            (["at": "1h", "type": "refill", "added_ml": 5, "bridge": 1], "events[0].bridge"),
            (["at": "1h", "type": "refill", "added_ml": 5, "volume": 1], "events[0].volume"),
        ]
        for (event, field) in cases {
            do {
                _ = try scenario(baclofen(rateMlPerDay: 0.5, hours: 2, events: [event]))
                Issue.record("accepted \(event)")
            } catch let e as ValidationErrors {
                #expect(e.problems.contains { $0.path == field }, "\(e)")
            }
        }
    }
}
