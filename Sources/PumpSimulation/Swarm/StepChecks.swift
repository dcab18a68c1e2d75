/// The checks at every step of a swarm run (the first violation is kept).
import Controller
import DequeModule
import PumpCore

extension Swarm {
    /// The invariants judged at every step (the first violation is kept), and what the checks
    /// after the run need from the steps.
    struct StepChecks {
        let stroke: Int64
        let strokesPerMinute: Int64
        private(set) var previous: SimulationStep?
        private(set) var firstViolation: String?
        private(set) var timeline = Timeline()
        private var minute: Deque<(at: Int64, strokes: Int64)> = []

        init(stroke: Int64, strokesPerMinute: Int64) {
            self.stroke = stroke
            self.strokesPerMinute = strokesPerMinute
        }

        mutating func observe(_ step: SimulationStep) {
            defer { previous = step }
            timeline.observe(step)
            guard firstViolation == nil else { return }
            minute.append((step.at.value, step.plantStrokes))
            while let first = minute.first, first.at < step.at.value - 60_000_000_000 { minute.removeFirst() }
            if let first = minute.first, step.plantStrokes - first.strokes > strokesPerMinute {
                firstViolation = "at \(step.at.seconds) s the plant made \(step.plantStrokes - first.strokes) strokes in a minute: faster than the motor's 2 mL/h (\(strokesPerMinute) strokes)"
            }
            // Commanded never exceeds programmed + one stroke, across power losses too. A restart
            // counts strokes intended but never confirmed as delivered (never repeated: the
            // patient may get less, not more), so the check is on the confirmed ones, and on what
            // the plant really moved.
            let confirmed = step.commandedStrokes - step.uncertainStrokes
            if !DeliveryBound.holds(delivered: Nanolitres(confirmed * stroke), programmed: step.programmed, strokeVolume: Nanolitres(stroke)) {
                firstViolation = "at \(step.at.seconds) s commanded \(confirmed) confirmed strokes > programmed \(step.programmed.value) nL + 1 stroke"
            }
            if !DeliveryBound.holds(delivered: Nanolitres(step.plantStrokes * stroke), programmed: step.programmed + step.programmeLostAtRestarts,
                                    strokeVolume: Nanolitres(stroke)) {
                firstViolation = "at \(step.at.seconds) s the plant made \(step.plantStrokes) strokes > programmed \(step.programmed.value) nL (+ \(step.programmeLostAtRestarts.value) nL accrued before restarts) + 1 stroke"
            }
            // No stroke while halted or suspended.
            if let p = previous, p.state != .delivering, step.state != .delivering,
               step.commandedStrokes - step.uncertainStrokes > p.commandedStrokes - p.uncertainStrokes || step.plantStrokes > p.plantStrokes {
                firstViolation = "at \(step.at.seconds) s a stroke while \(step.state.rawValue)"
            }
        }
    }
}
