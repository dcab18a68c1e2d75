/// One simulation run's state and its clock: sets the run up, picks each next instant, and
/// builds the result at the end. The steps at an instant are in `SimulationRun+Events.swift`
/// (scenario events) and `SimulationRun+Loops.swift` (the dose loop and the watchdog).
import Controller
import PumpCore
import PumpJournal
import PumpPlant

struct SimulationRun {
    // What the run was given, and the rig it runs on.
    let scenario: Scenario
    let seed: UInt64
    let options: SimulationOptions
    let hooks: Hooks
    let rig: SimulatedRig

    /// The controller's lives: those before each power loss (their last state), then the one in
    /// force with its journal, and what that one restored.
    var lives: [ReportBuilder.Life] = []
    var journal: SQLiteJournal.Start?
    var controller: SimController
    var restoredAlarms = 0, restoredBoluses = 0
    var uncertainStrokes: Int64 = 0
    var programmeLost = Nanolitres.zero
    var knownAlarms = 0

    // What the report is built from.
    var tracker: FaultTracker
    var dosing = DosingRecorder()
    var baseline = FixedThresholdDetector()
    var commands: [Report.Command] = []
    var refills: [Report.Refill] = []

    /// The scenario's events and the random coughs, in time order, and the next to apply.
    let events: [ScenarioEvent]
    var eventIndex = 0
    // When each loop wakes next (the dose loop not at all after a hang, until a restart).
    var nextDose: Int64 = 0
    var nextWatchdog: Int64 = 0
    var nextProgress: Int64 = 0
    var nextTrace: Int64
    var doseLoopAlive = true
    // Bench mode: the conventional pump's next stroke after our halt, and the plant's strokes
    // at the first occlusion (the baseline's volume is counted from there).
    var nextConventional = Int64.max
    let conventionalInterval: Int64
    var strokesAtOcclusion: Int64?

    /// What the caller watches the run with.
    struct Hooks {
        var progressEvery: Nanoseconds
        var inspect: ((SimulationStep) -> Void)?
        var progress: (@Sendable (SimulationProgress) -> Void)?
        var trace: ((TraceRow) -> Void)?
    }

    var plant: Plant { rig.plant }
    var startUTC: Int64 { scenario.startUTCSeconds * 1_000_000_000 }
    var end: Int64 { scenario.duration.value }
    var period: Int64 { rig.config.limits.watchdogPeriod.value }

    init(_ scenario: Scenario, seed: UInt64, options: SimulationOptions, hooks: Hooks) {
        self.scenario = scenario
        self.seed = seed
        self.options = options
        self.hooks = hooks
        var seeds = SplitMix64(seed: seed)
        let plant = Plant(parameters: scenario.plant, seed: seeds.next())
        var coughRNG = Xoshiro256(seed: seeds.next())
        var limits = SafetyLimits()
        limits.lowReservoir = scenario.lowReservoirAlarm
        let config = ControllerConfiguration(
            prescription: scenario.prescription, strokeVolume: scenario.plant.strokeVolume,
            encoderCountsPerStroke: scenario.plant.encoderCountsPerStroke, reservoirCapacity: scenario.reservoirCapacity,
            reservoirFill: scenario.plant.reservoirFill, limits: limits, zone: scenario.zone)
        let startUTC = scenario.startUTCSeconds * 1_000_000_000
        rig = SimulatedRig(plant: plant, motor: FakeMotorDriver(plant: plant), sensor: TappedPressureSensor(FakePressureSensor(plant: plant)),
                           config: config, journalFile: SimulationJournalFile(scenario: scenario, startUTC: startUTC, journalOut: options.journalOut))
        (journal, controller) = rig.start(at: 0, utcNanoseconds: startUTC, restoring: false)
        events = BackgroundCoughs.events(of: scenario, rng: &coughRNG)
        tracker = FaultTracker(strokeVolume: scenario.plant.strokeVolume, limits: limits)
        nextTrace = options.traceFrom.value
        conventionalInterval = Int64((Double(scenario.plant.strokeVolume.value) * Double(Nanoseconds.perDay)
            / max(1, scenario.prescription.nanolitresPerDay(scenario.prescription.basal.maximumDailyDose))).rounded())
    }

    /// Runs instant by instant to the scenario's end: at each, the conventional pump's stroke (bench
    /// mode), then a scenario event, or else the dose loop and the watchdog.
    mutating func untilEnd() async {
        while true {
            let nextEvent = eventIndex < events.count ? events[eventIndex].at.value : .max
            let t = min(nextEvent, doseLoopAlive ? nextDose : .max, nextWatchdog, nextConventional)
            guard t <= end else { break }
            plant.advance(to: t)
            if t == nextConventional {
                conventionalStroke(at: t)
                if t != nextWatchdog, t != nextEvent, !(doseLoopAlive && t == nextDose) { continue }
            }
            if nextEvent == t {
                let e = events[eventIndex]
                eventIndex += 1
                await apply(e, at: t)
                continue
            }
            await loopSteps(at: t)
        }
    }

    /// The end: the plant and the programme brought to the scenario's end, the kept journal closed,
    /// the report built.
    mutating func finish() -> SimulationResult {
        plant.advance(to: end)
        controller.withCore { $0.advanceProgramme(to: MonotonicInstant(nanoseconds: end)) }
        if options.journalOut != nil, let j = journal?.journal {
            controller.flushJournal(now: MonotonicInstant(nanoseconds: end), utcNanoseconds: startUTC + end)
            j.close(confirmedStrokes: controller.snapshot().scheduler.commandedStrokes, utcNanoseconds: startUTC + end)
        }
        let core = controller.snapshot()
        let totals = plant.totals
        let allLives = lives + [ReportBuilder.Life(core: core, restoredAlarms: restoredAlarms, restoredBoluses: restoredBoluses)]
        let record = dosing.record(scenario: scenario, boluses: allLives.flatMap { $0.core.boluses.history.dropFirst($0.restoredBoluses) },
                                   end: end, committed: totals.committedMicrograms)
        let report = ReportBuilder.build(scenario: scenario, seed: seed, core: core, earlier: lives, restoredAlarms: restoredAlarms,
                                         restoredBoluses: restoredBoluses, plant: totals, dosing: record,
                                         faults: tracker.entries(endStrokes: core.scheduler.commandedStrokes),
                                         commands: commands, refills: refills, baseline: baseline)
        hooks.progress?(SimulationProgress(simulated: scenario.duration, duration: scenario.duration, delivered: totals.delivered,
                                           state: core.state, alarms: core.alarms.records.count))
        return SimulationResult(report: report, dosing: record, controller: core, plant: totals)
    }
}
