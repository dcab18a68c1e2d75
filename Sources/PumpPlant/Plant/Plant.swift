/// The plant's state, its start, and its time: the outlet pressure relaxing between events.
import PumpCore
import PumpHAL
import RealModule
import PumpSync

/// A cough at the catheter tip: the spinal pressure rises by `amplitude` for `duration`.
struct Cough: Sendable {
    var start: Int64
    var end: Int64
    var amplitudeMMHg: Double
}

/// The plant: a pump stroking drug from a reservoir into a compliant outlet and catheter that
/// drains through a resistance into the spinal fluid, with every fault of docs/scenarios.md injectable.
///
/// Between events the outlet pressure relaxes exactly (exponential toward the tip pressure); a
/// stroke adds volume ÷ compliance. Volumes are integer nanolitres; delivered volume is derived by
/// mass balance (into the line minus what the compliance still holds), never accumulated in Double.
public final class Plant: Sendable {
    struct State: Sendable {
        var p: PlantParameters
        var now: Int64 = 0
        var pressure: Double
        var occlusion = 0.0
        var leak = 0.0
        var slip = 0.0
        var stalled = false
        var coughs: [Cough] = []
        var sensorFault: SensorFaultMode?
        var frozen: CentiMMHg?
        var lastReading: CentiMMHg?
        var battery: Double
        var gaugeFailing = false
        var driverFault = false
        /// Encoder edges the (simulated) kernel reports it dropped, cumulative.
        var droppedEdges: Int64 = 0
        /// Errors the motor driver's next commands throw (`Fault.motorCommandFailure`).
        var commandFailures: [HALError] = []
        var enabled = false
        var reservoir: Int64
        /// The least the reservoir held at any moment (a refill fills it again).
        var lowestReservoir: Int64
        var displaced: Int64 = 0
        var intoLine: Int64 = 0
        var leaked: Int64 = 0
        var encoder: Int64 = 0
        var strokes: Int64 = 0
        var strokesWhileDisabled: Int64 = 0
        var carryDisplaced = 0.0, carryEncoder = 0.0, carryLeak = 0.0
        /// The drug in the reservoir, µg/mL (a refill replaces it).
        var reservoirConcentration: Double
        /// Every fluid that ever entered the line, in order (the priming dead space first), as
        /// stretches at one concentration. The line is first in, first out: the first `x` nL of
        /// this sequence is what has left the tip once `x` nL have.
        var fluid: FluidSequence
        var rng: Xoshiro256
        var decayFor: (dt: Double, occlusion: Double, factor: Double) = (-1, -1, 0)
    }
    let state: Locked<State>

    public init(parameters: PlantParameters, seed: UInt64) {
        var primed = FluidSequence()
        primed.append(parameters.deadSpace.value, microgramsPerMillilitre: parameters.reservoirMicrogramsPerMillilitre)
        state = Locked(State(p: parameters, pressure: parameters.baselineMMHg, battery: parameters.batteryPercent,
                            reservoir: parameters.reservoirFill.value, lowestReservoir: parameters.reservoirFill.value, reservoirConcentration: parameters.reservoirMicrogramsPerMillilitre,
                            fluid: primed, rng: Xoshiro256(seed: seed)))
    }

    public var parameters: PlantParameters { state.withLock { $0.p } }

    // MARK: Time

    /// Lets the physics run up to `t` (nanoseconds on the simulation clock).
    public func advance(to t: Int64) {
        state.withLock { s in
            while s.now < t {
                // Split at cough edges so the tip pressure is constant over each piece.
                var end = t
                for c in s.coughs {
                    if c.start > s.now, c.start < end { end = c.start }
                    if c.end > s.now, c.end < end { end = c.end }
                }
                var tip = s.p.baselineMMHg
                for c in s.coughs where c.start <= s.now && s.now < c.end { tip += c.amplitudeMMHg }
                let dt = Double(end - s.now) / 1e9
                if s.occlusion < 1 {
                    // The watchdog samples at a fixed period: cache the decay factor of the last step.
                    if dt != s.decayFor.dt || s.occlusion != s.decayFor.occlusion {
                        let tau = s.p.timeConstantSeconds / (1 - s.occlusion)
                        s.decayFor = (dt, s.occlusion, Double.exp(-dt / tau))
                    }
                    s.pressure = tip + (s.pressure - tip) * s.decayFor.factor
                }
                s.battery -= s.p.batteryDrainPercentPerDay * dt / 86_400
                s.now = end
            }
            if !s.coughs.isEmpty { s.coughs.removeAll { $0.end <= s.now } }
        }
    }
}
