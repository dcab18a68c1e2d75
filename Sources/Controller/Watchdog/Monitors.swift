import DequeModule
import PumpCore

/// Judges the pressure sensor: no answer, out-of-range values, a frozen value, or implausible noise.
/// A technical alarm must rise within 3 s (issue 2); the limits in `SafetyLimits` give 1 s, 2.5 s,
/// and for noise of 20 mmHg rms a median under 0.5 s and a miss rate at 3 s of 7·10⁻⁹.
///
/// Noise is judged from pairs of conversions the watchdog takes back to back, one conversion time
/// apart (≈ 8 ms on the ADS1115). The catheter pressure cannot move in that time, so the pair's
/// difference is the sensor's own noise (√2 σ), free of strokes, coughs and the line's dynamics.
/// A test on successive ticks has to tell noise from those (a 150 mmHg cough into a 1 s line
/// bends the pressure by tens of mmHg per tick), and it could not within 3 s: explaining one
/// cough's two edges away costs four of the eleven second differences that 13 readings give, and
/// its miss rate stayed near 10⁻³ (docs/occlusion-detection.md, "Sensor noise").
public struct SensorHealthMonitor: Sendable {
    public enum Fault: String, Sendable { case noAnswer = "no_answer", outOfRange = "out_of_range", stuck, noise }
    private var failures = 0
    private var lastRaw: Int32?
    private var identical = 0
    /// Squared pair differences of the last `sensorNoiseWindow` ticks; nil where a tick gave no
    /// usable pair. Allocated once: this runs on every tick.
    private var squares: [Double?] = Array(repeating: nil, count: SafetyLimits.sensorNoiseWindow)
    private var next = 0
    public private(set) var fault: Fault?
    /// This tick's pressure was above what the sensor can show (its own `aboveRange`, or a value
    /// above `pressureRangeMMHg`): a pressure of at least the top, which the occlusion ceiling
    /// counts. Not a failure: a blocked line gets there, and a transducer failed high reads the
    /// same; either way delivery must stop (docs/safety.md, "Pressure above the sensor's range").
    public private(set) var aboveRange = false

    public init() {}

    /// Feeds one tick: `reading` and its `repeat` taken right after it (nil when a read failed;
    /// `readAboveRange`: it failed because the sensor read above its range).
    /// `motorStill`: no stroke can have fallen between the two conversions (the caller knows;
    /// a stroke's jump between them is not noise). Returns the reading if it can be trusted.
    public mutating func observe(_ reading: CentiMMHg?, repeat second: CentiMMHg?, readAboveRange: Bool = false, motorStill: Bool,
                                 limits: SafetyLimits) -> Double? {
        var square: Double?
        defer {
            squares[next] = square
            next = (next + 1) % squares.count
        }
        aboveRange = reading.map { $0.mmHg > limits.pressureRangeMMHg.upperBound } ?? readAboveRange
        if aboveRange {
            // The sensor answered, with a changing pressure: no failure, not frozen; a noise
            // verdict stands (no pair to judge it by).
            failures = 0
            identical = 0
            lastRaw = nil
            if fault != .noise { fault = nil }
            return nil
        }
        guard let reading else {
            failures += 1
            if failures >= limits.sensorFailedReads { fault = .noAnswer }
            return nil
        }
        let mmHg = reading.mmHg
        guard limits.pressureRangeMMHg.contains(mmHg) else {
            failures += 1
            if failures >= limits.sensorFailedReads { fault = .outOfRange }
            return nil
        }
        failures = 0
        identical = (reading.value == lastRaw) ? identical + 1 : 1
        lastRaw = reading.value
        if motorStill, let second, limits.pressureRangeMMHg.contains(second.mmHg) {
            let e = second.mmHg - mmHg
            square = e * e
        }

        if identical >= limits.sensorStuckReadings {
            fault = .stuck
        } else if let noisy = noiseIsImplausible(adding: square, limits: limits) {
            fault = noisy ? .noise : nil
        } else if fault != .noise {
            fault = nil
        }   // (too few usable pairs to judge: a noise verdict stands)
        return fault == nil ? mmHg : nil
    }

    /// The noise estimate σ̂² = Σ e² / 2n over the window's usable pairs, with this tick's pair
    /// in place of the oldest, against the limit (nil: too few pairs to judge). A working sensor
    /// (σ ≤ 1 mmHg) exceeds 3 mmHg only if χ²ₙ > 9 n: 2·10⁻¹² per window at n = 8, 2·10⁻¹⁷ at
    /// n = 12. Twelve pairs of 20 mmHg noise stay under it only if χ²₁₂ < 0.27: 7·10⁻⁹.
    private func noiseIsImplausible(adding square: Double?, limits: SafetyLimits) -> Bool? {
        var sum = square ?? 0, n = square == nil ? 0 : 1
        for i in squares.indices where i != next {
            if let s = squares[i] { sum += s; n += 1 }
        }
        let limit = limits.sensorImplausibleNoiseMMHg
        guard n >= limits.sensorNoiseMinimumPairs else { return nil }
        return sum > 2 * Double(n) * limit * limit
    }
}

/// Compares commanded motion with the encoder over the last few strokes.
public struct MotionMonitor: Sendable {
    public let countsPerStroke: Int64
    private var origin: Int64?
    private var snapshots: Deque<(strokes: Int64, counts: Int64)> = []
    public private(set) var deficitCounts: Int64 = 0
    private var lastInput: (strokes: Int64, counts: Int64)?
    private var lastVerdict = false

