import Foundation
import PumpCore
import PumpSimulation
import Testing

/// docs/scenarios.md's `power_loss`: the controller dies at once and restarts from its journal (a real
/// SQLite file), wherever its intent/confirm cycle was.
@Suite("Power loss")
struct PowerLossTests {
    /// 5 mL/day: a stroke every 4.3 s; losses at instants spread over the stroke cycle, so they
    /// fall before, between and after intents, motion and confirmations.
    @Test(arguments: [0.0, 1.1, 2.2, 3.3])
    func deliveryContinuesWithoutRepeatingAnything(offsetSeconds: Double) async throws {
        let losses = (1...5).map { ["at": 600.0 * Double($0) + offsetSeconds, "type": "power_loss"] as [String: Any] }
        let r = try await run(baclofen(rateMlPerDay: 5, hours: 1, events: losses))
        let stroke = 0.25
        #expect(r.final_state == "delivering")
        // Never more than programmed + 1 stroke, at any restart point.
        #expect(r.delivered_ul <= r.programmed_ul + stroke + 1e-9)
        // Uncertain strokes count as delivered, so the motor lags the ledger by at most them.
        #expect(r.commanded_ul >= r.programmed_ul - stroke - 1e-9 || r.alarms.contains { $0.type == "delivery_uncertain" })
        // What each loss costs is bounded by the journal's lookahead (5 s at this rate: 2 strokes).
        let hourly = 5.0 / 24 * 1000
        #expect(r.delivered_ul >= hourly - 5 * 3 * stroke - 1, "delivered \(r.delivered_ul) µL of \(hourly)")
        #expect(r.alarms.filter { $0.type == "delivery_uncertain" }.count <= 5)
        #expect(r.halts.isEmpty)
    }

    @Test func aHaltSurvivesAPowerLossAndNothingRestartsByItself() async throws {
        let r = try await run(baclofen(rateMlPerDay: 5, hours: 1, events: [
            ["at": 900, "type": "occlusion"], ["at": 1800, "type": "clear_occlusion"], ["at": 2400, "type": "power_loss"],
        ]))
        #expect(r.final_state == "halted")
        #expect(r.halts.count == 1 && r.halts[0].reason == "occlusion")
        #expect(r.alarms.filter { $0.type == "occlusion" }.count == 1, "the restored alarm is the same alarm")
        // Nothing was stroked after the halt, before or after the restart.
        let haltedAt = r.halts[0].at_s
        #expect(r.commanded_ul <= (haltedAt / 86_400 * 5000) + 0.5)
    }

    @Test func aBolusCutByAPowerLossIsNotResumedAndTheLockoutHolds() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 2, events: [
            ["at": 600, "type": "patient_bolus"], ["at": 660, "type": "power_loss"], ["at": 700, "type": "patient_bolus"],
        ], prescription: ["patient_bolus": ["dose_ug": 10, "over": "10m", "lockout": "1h", "max_per_day": 4]]))
        #expect(r.boluses.count == 2 && r.boluses[0].accepted && !r.boluses[1].accepted && r.boluses[1].reason == "lockout")
        // The bolus (20 µL over 10 min) ran 1 minute: about 2 µL, not 20.
        let basal = 0.5 / 24 * 2 * 1000
        #expect(r.programmed_ul < basal + 3 && r.delivered_ul <= r.programmed_ul + 0.25)
    }

    @Test func aSeedReplaysExactlyWithPowerLosses() async throws {
        let s = baclofen(rateMlPerDay: 5, hours: 0.5, events: [["at": 333.3, "type": "power_loss"], ["at": 999.9, "type": "power_loss"]])
        let a = try await run(s), b = try await run(s)
        #expect(a == b)
    }
}
