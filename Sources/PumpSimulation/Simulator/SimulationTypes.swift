/// What a simulation run takes beyond the scenario and what it gives back: progress, steps for
/// invariant checks, trace rows, options, the result.
import Controller
import PumpCore
import PumpPlant

/// What the simulator reports while it runs.
public struct SimulationProgress: Sendable {
    public var simulated: Nanoseconds
    public var duration: Nanoseconds
    public var delivered: Nanolitres
    public var state: TherapyState
    public var alarms: Int
}

/// What the controller looked like after one step (for invariant checks such as the fault swarm's).
public struct SimulationStep: Sendable {
    public var at: Nanoseconds
    public var commandedStrokes: Int64
    /// Strokes counted as delivered after power losses although never confirmed (the restart
    /// rule: never repeated), so `commandedStrokes` minus these is what was confirmed.
    public var uncertainStrokes: Int64
    /// Strokes the plant really made while the motor was enabled.
    public var plantStrokes: Int64
    /// Programme accrued before power losses but after the last checkpoint each restart found:
    /// a restart continues from that checkpoint (≤ 200 ms old) and does not accrue it again.
    public var programmeLostAtRestarts: Nanolitres
    public var programmed: Nanolitres
    public var state: TherapyState
}

/// One row of `pumpctl simulate --trace`: what a bench's data logger would record at a watchdog
/// tick (the pressure reading the controller took, the motor, the balance, the state).
public struct TraceRow: Sendable {
    public var at: Nanoseconds
    /// nil: the read failed.
    public var pressure: CentiMMHg?
    /// Strokes the plant made (the controller's, and the conventional pump's in bench mode).
    public var plantStrokes: Int64
    public var commandedStrokes: Int64
    /// The balance: volume delivered to the patient.
    public var delivered: Nanolitres
    public var state: TherapyState
}

/// Optional behaviour of a run beyond the scenario.
public struct SimulationOptions: Sendable {
    /// Trace rows from `traceFrom` to `traceTo`, one every `traceEvery` (rounded to watchdog ticks).
    public var traceFrom = Nanoseconds.zero
    public var traceTo = Nanoseconds(.max)
    public var traceEvery = Nanoseconds.milliseconds(250)
    /// Bench mode for comparing detectors in one run: once our controller halts on an occlusion,
    /// the motor keeps stroking at the programme's basal rate as a conventional pump would,
    /// until the fixed-threshold baseline alarms (the controller itself is unchanged).
    public var conventionalAfterHalt = false
    /// Keep the run's journal at this path (a provisioned, empty journal: `JournalStorage.provision`)
    /// and close it cleanly at the end, as a stopped pumpd would: a pumpd started on it continues from
    /// it, the occlusion learner's memory included (the HIL starts its long case this way).
    public var journalOut: String?
    public init() {}
}

public struct SimulationResult: Sendable {
    public var report: Report
    /// The plant's drug against the independent reference (`DosingJudge.swift`).
    public var dosing: DosingRecord
    /// The controller's state at the end (event log, learned line, ledger).
    public var controller: ControllerCore
    public var plant: Plant.Totals
}
