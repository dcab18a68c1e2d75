/// The simulated rig's physical parameters (scenario keys and their defaults).
import PumpCore

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
    /// The transducer's top: a pressure (with its noise) above it reads `aboveRange`, as a
    /// saturated transducer or ADC does (scenario key `sensor_max_mmhg`). The default is the
    /// watchdog's plausible range's top, so below it nothing reads differently.
    public var sensorMaxMMHg = SafetyLimits().pressureRangeMMHg.upperBound
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
