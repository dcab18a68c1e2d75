import Foundation
import Testing
import PumpCore
import PumpSimulation

@Suite("Scenario files")
struct ScenarioTests {
    static let valid = """
    {"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500},
     "prescription": {"mode": "continuous", "daily_dose_ug": 250}}
    """

    @Test func minimalScenarioTakesTheDefaults() throws {
        let s = try Scenario.parse(Data(Self.valid.utf8))
        #expect(s.name == "unnamed" && s.seed == 1 && s.duration == .days(1))
        #expect(s.plant.strokeVolume.value == 250 && s.plant.complianceNanolitresPerMMHg == 200)
        #expect(s.plant.resistanceMMHgSecondsPerNanolitre == 0.05 && s.plant.baselineMMHg == 10)
        #expect(s.plant.pressureNoiseMMHg == 0.3 && s.plant.batteryPercent == 100)
        #expect(s.reservoirCapacity == .millilitres(20) && s.plant.reservoirFill == .millilitres(20))
        #expect(s.startUTCSeconds == 1_767_225_600 && s.zone.identifier == "UTC")
    }

    @Test(arguments: ["90m", "5400", "1.5h", "5400s"])
    func durations(text: String) throws {
        let value = text == "5400" ? "5400" : "\"\(text)\""
        let s = try Scenario.parse(Data(Self.valid.replacingOccurrences(of: "\"1d\"", with: value).utf8))
        #expect(s.duration == .seconds(5400))
    }

    /// Each invalid scenario is refused with the offending field named, in one line.
    static let invalid: [(String, String)] = [
        (#"{"drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "duration"),
        (#"{"duration": "4x", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "duration"),
        (#"{"duration": -5, "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "duration"),
        (#"{"duration": "1d", "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "drug"),
        (#"{"duration": "1d", "drug": {"name": "heroin", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "drug.name"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": "500"}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "drug.concentration_ug_per_ml"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}}"#, "prescription"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "flex", "steps": [{"start": "00:00", "daily_dose_ug": 200}, {"start": "7:00", "daily_dose_ug": 200}]}}"#, "prescription.steps[1].start"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "plant": {"stroke_volume_nl": 5000}}"#, "plant.stroke_volume_nl"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "plant": {"resistance_mmhg_s_per_nl": 1}}"#, "plant.resistance_mmhg_s_per_nl"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "plant": {"colour": "red"}}"#, "plant.colour"),
        (#"{"duration": "1d", "durration": "2d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#, "durration"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "reservoir": {"capacity_ml": 20, "fill_ml": 30}}"#, "reservoir.fill_ml"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "events": [{"at": "2d", "type": "occlusion"}]}"#, "events[0].at"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "events": [{"at": "1h", "type": "meteor"}]}"#, "events[0].type"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "events": [{"at": "1h", "type": "occlusion", "fraction": 2}]}"#, "events[0].fraction"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "events": [{"at": "1h", "type": "pressure_sensor_fault", "mode": "melted"}]}"#, "events[0].mode"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "events": [{"at": "1h", "type": "cough", "over": "10s"}]}"#, "events[0].over"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "events": [{"at": "1h", "type": "refill", "withdrawn_ml": 1}]}"#, "events[0].added_ml"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "start": {"at": "2026-13-01T00:00:00", "zone": "UTC"}}"#, "start.at"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "start": {"at": "2026-01-01T00:00:00", "zone": "Mars/Olympus"}}"#, "start.zone"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "seed": 1.5}"#, "seed"),
        (#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250, "patient_bolus": {"dose_ug": 10, "lockout": "1h"}}}"#, "prescription.patient_bolus.max_per_day"),
        (#"[1, 2, 3]"#, "(file)"),
        (#"{"duration": "1d", "drug": {"name": "baclofen""#, "(file)"),
        (#"{"duration": NaN}"#, "(file)"),
    ]

    @Test(arguments: invalid.indices)
    func invalidScenarioNamesTheField(index: Int) {
        let (json, path) = Self.invalid[index]
        do {
            _ = try Scenario.parse(Data(json.utf8))
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.problems.contains { $0.path == path }, "wanted \(path), got \(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func notUTF8IsRefusedNotCrashed() {
        var bytes = Array(Self.valid.utf8)
        bytes[10] = 0xFF
        #expect(throws: ValidationErrors.self) { try Scenario.parse(Data(bytes)) }
    }
}
