/// The simulator's entry point: runs a scenario in virtual time and returns its report.
import Controller
import PumpCore
import PumpPlant

/// Runs a scenario in virtual time against the fakes, driving the real controller in a fixed
/// order at each instant: scenario events, then the dose loop, then the watchdog. One seed
/// derives every random choice, so a scenario and seed give the same report, byte for byte.
/// The run itself, step by step, is `SimulationRun`.
public enum Simulator {
    public static func run(
        _ scenario: Scenario, seed: UInt64? = nil, progressEvery: Nanoseconds = .hours(1),
        inspect: ((SimulationStep) -> Void)? = nil,
        progress: (@Sendable (SimulationProgress) -> Void)? = nil,
        options: SimulationOptions = SimulationOptions(), trace: ((TraceRow) -> Void)? = nil
    ) async -> SimulationResult {
        var run = SimulationRun(scenario, seed: seed ?? scenario.seed, options: options,
                                hooks: SimulationRun.Hooks(progressEvery: progressEvery, inspect: inspect, progress: progress, trace: trace))
        defer { run.rig.journalFile.removeFolder() }
        await run.untilEnd()
        return run.finish()
    }
}

typealias SimController = PumpController<FakeMotorDriver, TappedPressureSensor, FakeBatteryGauge>
