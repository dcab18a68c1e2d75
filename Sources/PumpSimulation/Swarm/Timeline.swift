/// A swarm run's history as change points: the therapy state, the commanded and the plant's strokes.
import Controller
import PumpCore

extension Swarm {
    /// What the checker needs of a run's history: the state and the commanded strokes over time,
    /// kept as change points.
    struct Timeline {
        private var states: [(at: Int64, state: TherapyState)] = []
        private var strokeMarks: [(at: Int64, strokes: Int64)] = []
        private var plantMarks: [(at: Int64, strokes: Int64)] = []

        mutating func observe(_ step: SimulationStep) {
            if states.last?.state != step.state { states.append((step.at.value, step.state)) }
            if strokeMarks.last?.strokes != step.commandedStrokes { strokeMarks.append((step.at.value, step.commandedStrokes)) }
            if plantMarks.last?.strokes != step.plantStrokes { plantMarks.append((step.at.value, step.plantStrokes)) }
        }

        func plantStrokes(at t: Int64) -> Int64 { plantMarks.last { $0.at <= t }?.strokes ?? 0 }

        /// The stretches in which the therapy was not delivering, up to `end`.
        func stops(until end: Int64) -> [(from: Int64, to: Int64)] {
            var result: [(from: Int64, to: Int64)] = []
            for (i, s) in states.enumerated() where s.state != .delivering {
                if i > 0, states[i - 1].state != .delivering { continue }   // halted → suspended: one stop
                let to = states[(i + 1)...].first { $0.state == .delivering }?.at ?? end
                result.append((s.at, to))
            }
            return result
        }

        /// The state the last step at or before `t` left (delivering before the first step).
        func state(at t: Int64) -> TherapyState { states.last { $0.at <= t }?.state ?? .delivering }

        /// The first step after `t` in another state than `state`.
        func firstTime(after t: Int64, notIn state: TherapyState) -> Int64? { states.first { $0.at > t && $0.state != state }?.at }

        func strokes(at t: Int64) -> Int64 { strokeMarks.last { $0.at <= t }?.strokes ?? 0 }
    }
}
