/// The controller's two loops at an instant (the dose loop, then the watchdog) and what the run
/// records after them: the shadow baseline, the bench's conventional pump, trace rows, the dosing
/// record, the caller's step and progress, the alarms raised.
import Controller
import PumpCore
import PumpPlant

extension SimulationRun {
    /// The dose loop and the watchdog when due at `t`, then what follows from the last of them.
    mutating func loopSteps(at t: Int64) async {
        var last: SimController.StepOutcome?
        if doseLoopAlive, nextDose == t { last = await doseLoopStep(at: t) }
        if nextWatchdog == t { last = await watchdogStep(at: t) }
        if let last { observe(last, at: t) }
        if let progress = hooks.progress, t >= nextProgress {
            nextProgress = t + hooks.progressEvery.value
            let s = controller.snapshot()
            progress(SimulationProgress(simulated: Nanoseconds(t), duration: scenario.duration,
                                        delivered: plant.totals.delivered, state: s.state, alarms: s.alarms.records.count))
        }
    }

    mutating func doseLoopStep(at t: Int64) async -> SimController.StepOutcome {
        let (deadline, outcome) = await controller.doseLoopStepOutcome(now: MonotonicInstant(nanoseconds: t), utcNanoseconds: startUTC + t)
        nextDose = max(deadline.nanoseconds, t + 1)
        return outcome
    }

    /// The watchdog's tick, with the shadow baseline fed the same reading, the conventional pump
    /// started after our occlusion halt (bench mode), and a trace row when one is due.
    mutating func watchdogStep(at t: Int64) async -> SimController.StepOutcome {
        let now = MonotonicInstant(nanoseconds: t)
        let last = await controller.watchdogStep(now: now, utcNanoseconds: startUTC + t)
        nextWatchdog += period
        let reading = rig.sensor.lastReading()
        if let reading {
            let before = baseline.alarmAt
            baseline.observe(reading, at: now)
            if before == nil, baseline.alarmAt != nil, let s0 = strokesAtOcclusion { baseline.strokesSinceOcclusion = plant.totals.strokes - s0 }
        }
        if options.conventionalAfterHalt, nextConventional == .max, baseline.alarmAt == nil, last.state == .halted,
           controller.withCore({ $0.halts.first?.reason == .occlusion }) {
            nextConventional = t + conventionalInterval
        }
        if let trace = hooks.trace, t >= nextTrace, t <= options.traceTo.value {
            nextTrace = t + options.traceEvery.value
            let totals = plant.totals
            trace(TraceRow(at: Nanoseconds(t), pressure: reading, plantStrokes: totals.strokes - totals.strokesWhileDisabled,
                           commandedStrokes: last.commandedStrokes, delivered: totals.delivered, state: last.state))
        }
        return last
    }

    /// Bench mode: the conventional pump strokes at the programme's basal rate until the
    /// fixed-threshold baseline alarms.
    mutating func conventionalStroke(at t: Int64) {
        if baseline.alarmAt == nil {
            plant.setEnabled(true)
            plant.stroke()
            plant.setEnabled(false)
            nextConventional = t + conventionalInterval
        } else {
            nextConventional = .max
        }
    }

    /// After the loops: the dosing record, the caller's step, and the alarms raised since.
    mutating func observe(_ last: SimController.StepOutcome, at t: Int64) {
        let plant = plant
        dosing.observe(at: t, delivering: last.state == .delivering, minimumRate: last.minimumRate) { plant.totals.committedMicrograms }
        if let inspect = hooks.inspect {
            let totals = plant.totals
            inspect(SimulationStep(at: Nanoseconds(t), commandedStrokes: last.commandedStrokes, uncertainStrokes: uncertainStrokes,
                                   plantStrokes: totals.strokes - totals.strokesWhileDisabled, programmeLostAtRestarts: programmeLost,
                                   programmed: last.programmed, state: last.state))
        }
        if last.alarmCount != knownAlarms {
            let count = last.alarmCount, strokes = last.commandedStrokes, known = knownAlarms
            let new = controller.withCore { Array($0.alarms.records[known...]) }
            for a in new { tracker.alarmRaised(a, strokes: strokes) }
            knownAlarms = count
        }
    }
}
