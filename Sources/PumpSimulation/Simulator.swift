import Controller
import Foundation
import PumpJournal
import PumpCore
import PumpPlant
import PumpHAL
import Synchronization

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

/// Runs a scenario in virtual time against the fakes, driving the real controller in a fixed
/// order at each instant: scenario events, then the dose loop, then the watchdog. One seed
/// derives every random choice, so a scenario and seed give the same report, byte for byte.
public enum Simulator {
    public static func run(
        _ scenario: Scenario, seed: UInt64? = nil, progressEvery: Nanoseconds = .hours(1),
        inspect: ((SimulationStep) -> Void)? = nil,
        progress: (@Sendable (SimulationProgress) -> Void)? = nil,
        options: SimulationOptions = SimulationOptions(), trace: ((TraceRow) -> Void)? = nil
    ) async -> SimulationResult {
        let seed = seed ?? scenario.seed
        var seeds = SplitMix64(seed: seed)
        let plant = Plant(parameters: scenario.plant, seed: seeds.next())
        var coughRNG = Xoshiro256(seed: seeds.next())
        let motor = FakeMotorDriver(plant: plant)
        let sensor = TappedPressureSensor(FakePressureSensor(plant: plant))
        var limits = SafetyLimits()
        limits.lowReservoir = scenario.lowReservoirAlarm
        let startUTC = scenario.startUTCSeconds * 1_000_000_000
        let config = ControllerConfiguration(
            prescription: scenario.prescription, strokeVolume: scenario.plant.strokeVolume,
            encoderCountsPerStroke: scenario.plant.encoderCountsPerStroke, reservoirCapacity: scenario.reservoirCapacity,
            reservoirFill: scenario.plant.reservoirFill, limits: limits, zone: scenario.zone)
        // A scenario with power losses runs on a real SQLite journal in a temporary folder, so a
        // power loss can drop the controller at any point and restart it from the file.
        let journaling = scenario.events.contains { $0.kind == .powerLoss }
        let journalFolder = journaling && options.journalOut == nil
            ? FileManager.default.temporaryDirectory.appendingPathComponent("pump-sim-\(UUID().uuidString)") : nil
        defer { if let journalFolder { try? FileManager.default.removeItem(at: journalFolder) } }
        func openJournal(at t: Int64) -> SQLiteJournal.Start? {
            let path: String
            if let out = options.journalOut {
                path = out
            } else if let journalFolder {
                try? FileManager.default.createDirectory(at: journalFolder, withIntermediateDirectories: true)
                path = journalFolder.appendingPathComponent("journal.sqlite").path
            } else {
                return nil
            }
            do {
                return try SQLiteJournal.open(path: path, board: "simulated",
                                              therapy: scenario.name, reservoirFill: scenario.plant.reservoirFill,
                                              utcNanoseconds: startUTC + t, mode: .simulated)
            } catch {
                fatalError("simulator journal: \(error)")   // a temporary folder we just made
            }
        }
        var journal = openJournal(at: 0)
        var controller = PumpController(configuration: config, motor: motor, pressure: sensor,
                                        battery: FakeBatteryGauge(plant: plant), now: .zero, utcNanoseconds: startUTC,
                                        journal: journal?.journal)
        var lives: [ReportBuilder.Life] = []
        var restoredAlarms = 0, restoredBoluses = 0
        var uncertainStrokes: Int64 = 0
        var programmeLost = Nanolitres.zero

        // Random coughs (plant key coughs_per_day) join the listed events.
        var events = scenario.events
        if scenario.coughsPerDay > 0 {
            let mean = 86_400.0 / scenario.coughsPerDay
            var t = 0.0
            while true {
                t += -mean * Foundation.log(1 - coughRNG.unit())
                guard t < Double(scenario.duration.value) / 1e9 else { break }
                let mmHg = 10 + 50 * coughRNG.unit(), over = 0.3 + 1.7 * coughRNG.unit()
                events.append(ScenarioEvent(at: Nanoseconds(Int64(t * 1e9)), kind: .cough(mmHg: mmHg, over: Nanoseconds(Int64(over * 1e9))), background: true))
            }
            events = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        }

        var tracker = FaultTracker(strokeVolume: scenario.plant.strokeVolume, limits: limits)
        var dosing = DosingRecorder()
        var baseline = FixedThresholdDetector()
        var commands: [Report.Command] = []
        var refills: [Report.Refill] = []
        let end = scenario.duration.value
        let period = limits.watchdogPeriod.value
        var nextDose: Int64 = 0
        var nextWatchdog: Int64 = 0
        var nextProgress: Int64 = 0
        var doseLoopAlive = true
        var eventIndex = 0
        var knownAlarms = 0
        var nextTrace = options.traceFrom.value
        // Bench mode: the conventional pump's next stroke after our halt, and the plant's strokes
        // at the first occlusion (the baseline's volume is counted from there).
        var nextConventional = Int64.max
        let conventionalInterval = Int64((Double(scenario.plant.strokeVolume.value) * Double(Nanoseconds.perDay)
            / max(1, scenario.prescription.nanolitresPerDay(scenario.prescription.basal.maximumDailyDose))).rounded())
        var strokesAtOcclusion: Int64?

        while true {
            let nextEvent = eventIndex < events.count ? events[eventIndex].at.value : .max
            let t = min(nextEvent, doseLoopAlive ? nextDose : .max, nextWatchdog, nextConventional)
            guard t <= end else { break }
            plant.advance(to: t)
            let now = MonotonicInstant(nanoseconds: t)
            if t == nextConventional {
                if baseline.alarmAt == nil {
                    plant.setEnabled(true)
                    plant.stroke()
                    plant.setEnabled(false)
                    nextConventional = t + conventionalInterval
                } else {
                    nextConventional = .max
                }
                if t != nextWatchdog, t != nextEvent, !(doseLoopAlive && t == nextDose) { continue }
            }
            if nextEvent == t {
                let e = events[eventIndex]
                eventIndex += 1
                if !e.background {
                    let (strokes, detector) = controller.withCore { c in
                        (c.scheduler.commandedStrokes, e.kind.isOcclusion ? ReportBuilder.learned(c) : nil)
                    }
                    tracker.injected(e, at: now, strokes: strokes, detector: detector)
                }
                if case .occlusion = e.kind, strokesAtOcclusion == nil { strokesAtOcclusion = plant.totals.strokes }
                switch e.kind {
                case .occlusion(let f): plant.setOcclusion(fraction: f)
                case .clearOcclusion: plant.setOcclusion(fraction: 0)
                case .motorStall: plant.setStalled(true)
                case .encoderSlip(let f): plant.setSlip(fraction: f)
                case .leak(let f): plant.setLeak(fraction: f)
                case .pressureSensorFault(let m): plant.setSensorFault(m)
                case .clearSensorFault: plant.setSensorFault(nil)
                case .battery(let p): plant.setBattery(percent: p)
                case .cough(let mmHg, let over): plant.cough(mmHg: mmHg, durationNanoseconds: over.value)
                case .doseLoopHang: doseLoopAlive = false
                case .powerLoss:
                    // Dies at once: what the journal had not committed is gone, the driver loses
                    // power (motor disabled). Restarts at the same instant from the file.
                    journal?.journal.dropPending()
                    dosing.powerLoss(at: t)
                    lives.append(ReportBuilder.Life(core: controller.snapshot(), restoredAlarms: restoredAlarms, restoredBoluses: restoredBoluses))
                    try? await motor.disable()
                    journal = openJournal(at: t)
                    controller = PumpController(configuration: config, motor: motor, pressure: sensor, battery: FakeBatteryGauge(plant: plant),
                                                now: now, utcNanoseconds: startUTC + t, journal: journal?.journal, restoring: journal?.restored)
                    // The restored alarms and boluses were reported by the life before; alarms the
                    // restart itself raises (delivery_uncertain) are new.
                    restoredAlarms = journal?.restored?.activeAlarms.count ?? 0
                    uncertainStrokes += journal?.restored?.uncertainStrokes ?? 0
                    if let before = lives.last?.core.scheduler.programmedVolume {
                        programmeLost = programmeLost + (before - controller.withCore { $0.scheduler.programmedVolume })
                    }
                    restoredBoluses = journal?.restored?.boluses.count ?? 0
                    knownAlarms = restoredAlarms
                    doseLoopAlive = true
                    nextDose = t
                case .refill(let withdrawn, let added, let concentration, let deadSpace, let bridge):
                    // The reservoir really holds what the plant says; the clinician enters what the
                    // scenario says they withdrew (by default, exactly that).
                    let (held, heldConcentration) = plant.refill(to: added, microgramsPerMillilitre: concentration.map { Double($0.value) / 1000 })
                    let request = RefillRequest(withdrawn: withdrawn ?? held, added: added, concentration: concentration,
                                                deadSpace: deadSpace, bridge: bridge)
                    let outcome = await controller.handle(.refill(request), now: now, utcNanoseconds: startUTC + t)
                    if !outcome.accepted { plant.refill(to: held, microgramsPerMillilitre: heldConcentration) }   // refused: nothing changed
                    if outcome.accepted, let r = controller.withCore({ $0.refills.last }) {
                        refills.append(Report.Refill(
                            at_s: now.seconds, expected_ul: r.expected.microlitres, withdrawn_ul: r.withdrawn.microlitres,
                            discrepancy_ul: r.discrepancy.microlitres, tolerance_ul: r.tolerance.microlitres, beyond_tolerance: r.beyondTolerance,
                            added_ul: r.added.microlitres, old_concentration_ug_per_ml: Double(r.oldConcentration.value) / 1000,
                            new_concentration_ug_per_ml: Double(r.newConcentration.value) / 1000, bridge_s: r.bridge?.duration.seconds))
                    }
                    commands.append(Report.Command(type: "refill", at_s: now.seconds, accepted: outcome.accepted, reason: outcome.reason))
                    if doseLoopAlive { nextDose = min(nextDose, t) }
                case .patientBolus, .clinicianBolus, .acknowledge, .clinicianClear, .suspend, .resume:
                    let command: OperatorCommand = switch e.kind {
                    case .patientBolus: .patientBolus
                    case .clinicianBolus(let dose, let over): .clinicianBolus(dose: dose, duration: over)
                    case .acknowledge: .acknowledge
                    case .clinicianClear: .clinicianClear
                    case .suspend: .suspend
                    default: .resume
                    }
                    let outcome = await controller.handle(command, now: now, utcNanoseconds: startUTC + t)
                    if case .patientBolus = command {} else if case .clinicianBolus = command {} else {
                        commands.append(Report.Command(type: command.name, at_s: now.seconds, accepted: outcome.accepted, reason: outcome.reason))
                    }
                    // A bolus changes the schedule: the dose loop replans now.
                    if doseLoopAlive { nextDose = min(nextDose, t) }
                }
                continue
            }
            var last: SimController.StepOutcome?
            if doseLoopAlive, nextDose == t {
                let (deadline, outcome) = await controller.doseLoopStepOutcome(now: now, utcNanoseconds: startUTC + t)
                nextDose = max(deadline.nanoseconds, t + 1)
                last = outcome
            }
            if nextWatchdog == t {
                last = await controller.watchdogStep(now: now, utcNanoseconds: startUTC + t)
                nextWatchdog += period
                let reading = sensor.lastReading()
                if let reading {
                    let before = baseline.alarmAt
                    baseline.observe(reading, at: now)
                    if before == nil, baseline.alarmAt != nil, let s0 = strokesAtOcclusion { baseline.strokesSinceOcclusion = plant.totals.strokes - s0 }
                }
                if options.conventionalAfterHalt, nextConventional == .max, baseline.alarmAt == nil, let l = last, l.state == .halted,
                   controller.withCore({ $0.halts.first?.reason == .occlusion }) {
                    nextConventional = t + conventionalInterval
                }
                if let trace, t >= nextTrace, t <= options.traceTo.value, let l = last {
                    nextTrace = t + options.traceEvery.value
                    let totals = plant.totals
                    trace(TraceRow(at: Nanoseconds(t), pressure: reading, plantStrokes: totals.strokes - totals.strokesWhileDisabled,
                                   commandedStrokes: l.commandedStrokes, delivered: totals.delivered, state: l.state))
                }
            }
            if let last { dosing.observe(at: t, delivering: last.state == .delivering, minimumRate: last.minimumRate) { plant.totals.committedMicrograms } }
            if let inspect, let last {
                let totals = plant.totals
                inspect(SimulationStep(at: Nanoseconds(t), commandedStrokes: last.commandedStrokes, uncertainStrokes: uncertainStrokes,
                                       plantStrokes: totals.strokes - totals.strokesWhileDisabled, programmeLostAtRestarts: programmeLost,
                                       programmed: last.programmed, state: last.state))
            }
            if let last, last.alarmCount != knownAlarms {
                let count = last.alarmCount, strokes = last.commandedStrokes
                let new = controller.withCore { Array($0.alarms.records[knownAlarms...]) }
                for a in new { tracker.alarmRaised(a, strokes: strokes) }
                knownAlarms = count
            }
            if let progress, t >= nextProgress {
                nextProgress = t + progressEvery.value
                let s = controller.snapshot()
                progress(SimulationProgress(simulated: Nanoseconds(t), duration: scenario.duration,
                                            delivered: plant.totals.delivered, state: s.state, alarms: s.alarms.records.count))
            }
        }
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
        progress?(SimulationProgress(simulated: scenario.duration, duration: scenario.duration, delivered: totals.delivered,
                                     state: core.state, alarms: core.alarms.records.count))
        return SimulationResult(report: report, dosing: record, controller: core, plant: totals)
    }
}

