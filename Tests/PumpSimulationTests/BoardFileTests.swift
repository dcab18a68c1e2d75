import Foundation
import Testing
import PumpCore
import PumpFakes

/// Boards/simulated.json documents the built-in simulated board; it must say what the code does.
@Test func simulatedBoardFileMatchesTheBuiltInDefaults() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Boards/simulated.json")
    let board = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let motor = try #require(board["motor"] as? [String: Any])
    let sensor = try #require(board["pressure_sensor"] as? [String: Any])
    let gauge = try #require(board["battery_gauge"] as? [String: Any])
    let watchdog = try #require(board["watchdog"] as? [String: Any])
    let plant = PlantParameters(), limits = SafetyLimits()
    #expect(motor["stroke_volume_nl"] as? Int64 == plant.strokeVolume.value)
    #expect(motor["encoder_counts_per_stroke"] as? Int64 == plant.encoderCountsPerStroke)
    #expect(motor["max_total_rate_ml_per_day"] as? Int64 == PumpLimits.maximumTotalRateNanolitresPerDay / 1_000_000)
    #expect(sensor["adc_noise_floor_mmhg"] as? Double == plant.sensorFloorMMHg)
    #expect(sensor["plausible_range_mmhg"] as? [Double] == [limits.pressureRangeMMHg.lowerBound, limits.pressureRangeMMHg.upperBound])
    #expect(gauge["drain_percent_per_day"] as? Double == plant.batteryDrainPercentPerDay)
    #expect(gauge["drain_percent_per_stroke"] as? Double == plant.batteryDrainPercentPerStroke)
    #expect(watchdog["period_ms"] as? Int64 == limits.watchdogPeriod.value / 1_000_000)
    #expect(watchdog["battery_period_ms"] as? Int64 == limits.batteryPeriod.value / 1_000_000)
}
