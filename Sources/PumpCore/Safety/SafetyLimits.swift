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
    /// A state of charge this far above the lowest one read is a gauge fault: an implant's primary
    /// cell cannot recharge (2 %: above a fuel gauge's jitter).
    public var batteryRiseTolerance = PerMille(20)

    /// An alarm that is still active sounds again this long after it was acknowledged (IEC
    /// 60601-1-8: silencing is for a while, not for good): high priority every 15 minutes, medium
    /// every 4 hours (a sensor fault under which a kink would go unseen, a refill discrepancy a
    /// clinician has not reviewed), low never (awareness only).
    public var reannounceHigh = Nanoseconds.minutes(15)
    public var reannounceMedium = Nanoseconds.hours(4)
    public func reannouncement(after priority: AlarmPriority) -> Nanoseconds? {
        switch priority {
        case .high: reannounceHigh
        case .medium: reannounceMedium
        case .low: nil
        }
    }
    /// Delivery stopped (suspended, or halted) this long raises the high `delivery_stopped` alarm:
    /// abrupt baclofen withdrawal turns dangerous within hours.
    public var longestStopWithoutAlarm = Nanoseconds.hours(1)
    /// A wall clock earlier than this (2020-01-01T00:00:00Z, in UTC seconds) was never set.
    public var earliestValidWallClock = UTCSeconds(1_577_836_800)

    /// The watchdog samples the pressure sensor and the motor feedback this often.
    public var watchdogPeriod = Nanoseconds.milliseconds(250)
    /// The watchdog loop counts as alive while its last tick is at most this old (four periods: a
    /// late tick or two is scheduling, not a hang). Feeding a hardware watchdog depends on it.
    public var watchdogTickTimeout: Nanoseconds { watchdogPeriod * 4 }
    /// The watchdog reads the battery gauge this often.
    public var batteryPeriod = Nanoseconds.seconds(10)
    /// The dose loop wakes at least this often, even with no stroke due, to beat its heartbeat.
    public var doseLoopMaximumSleep = Nanoseconds.seconds(5)
    /// The watchdog halts delivery when the dose loop has not beaten for this long.
    public var heartbeatTimeout = Nanoseconds.seconds(15)
    /// A step command not confirmed this long after it began is a driver fault (motor_driver_fault:
    /// halt, ENABLE cut at once). A wake's strokes take under 0.1 s on the bench rig (4 pulses at
    /// 200 Hz and a 50 ms encoder wait), so this is 20 times that; without it a hung step kept
    /// ENABLE on until the heartbeat ran out, and, suspended, a stroke left to finish had no end.
    public var strokeUnderWayLimit = Nanoseconds.seconds(2)
    /// A rig whose slowest legitimate wake (its strokes at the top step rate plus the full encoder
    /// wait) takes `worstWake` gets twice that, never less than the default.
    public mutating func allowWakes(lasting worstWake: Nanoseconds) {
        strokeUnderWayLimit = max(strokeUnderWayLimit, worstWake * 2)
    }

    /// Consecutive failed pressure reads that make a sensor fault (4 × 250 ms = 1 s).
    public var sensorFailedReads = 4
    /// Consecutive bit-identical pressure readings that make a stuck sensor (10 × 250 ms = 2.5 s).
    /// A live transducer's electronic noise (≥ 0.05 mmHg rms, 5 LSB) makes this a 1-in-10^12 event.
    public var sensorStuckReadings = 10
    /// Ticks over which the sensor's noise is judged (12 × 250 ms = 3 s), from the difference of
    /// two conversions taken back to back at each tick (`SensorHealthMonitor`).
    public static let sensorNoiseWindow = 12
    /// Usable pairs the noise judgement needs (ticks with a stroke between the two conversions,
    /// or a failed read, do not count).
    public var sensorNoiseMinimumPairs = 8
    /// Noise (rms, from the pair differences) above which the sensor is implausible, in mmHg: three
    /// times the noisiest valid transducer (1 mmHg). A working sensor exceeds it with probability
    /// 2·10⁻¹² per window at the fewest pairs (2·10⁻¹⁷ at twelve); a sensor with 20 mmHg of noise
    /// stays under it for 3 s with probability 7·10⁻⁹ (χ² tails, `SensorHealthMonitor`).
    public var sensorImplausibleNoiseMMHg = 3.0
    /// Plausible range of a catheter pressure reading, in mmHg. Below it the reading is a fault;
    /// above it, as a sensor's own "above range", it is a pressure beyond what can be shown,
    /// counted towards the occlusion ceiling (a blocked line passes the top; a failed-high
    /// transducer is stopped for too: docs/safety.md, "Pressure above the sensor's range").
    public var pressureRangeMMHg: ClosedRange<Double> = -50...1_000

    /// Motion mismatch: tolerated difference between expected and measured encoder counts over the
    /// last `motionWindowStrokes` strokes, as a fraction of the expected counts...
    public var motionTolerance = 0.10
    /// ...but never less than this many strokes' worth of counts (a stall shows after one stroke).
    public var motionToleranceStrokes = 1.0
    public var motionWindowStrokes = 16

    /// A catheter pressure no open line can hold, in mmHg: an open line's mean excess is its
    /// resistance × the flow, at most 1.2 mmHg·s/nL (τ 60 s into 50 nL/mmHg) × 555.6 nL/s (the
    /// motor's 2 mL/h) = 667 mmHg, plus one stroke's rise (≤ 20 mmHg), the highest resting
    /// pressure (25 mmHg) and a cough (≤ 150 mmHg): 862 mmHg. Live readings at or above this are
    /// an occlusion whether or not the detector has learned the line (before it has, a line
    /// kinked from the start was otherwise pushed past the sensor's range).
    public var occlusionCeilingMMHg = 900.0
    /// Consecutive live (not bit-identical) readings at or above the ceiling, or above the
    /// sensor's range, that make an occlusion.
    public var occlusionCeilingReadings = 4
    /// The pressures a board's (or a scenario's) pressure sensor must be able to show: from the
    /// lowest resting pressure of a valid line up to the ceiling. A sensor whose top is lower
    /// saturates before the ceiling can count a blocked line's pressure, and a lower ceiling
    /// would call open lines blocked (they may stand at 862 mmHg, above).
    public var pressureSensorMustShowMMHg: ClosedRange<Double> { ValidPlant.restingMMHg.lowerBound...occlusionCeilingMMHg }

    /// Longest cough (tip pressure spike) a scenario may describe; the occlusion detector's
    /// persistence rule is built to outlast it.
    public static let longestCough = Nanoseconds.seconds(3)
    /// Coughs in a fit come at least this far apart: occlusion windows shorter than this cannot
    /// each hold a cough of their own, longer ones can (and the persistence rule then outlasts a fit).
    public static let shortestCoughGap = Nanoseconds.seconds(5)
    /// Coughs in a fit close enough together to imitate a kink window after window on a slow line
    /// that the occlusion detector's persistence outlasts (each filling up to two windows).
    public static let coughFit = 3

    /// How far ahead the journal records stroke intents. An intent must be durable before the
    /// motor moves; recording the strokes of the next 5 s ahead lets a storage stall of up to
    /// about that long (an SD card can take 2 s) pass without holding a stroke back. After a crash
    /// at most these strokes are uncertain (counted delivered, never repeated).
    public var journalLookahead = Nanoseconds.seconds(5)
    /// A journal write that has not returned for this long is stalled storage, and counts as a
    /// journal failure (`journal_fault`, boluses refused; a bolus waiting for its record is not
    /// given). Above the 2 s an SD card's own pauses take (the lookahead rides those through
    /// without an alarm), below the 5 s lookahead: the alarm sounds before basal has to wait for
    /// an intent. (Storage attack, 2026-12-04: a frozen filesystem raised nothing, and a bolus
    /// pressed 5 s into the freeze was accepted.)
    public var journalStallLimit = Nanoseconds.seconds(3)

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
