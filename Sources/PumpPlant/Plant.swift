import PumpCore
import PumpHAL
import RealModule
import PumpSync

/// The physical parameters of the simulated rig. Keys and defaults of the first six are fixed by
/// docs/scenarios.md; the rest are the fake hardware's own and documented in docs/testing.md ("Scenarios")
/// and docs/performance.md (`stroke_noise_fraction`).
public struct PlantParameters: Hashable, Sendable {
    public var strokeVolume = Nanolitres(250)
    /// Pump outlet plus catheter compliance.
    public var complianceNanolitresPerMMHg = 200.0
    /// Outflow resistance of the open catheter (time constant = resistance × compliance).
    public var resistanceMMHgSecondsPerNanolitre = 0.05
    /// Spinal fluid pressure at the catheter tip.
    public var baselineMMHg = 10.0
    /// Standard deviation of the transducer's measurement noise.
    public var pressureNoiseMMHg = 0.3
    public var batteryPercent = 100.0
    /// The ADC's own noise floor, always present (about 5 LSB of 0.01 mmHg): a live sensor never
    /// repeats one code for long, which is how a frozen sensor is told apart.
    public var sensorFloorMMHg = 0.05
    /// Noise added while a sensor fault in `noise` mode is active.
    public var faultNoiseMMHg = 20.0
    public var encoderCountsPerStroke: Int64 = 4
    /// Battery drain: idle, per day, and per stroke, in percent.
    /// Motor slip noise: standard deviation of each stroke's displaced volume, as a fraction of
    /// the stroke (the mechanism, not the motor: the encoder does not see it). 0: every stroke
    /// is exact (and no random number is drawn, so runs without it replay unchanged).
    public var strokeNoiseFraction = 0.0
    public var batteryDrainPercentPerDay = 0.03
    public var batteryDrainPercentPerStroke = 0.000_001
    /// Drug in the reservoir at the start.
    public var reservoirFill = Nanolitres.millilitres(20)
    /// The drug's concentration in the reservoir at the start, in µg/mL (the line is primed with it).
    public var reservoirMicrogramsPerMillilitre = 500.0
    /// Pump outlet plus catheter between the reservoir and the patient (docs/scenarios.md `dead_space_ul`):
    /// after a refill the old drug in it reaches the patient first. The controller is not told it;
    /// it knows only what a clinician enters at the refill.
    public var deadSpace = Nanolitres.microlitres(250)

    public init() {}
    public var timeConstantSeconds: Double { complianceNanolitresPerMMHg * resistanceMMHgSecondsPerNanolitre }
}

public enum SensorFaultMode: String, Sendable, CaseIterable {
    /// The sensor stops acknowledging its address.
    case nack
    /// The sensor keeps returning its last value.
    case stuck
    /// The sensor's readings get implausibly noisy.
    case noise
}

/// A cough at the catheter tip: the spinal pressure rises by `amplitude` for `duration`.
struct Cough: Sendable {
    var start: Int64
    var end: Int64
    var amplitudeMMHg: Double
}

/// The fluid that entered a first-in-first-out line, as stretches at one concentration each, with
/// the drug before each stretch summed: the drug in any prefix is one lookup.
struct FluidSequence: Sendable {
    private var ends: [Int64] = []
    private var concentrations: [Double] = []
    private var microgramsBefore: [Double] = []
    private(set) var total: Int64 = 0

    mutating func append(_ nanolitres: Int64, microgramsPerMillilitre c: Double) {
        guard nanolitres > 0 else { return }
        if concentrations.last == c {
            ends[ends.count - 1] += nanolitres
        } else {
            microgramsBefore.append(microgramsBefore.last.map { $0 + Double(total - start(of: ends.count - 1)) * concentrations.last! / 1_000_000 } ?? 0)
            ends.append(total + nanolitres)
            concentrations.append(c)
        }
        total += nanolitres
    }

    private func start(of i: Int) -> Int64 { i > 0 ? ends[i - 1] : 0 }

