import Foundation
import Testing
import PumpSimulation

@Suite("Faults and limits in simulation")
struct FaultTests {
    @Test(arguments: [("encoder_slip", 0.2), ("motor_stall", 0.0)])
    func motionMismatchHalts(type: String, fraction: Double) async throws {
        var e: [String: Any] = ["at": "2h", "type": type]
        if type == "encoder_slip" { e["fraction"] = fraction }
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 4, events: [e]))
        let f = try #require(r.faults.first)
        #expect(f.alarm == "motion_mismatch")
        // Tolerance: 10 % of the last 16 strokes' motion, at least one stroke's: a stall shows within
        // 2 strokes, a 20 % slip within ⌈1.6 / 0.2⌉ = 8.
        #expect(f.strokes_since_fault <= (type == "motor_stall" ? 2 : 8))
        #expect(r.final_state == "halted" && r.halts.first?.reason == "motion_mismatch")
        #expect(besidesTheStopAlarm(r).map(\.type) == ["motion_mismatch"])      // and nothing else (no phantom occlusion)
        #expect(r.alarms.first?.priority == "high")
        // Less reached the patient than was commanded, and the ledger knew to stop.
        #expect(r.delivered_ul < r.commanded_ul)
    }

    @Test func slipInsideToleranceIsNotAlarmed() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 6, events: [["at": "1h", "type": "encoder_slip", "fraction": 0.05]]))
        #expect(r.alarms.isEmpty && r.faults.first?.detected_at_s == nil)
    }

    @Test(arguments: ["nack", "stuck", "noise"])
    func sensorFaultIsATechnicalAlarmWithinThreeSeconds(mode: String) async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 3, events: [
            ["at": 3600.1, "type": "pressure_sensor_fault", "mode": mode],
            ["at": "2h", "type": "clear_sensor_fault"],
            ["at": "2.5h", "type": "acknowledge"],
        ]))
        let f = try #require(r.faults.first)
        #expect(f.alarm == "pressure_sensor_fault")
        #expect(try #require(f.latency_s) <= 3, "\(mode): \(f.latency_s ?? -1) s")
        let a = try #require(r.alarms.first)
        #expect(a.priority == "medium" && a.cleared_at_s == 9000)
        // Delivery went on: stopping would risk withdrawal.
        #expect(r.final_state == "delivering" && r.halts.isEmpty)
        #expect(abs(r.commanded_ul - r.programmed_ul) < 0.25)
    }

    @Test func batteryElectiveReplacementThenEndOfService() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 5, events: [
            ["at": "1h", "type": "battery", "percent": 14],
            ["at": "3h", "type": "battery", "percent": 4],
        ]))
        #expect(r.faults.map { $0.alarm ?? "" } == ["battery_elective_replacement", "battery_end_of_service"])
        #expect(r.faults.allSatisfy { ($0.latency_s ?? 99) <= 10 })
        #expect(besidesTheStopAlarm(r).map(\.priority) == ["medium", "high"])
        #expect(r.halts.map(\.reason) == ["battery_end_of_service"])
        #expect(abs(try #require(r.halts.first?.at_s) - 3 * 3600) <= 10)
    }

    @Test func emptyReservoirStopsWithAHighAlarmAfterTheLowOne() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 24 * 6, fillMl: 2.5))
        #expect(besidesTheStopAlarm(r).map(\.type) == ["reservoir_low", "reservoir_empty"])
        #expect(besidesTheStopAlarm(r).map(\.priority) == ["medium", "high"])
        // Low at 2 mL: one day in.
        #expect(abs(r.alarms[0].at_s - 86_400) < 60)
        #expect(r.final_state == "halted" && r.halts.first?.reason == "reservoir_empty")
        #expect(r.commanded_ul <= 2500 && r.commanded_ul > 2500 - 0.25)
    }

    @Test func patientBolusLockoutAndDailyMaximum() async throws {
        let presses = [10.0, 10.5, 11, 12, 13, 14, 35].map { ["at": $0 * 3600, "type": "patient_bolus"] as [String: Any] }
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 36, events: presses))
        #expect(r.boluses.map(\.accepted) == [true, false, true, true, true, false, true])
        #expect(r.boluses.map { $0.reason ?? "" } == ["", "lockout", "", "", "", "daily_maximum", ""])
        // Four boluses of 10 µg = 80 µL on top of 36 h of 0.5 mL/day; the fifth accepted one ran 1 h.
        #expect(abs(r.programmed_ul - (750 + 5 * 20)) < 0.01)
    }

    @Test func rollingCapRefusesABolusThatWouldExceedIt() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 8, events: [
            ["at": "1h", "type": "clinician_bolus", "dose_ug": 20, "over": "10m"],
            ["at": "3h", "type": "patient_bolus"],
            ["at": "5h", "type": "clinician_bolus", "dose_ug": 5, "over": "10m"],
        ], prescription: ["daily_cap_ug": 275]))     // 250 basal + 25 of boluses
        #expect(r.boluses.map(\.accepted) == [true, false, true])
        #expect(r.boluses[1].reason == "daily_cap")
    }

    @Test func hungDoseLoopIsHaltedByTheWatchdog() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 2, events: [["at": "1h", "type": "dose_loop_hang"]]))
        let f = try #require(r.faults.first)
        #expect(f.alarm == "dose_loop_stalled")
        #expect(try #require(f.latency_s) <= 15.25 + 5)        // timeout plus at most one dose-loop sleep
        #expect(r.final_state == "halted" && r.alarms.first?.priority == "high")
    }

    @Test func suspendAndResumeAreClinicianOnly() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 6, events: [
            ["at": "1h", "type": "suspend"], ["at": "2h", "type": "patient_bolus"], ["at": "3h", "type": "resume"],
        ]))
        #expect(r.commands.map(\.type) == ["suspend", "resume"])
        #expect(r.boluses.first?.reason == "not_delivering")
        #expect(abs(r.programmed_ul - 500 * 4 / 24) < 0.01)     // 4 of 6 hours
        #expect(r.final_state == "delivering")
    }

    /// A wall clock that was never set (before 2020): the flex step in force is unknown, so the
    /// lowest step runs (minimum-rate policy), patient boluses are refused, and a medium alarm says why.
    @Test func unsetWallClockRunsTheLowestStep() async throws {
        let s = baclofen(rateMlPerDay: 0.5, hours: 24, events: [["at": "1h", "type": "patient_bolus"]],
                         extra: ["start": ["at": "1970-01-01T00:00:00", "zone": "UTC"]],
                         prescription: ["mode": "flex", "steps": [["start": "00:00", "daily_dose_ug": 100],
                                                                  ["start": "08:00", "daily_dose_ug": 300]]])
        let r = try await run(s)
        #expect(r.alarms.map(\.type) == ["wall_clock_invalid"] && r.alarms[0].priority == "medium")
        #expect(r.boluses.first?.reason == "blocked_by_alarm")
        #expect(abs(r.programmed_ug - 100) < 0.001)          // 24 h at the lowest step, 100 µg/day
        #expect(r.final_state == "delivering")
    }

    @Test func flexScheduleFollowsBerlinTimeAcrossSpringForward() async throws {
        // From local midnight of 2026-03-29 for 23 h (the whole local day).
        let s = baclofen(rateMlPerDay: 0.5, hours: 23, extra: ["start": ["at": "2026-03-29T00:00:00", "zone": "Europe/Berlin"]],
                         prescription: ["mode": "flex", "steps": [["start": "00:00", "daily_dose_ug": 100],
                                                                  ["start": "02:30", "daily_dose_ug": 200],
                                                                  ["start": "08:00", "daily_dose_ug": 300]]])
        let r = try await run(s)
        // 2 h at 100 + 5 h at 200 + 16 h at 300 µg/day = 250 µg.
        #expect(abs(r.programmed_ug - 250) < 0.001)
    }
}

