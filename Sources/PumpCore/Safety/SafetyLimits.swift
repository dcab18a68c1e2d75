/// Every numeric safety limit and monitoring period in one place. The controller reads them from
/// here; tests and documentation quote them from here.
public struct SafetyLimits: Hashable, Sendable {
    /// Expected reservoir volume at or below which the medium low-reservoir alarm rises.
    public var lowReservoir: Nanolitres = .millilitres(2)
    /// Battery state of charge at or below which the elective-replacement alarm rises.
    public var batteryElectiveReplacement = PerMille(percent: 15)
    /// Battery state of charge at or below which delivery stops (end of service).
    public var batteryEndOfService = PerMille(percent: 5)
    /// A cell voltage below this is also end of service, whatever the gauge's percentage says.
    public var batteryEndOfServiceVoltage = Millivolts(3_300)
    /// A battery alarm's cause is gone only once the charge is this far above its threshold.
    public var batteryHysteresis = PerMille(10)
    /// Consecutive failed gauge reads that make a gauge fault (3 × 10 s).
    public var batteryFailedReads = 3
    /// A wall clock earlier than this (2020-01-01T00:00:00Z, in UTC seconds) was never set.
    public var earliestValidWallClock = UTCSeconds(1_577_836_800)

    /// The watchdog samples the pressure sensor and the motor feedback this often.
    public var watchdogPeriod = Nanoseconds.milliseconds(250)
    /// The watchdog reads the battery gauge this often.
    public var batteryPeriod = Nanoseconds.seconds(10)
    /// The dose loop wakes at least this often, even with no stroke due, to beat its heartbeat.
    public var doseLoopMaximumSleep = Nanoseconds.seconds(5)
    /// The watchdog halts delivery when the dose loop has not beaten for this long.
    public var heartbeatTimeout = Nanoseconds.seconds(15)

    /// Consecutive failed pressure reads that make a sensor fault (4 × 250 ms = 1 s).
    public var sensorFailedReads = 4
    /// Consecutive bit-identical pressure readings that make a stuck sensor (10 × 250 ms = 2.5 s).
    /// A live transducer's electronic noise (≥ 0.05 mmHg rms, 5 LSB) makes this a 1-in-10^12 event.
    public var sensorStuckReadings = 10
    /// Readings over which the sensor's high-frequency noise is judged (8 × 250 ms = 2 s). Fixed:
    /// the monitor keeps exactly six second differences.
    public static let sensorNoiseWindow = 8
    /// Noise (robust rms of second differences) above which the sensor is implausible, in mmHg.
    /// Valid plants have at most 1 mmHg; a trimmed estimate from 8 readings exceeds 8 mmHg by chance
    /// with probability below 10^-15 per reading at 1 mmHg.
    public var sensorImplausibleNoiseMMHg = 8.0
    /// Plausible range of a catheter pressure reading, in mmHg. Outside it the reading is a fault.
    public var pressureRangeMMHg: ClosedRange<Double> = -50...1_000

    /// Motion mismatch: tolerated difference between expected and measured encoder counts over the
    /// last `motionWindowStrokes` strokes, as a fraction of the expected counts...
    public var motionTolerance = 0.10
    /// ...but never less than this many strokes' worth of counts (a stall shows after one stroke).
    public var motionToleranceStrokes = 1.0
    public var motionWindowStrokes = 16

    /// Longest cough (tip pressure spike) a scenario may describe; the occlusion detector's
    /// persistence rule is built to outlast it.
    public static let longestCough = Nanoseconds.seconds(3)

    /// How far ahead the journal records stroke intents. An intent must be durable before the
    /// motor moves; recording the strokes of the next 5 s ahead lets a storage stall of up to
    /// about that long (an SD card can take 2 s) pass without holding a stroke back. After a crash
    /// at most these strokes are uncertain (counted delivered, never repeated).
    public var journalLookahead = Nanoseconds.seconds(5)

    /// Refill reconciliation: the volume withdrawn may differ from the ledger's expected volume by
    /// this fixed part (what a syringe reading and the reservoir's residual volume can hide)...
    public var refillToleranceFixed = Nanolitres.microlitres(500)
    /// ...plus this fraction of the volume the ledger says left the reservoir since the last
    /// fill (the pump's specified accuracy is ±15 %). Beyond it the refill raises
    /// `refill_discrepancy`.
    public var refillToleranceFraction = 0.15
    /// Trend: this many refills in a row off by more than half their tolerance in the same
    /// direction also raise `refill_discrepancy` (a slow drift no single refill shows).
    public var refillTrendCount = 3

    public init() {}
}