    /// The drug in the first `x` nanolitres, in µg.
    func micrograms(inFirst x: Int64) -> Double {
        guard x > 0, !ends.isEmpty else { return 0 }
        var lo = 0, hi = ends.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if ends[mid] >= x { hi = mid } else { lo = mid + 1 } }
        let inside = min(x, ends[lo]) - start(of: lo)
        return microgramsBefore[lo] + Double(inside) * concentrations[lo] / 1_000_000
    }

    /// The concentration at position `x` (the fluid the `x`-th nanolitre belongs to).
    func concentration(at x: Int64) -> Double? {
        guard let i = ends.firstIndex(where: { $0 > x }) else { return concentrations.last }
        return concentrations[i]
    }
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
    private let state: Locked<State>

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

    // MARK: Motor

    /// One motor step, as the driver's STEP pulse (public for plants that watch real pins: the
    /// hardware-in-the-loop plant calls it on each STEP edge it sees).
    public func stroke() {
        state.withLock { s in
            s.strokes += 1
            guard s.enabled else { s.strokesWhileDisabled += 1; return }
            guard !s.stalled, !s.driverFault else { return }
            s.battery -= s.p.batteryDrainPercentPerStroke
            let moved = 1 - s.slip
            s.carryEncoder += Double(s.p.encoderCountsPerStroke) * moved
            let counts = s.carryEncoder.rounded(.down)
            s.encoder += Int64(counts)
            s.carryEncoder -= counts
            var volume = Double(s.p.strokeVolume.value) * moved
            if s.p.strokeNoiseFraction > 0 { volume = max(0, volume * (1 + s.p.strokeNoiseFraction * s.rng.normal())) }
            s.carryDisplaced += volume
            var nl = Int64(s.carryDisplaced.rounded(.down))
            s.carryDisplaced -= Double(nl)
            nl = min(nl, s.reservoir)
            s.reservoir -= nl
            s.lowestReservoir = min(s.lowestReservoir, s.reservoir)
            s.displaced += nl
            s.carryLeak += Double(nl) * s.leak
            let lost = Int64(s.carryLeak.rounded(.down))
            s.carryLeak -= Double(lost)
            s.leaked += lost
            s.intoLine += nl - lost
            s.fluid.append(nl - lost, microgramsPerMillilitre: s.reservoirConcentration)
            s.pressure += Double(nl - lost) / s.p.complianceNanolitresPerMMHg
        }
    }

    /// The driver's ENABLE input, at its active level or not.
    public func setEnabled(_ on: Bool) { state.withLock { $0.enabled = on } }
    var motorEnabled: Bool { state.withLock { $0.enabled } }
    public func feedback() -> MotorFeedback {
        state.withLock { MotorFeedback(encoderCounts: $0.encoder, driverFault: $0.driverFault, droppedEncoderEdges: $0.droppedEdges) }
    }

    // MARK: Sensors

    /// One transducer reading: the outlet pressure plus noise (or the active sensor fault).
    public func readPressure() throws(HALError) -> CentiMMHg {
        let r: Result<CentiMMHg, HALError> = state.withLock { s in
            switch s.sensorFault {
            case .nack?:
                return .failure(HALError(.noAcknowledge, errno: 121, "pressure ADC did not acknowledge"))
            case .stuck?:
                if s.frozen == nil { s.frozen = s.lastReading ?? CentiMMHg(mmHg: s.pressure) }
                return .success(s.frozen!)
            case .noise?, nil:
                let sigma = (s.p.pressureNoiseMMHg * s.p.pressureNoiseMMHg + s.p.sensorFloorMMHg * s.p.sensorFloorMMHg).squareRoot()
                var v = s.pressure + sigma * s.rng.normal()
                if s.sensorFault == .noise { v += s.p.faultNoiseMMHg * s.rng.normal() }
                let reading = CentiMMHg(mmHg: v)
                s.lastReading = reading
                return .success(reading)
            }
        }
        return try r.get()
    }

    public func readBattery() throws(HALError) -> BatteryReading {
        let r: Result<BatteryReading, HALError> = state.withLock { s in
            if s.gaugeFailing { return .failure(HALError(.noAcknowledge, errno: 121, "fuel gauge did not acknowledge")) }
            let soc = max(0, min(100, s.battery))
            return .success(BatteryReading(stateOfCharge: PerMille(percent: soc), voltage: Millivolts(Int32(3_400 + 8 * soc))))
        }
        return try r.get()
    }

    // MARK: Faults

    public func setOcclusion(fraction: Double) { state.withLock { $0.occlusion = max(0, min(1, fraction)) } }
    public func setLeak(fraction: Double) { state.withLock { $0.leak = max(0, min(1, fraction)) } }
    public func setSlip(fraction: Double) { state.withLock { $0.slip = max(0, min(1, fraction)) } }
    public func setStalled(_ on: Bool) { state.withLock { $0.stalled = on } }
    public func setDriverFault(_ on: Bool) { state.withLock { $0.driverFault = on } }
    /// The GPIO interface reports `count` more encoder edges lost in its buffer (libgpiod 2's
    /// sequence numbers show the gap).
    public func reportDroppedEncoderEdges(_ count: Int64) { state.withLock { $0.droppedEdges += count } }
    public func setSensorFault(_ mode: SensorFaultMode?) { state.withLock { $0.sensorFault = mode; $0.frozen = nil } }
    public func setGaugeFailing(_ on: Bool) { state.withLock { $0.gaugeFailing = on } }
    public func setBattery(percent: Double) { state.withLock { $0.battery = percent } }
    /// A refill: the reservoir is emptied and filled with `volume` of drug at `microgramsPerMillilitre`
    /// (nil: the same drug as before). Returns what it held and at what concentration.
    @discardableResult
    public func refill(to volume: Nanolitres, microgramsPerMillilitre: Double? = nil) -> (held: Nanolitres, microgramsPerMillilitre: Double) {
        state.withLock { s in
            let held = (Nanolitres(s.reservoir), s.reservoirConcentration)
            s.reservoir = volume.value
            if let c = microgramsPerMillilitre { s.reservoirConcentration = c }
            return held
        }
    }
    /// A cough starting now: tip pressure up by `mmHg` for `duration` nanoseconds.
    public func cough(mmHg: Double, durationNanoseconds: Int64) {
        state.withLock { s in s.coughs.append(Cough(start: s.now, end: s.now + durationNanoseconds, amplitudeMMHg: mmHg)) }
    }

    // MARK: Observation (the balance and the bench's eyes, not the controller's)

    public struct Totals: Sendable {
        public var displaced: Nanolitres
        public var leaked: Nanolitres
        /// Net volume that reached the spinal fluid: into the line minus what the compliance holds.
        public var delivered: Nanolitres
        public var reservoir: Nanolitres
        /// The least the reservoir held at any moment of the run.
        public var lowestReservoir: Nanolitres
        public var strokes: Int64
        public var strokesWhileDisabled: Int64
        public var pressureMMHg: Double
        public var batteryPercent: Double
        /// The drug that reached the patient: each volume that left the tip at the concentration
        /// it really had (the old drug in the dead space first after a refill), in µg.
        public var deliveredMicrograms: Double
        /// The drug the pump has pushed past the dead space (it reaches the patient as the
        /// compliance lets it go): delivered plus what the compliance holds, in µg. The dosing
        /// judge compares this with the prescription, free of the line's lag.
        public var committedMicrograms: Double
        /// The concentration of the next fluid to leave the tip, µg/mL.
        public var tipMicrogramsPerMillilitre: Double
    }

    public var totals: Totals {
        state.withLock { s in
            let held = Int64((s.p.complianceNanolitresPerMMHg * (s.pressure - s.p.baselineMMHg)).rounded())
            let delivered = max(0, s.intoLine - held)
            return Totals(displaced: Nanolitres(s.displaced), leaked: Nanolitres(s.leaked),
                          delivered: Nanolitres(delivered), reservoir: Nanolitres(s.reservoir), lowestReservoir: Nanolitres(s.lowestReservoir),
                          strokes: s.strokes, strokesWhileDisabled: s.strokesWhileDisabled,
                          pressureMMHg: s.pressure, batteryPercent: s.battery,
                          deliveredMicrograms: s.fluid.micrograms(inFirst: delivered),
                          committedMicrograms: s.fluid.micrograms(inFirst: s.intoLine),
                          tipMicrogramsPerMillilitre: s.fluid.concentration(at: delivered) ?? s.reservoirConcentration)
        }
    }
}