@Suite("Determinism and the report")
struct ReportTests {
    @Test func sameSeedSameBytesOtherSeedOtherBytes() async throws {
        let s = try Scenario.parse(Data(BuiltInScenarios.demo.utf8))
        let a = await Simulator.run(s).report.json()
        let b = await Simulator.run(s).report.json()
        let c = await Simulator.run(s, seed: 8).report.json()
        #expect(a == b)
        #expect(a != c)
    }

    @Test func demoIsTheScenariosExampleAndEndsHalted() async throws {
        let r = await Simulator.run(try Scenario.parse(Data(BuiltInScenarios.demo.utf8))).report
        #expect(r.scenario == "kink on day 3" && r.seed == 7 && r.duration_s == 345_600)
        #expect(r.boluses.count == 1 && r.boluses[0].accepted && r.boluses[0].requested_at_s == 36_000)
        #expect(r.final_state == "halted" && r.halts.first?.reason == "occlusion")
        let f = try #require(r.faults.first)
        #expect(f.at_s == 259_200 && f.strokes_since_fault <= 4)
        #expect(r.stroke_volume_ul == 0.25)
        #expect(r.delivered_ul <= r.commanded_ul && r.commanded_ul <= r.programmed_ul)
        let text = ReportSummary.text(r)
        #expect(text.contains("occlusion") && text.contains("Final:     halted"))
    }

    @Test func reportCarriesEveryContractFieldWithNulls() async throws {
        let r = try await run(baclofen(rateMlPerDay: 0.5, hours: 2, events: [["at": "1h", "type": "leak", "fraction": 0.1]]))
        let json = try #require(JSONSerialization.jsonObject(with: r.json()) as? [String: Any])
        for key in ["scenario", "seed", "duration_s", "stroke_volume_ul", "programmed_ul", "commanded_ul", "delivered_ul",
                    "programmed_ug", "delivered_ug", "final_state", "alarms", "halts", "faults", "boluses"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let fault = try #require((json["faults"] as? [[String: Any]])?.first)
        #expect(fault["detected_at_s"] is NSNull && fault["latency_s"] is NSNull && fault["alarm"] is NSNull)
        #expect(fault["type"] as? String == "leak")
        // A 10 % leak: the patient got less than was commanded.
        #expect(r.delivered_ul < r.commanded_ul * 0.95)
    }
}