    public init(countsPerStroke: Int64) { self.countsPerStroke = countsPerStroke }

    /// `commandedStrokes` are the strokes the motor has confirmed; the driver returns from a step
    /// only once its encoder edges have arrived (or timed out), so both counts describe the same
    /// instant. Returns true while the mismatch over the last `motionWindowStrokes` strokes exceeds
    /// the tolerance, in either direction (stall and slip, or runaway).
    ///
    /// While `strokesInFlight` strokes are being stepped, their edges may already be counted but
    /// the strokes not yet confirmed. Then only motion beyond them (a runaway) is judged, and the
    /// window is left alone, so a half-counted step never becomes a reference.
    public mutating func observe(commandedStrokes: Int64, strokesInFlight: Int64 = 0, encoderCounts: Int64, limits: SafetyLimits) -> Bool {
        if strokesInFlight > 0 {
            guard let origin, let first = snapshots.first else { return lastVerdict }
            let allowed = (commandedStrokes + strokesInFlight - first.strokes) * countsPerStroke
            let excess = encoderCounts - origin - first.counts - allowed
            if Double(excess) >= tolerance(expected: allowed, limits: limits) {
                deficitCounts = -excess
                lastVerdict = true
            }
            return lastVerdict
        }
        if origin == nil {
            // The first observation is the reference, whatever has happened before it.
            origin = encoderCounts
            snapshots.append((commandedStrokes, 0))
            return false
        }
        // Nothing moved and nothing was commanded since the last tick: same verdict.
        if let l = lastInput, l.strokes == commandedStrokes, l.counts == encoderCounts { return lastVerdict }
        lastInput = (commandedStrokes, encoderCounts)
        let measured = encoderCounts - (origin ?? 0)
        if let last = snapshots.last, last.strokes == commandedStrokes {
            snapshots[snapshots.count - 1].counts = measured
        } else {
            snapshots.append((commandedStrokes, measured))
        }
        while snapshots.count > 2, let first = snapshots.first,
              commandedStrokes - first.strokes > Int64(limits.motionWindowStrokes) {
            snapshots.removeFirst()
        }
        guard let first = snapshots.first, let last = snapshots.last else { return false }
        let expected = (last.strokes - first.strokes) * countsPerStroke
        deficitCounts = expected - (last.counts - first.counts)
        lastVerdict = Double(abs(deficitCounts)) >= tolerance(expected: expected, limits: limits)
        return lastVerdict
    }

    private func tolerance(expected: Int64, limits: SafetyLimits) -> Double {
        max(limits.motionTolerance * Double(expected), limits.motionToleranceStrokes * Double(countsPerStroke))
    }

    /// Measured motion since start, in strokes' worth of counts (for the reservoir ledger).
    public var measuredCounts: Int64 { snapshots.last?.counts ?? 0 }
}

/// Battery thresholds with a small hysteresis so a reading hovering at a limit does not chatter.
public struct BatteryMonitor: Sendable {
    public private(set) var electiveReplacement = false
    public private(set) var endOfService = false
    public private(set) var gaugeFault = false
    public private(set) var last: (stateOfCharge: PerMille, voltage: Millivolts)?
    /// The lowest state of charge read (a primary cell only goes down).
    public private(set) var lowest: PerMille?
    private var failures = 0

    /// A reading outside these is a failed read, not a charge (a gauge answering 0xFFFF, a
    /// disconnected cell): the charge is per mille, the voltage that of one lithium cell.
    public static let plausibleStateOfCharge: ClosedRange<Int32> = 0...1000
    public static let plausibleVoltage: ClosedRange<Int32> = 1_000...6_000

    public init() {}

    /// After a restart: the lowest charge read before it, and the low-battery judgement it made
    /// (a gauge reading higher after a brown-out is not believed).
    public mutating func restore(lowest low: PerMille, limits: SafetyLimits) {
        lowest = low
        endOfService = low.value <= limits.batteryEndOfService.value
        electiveReplacement = low.value <= limits.batteryElectiveReplacement.value
    }

    public mutating func observe(_ reading: (stateOfCharge: PerMille, voltage: Millivolts)?, limits: SafetyLimits) {
        guard let r = reading, Self.plausibleStateOfCharge.contains(r.stateOfCharge.value), Self.plausibleVoltage.contains(r.voltage.value) else {
            failures += 1
            if failures >= limits.batteryFailedReads { gaugeFault = true }
            return
        }
        failures = 0
        // A charge that rose is a gauge that lies (an implant's cell cannot recharge): a fault, and
        // the low-battery judgement stays where the lowest reading put it.
        if let low = lowest, r.stateOfCharge.value > low.value + limits.batteryRiseTolerance.value {
            gaugeFault = true
            return
        }
        gaugeFault = false
        last = r
        lowest = min(lowest ?? r.stateOfCharge, r.stateOfCharge)
        let soc = r.stateOfCharge.value, h = limits.batteryHysteresis.value
        let eos = soc <= limits.batteryEndOfService.value || r.voltage < limits.batteryEndOfServiceVoltage
        endOfService = eos || (endOfService && soc <= limits.batteryEndOfService.value + h)
        electiveReplacement = soc <= limits.batteryElectiveReplacement.value
            || (electiveReplacement && soc <= limits.batteryElectiveReplacement.value + h)
    }
}