typealias SimController = PumpController<FakeMotorDriver, TappedPressureSensor, FakeBatteryGauge>

/// Remembers each reading the controller took, for the shadow baseline detector.
final class TappedPressureSensor: PressureSensor {
    /// Concrete, not `any PressureSensor`: an async call through an existential is not
    /// specialized and allocates on every read (two reads a tick).
    private let inner: FakePressureSensor
    /// The last reading's raw value, or `none` after a failed read (one atomic word: cheap per tick).
    private let last = Atomic<Int64>(TappedPressureSensor.none)
    private static let none = Int64.min
    init(_ inner: FakePressureSensor) { self.inner = inner }
    nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg {
        do {
            let r = try await inner.read()
            last.store(Int64(r.value), ordering: .relaxed)
            return r
        } catch {
            last.store(Self.none, ordering: .relaxed)
            throw error
        }
    }
    func lastReading() -> CentiMMHg? {
        let v = last.load(ordering: .relaxed)
        return v == Self.none ? nil : CentiMMHg(Int32(v))
    }
}

/// The conventional detector our occlusion detector is compared with: pressure more than
/// +100 mmHg above the average of the first minute of readings.
/// It counts every crossing (re-armed once the pressure is back 10 mmHg below the threshold), so
/// its false alarms over a long run can be counted too.
struct FixedThresholdDetector {
    static let thresholdMMHg = 100.0
    static let rearmMMHg = 10.0
    private var sum = 0.0, count = 0
    private var armed = true
    private(set) var alarmAt: MonotonicInstant?
    private(set) var alarms = 0
    /// Plant strokes from the first occlusion to the first alarm (set by the simulator).
    var strokesSinceOcclusion: Int64?
    mutating func observe(_ r: CentiMMHg, at now: MonotonicInstant) {
        if now.nanoseconds < 60_000_000_000 { sum += r.mmHg; count += 1; return }
        guard count > 0 else { return }
        let limit = sum / Double(count) + Self.thresholdMMHg
        if armed, r.mmHg >= limit {
            alarms += 1
            armed = false
            if alarmAt == nil { alarmAt = now }
        } else if !armed, r.mmHg < limit - Self.rearmMMHg {
            armed = true
        }
    }
}
