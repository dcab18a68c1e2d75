import DequeModule
import PumpCore

/// Judges the pressure sensor: no answer, out-of-range values, a frozen value, or implausible noise.
/// A technical alarm must rise within 3 s; the counts in `SafetyLimits` give 1 s, 2.5 s and 2 s.
public struct SensorHealthMonitor: Sendable {
    // The noise window is fixed at 8 readings (six second differences).
    public enum Fault: String, Sendable { case noAnswer = "no_answer", outOfRange = "out_of_range", stuck, noise }
    private var failures = 0
    private var lastRaw: Int32?
    private var identical = 0
    /// The last two readings and the last six |second differences| (a window of 8 readings),
    /// kept in plain fields: this runs on every tick.
    private var y1 = 0.0, y2 = 0.0
    private var d = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    private var dSum = 0.0
    private var readings = 0
    public private(set) var fault: Fault?

    public init() {}

    /// Feeds one read (nil when the read failed) and returns the reading if it can be trusted.
    public mutating func observe(_ reading: CentiMMHg?, limits: SafetyLimits) -> Double? {
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
        if readings >= 2 {
            let new = abs(mmHg - 2 * y1 + y2)
            dSum += new - d.0
            d = (d.1, d.2, d.3, d.4, d.5, new)
        }
        y2 = y1
        y1 = mmHg
        readings += 1

        if identical >= limits.sensorStuckReadings {
            fault = .stuck
        } else if readings >= SafetyLimits.sensorNoiseWindow, dSum > 4 * Self.noiseScale * limits.sensorImplausibleNoiseMMHg,
                  highFrequencyNoise() > limits.sensorImplausibleNoiseMMHg {
            // (The untrimmed sum bounds the trimmed one, so the sort is skipped on quiet readings.)
            fault = .noise
        } else {
            fault = nil
        }
        return fault == nil ? mmHg : nil
    }

    /// Robust rms of the readings' second differences: a catheter pressure is smooth between
    /// strokes (the line is a low-pass filter), so only sensor noise makes this large. The median
    /// ignores the two kinks a stroke or a cough edge makes.
    private func highFrequencyNoise() -> Double {
        // Mean of the four smallest of six: drops the two kinks a stroke or a cough edge makes.
        var sum = 0.0, max1 = 0.0, max2 = 0.0
        func take(_ x: Double) {
            sum += x
            if x > max1 { max2 = max1; max1 = x } else if x > max2 { max2 = x }
        }
        take(d.0); take(d.1); take(d.2); take(d.3); take(d.4); take(d.5)
        return (sum - max1 - max2) / 4 / Self.noiseScale
    }
    /// For white noise of rms σ, a second difference has rms σ√6; the mean of the four smallest of
    /// six |N(0, 6σ²)| is about 0.53 σ√6.
    static let noiseScale = 0.53 * 6.0.squareRoot()
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
    private var failures = 0

    public init() {}

    public mutating func observe(_ reading: (stateOfCharge: PerMille, voltage: Millivolts)?, limits: SafetyLimits) {
        guard let r = reading, (0...1000).contains(r.stateOfCharge.value), (1_000...6_000).contains(r.voltage.value) else {
            failures += 1
            if failures >= limits.batteryFailedReads { gaugeFault = true }
            return
        }
        failures = 0
        gaugeFault = false
        last = r
        let soc = r.stateOfCharge.value, h = limits.batteryHysteresis.value
        let eos = soc <= limits.batteryEndOfService.value || r.voltage < limits.batteryEndOfServiceVoltage
        endOfService = eos || (endOfService && soc <= limits.batteryEndOfService.value + h)
        electiveReplacement = soc <= limits.batteryElectiveReplacement.value
            || (electiveReplacement && soc <= limits.batteryElectiveReplacement.value + h)
    }
}
