import PumpCore
import PumpHAL

public struct HaltRecord: Hashable, Sendable {
    public var reason: AlarmType
    public var at: MonotonicInstant
}

/// The controller's whole state and its pure, synchronous decisions. The async shell
/// (`PumpController`) and the simulator call exactly these functions; only they touch hardware.
///
/// One file per responsibility, all extensions of this state: `+Restore` (a restart from the
/// journal), `+DoseLoop` (strokes to issue, motor off, what the motor reported), `+Watchdog` (the
/// monitors' judgement each tick), `+Commands` and `+Refill` (operator commands), `+Journal` (the
/// journal's own health), `+Policy` (the fault table applied: alarms, halts, the event log).
/// Their setters are internal so those files can write; only those files do (the shell reads).
public struct ControllerCore: Sendable {
    public let configuration: ControllerConfiguration
    public var limits: SafetyLimits { configuration.limits }
    public var prescription: Prescription { scheduler.prescription }

    public internal(set) var scheduler: DoseScheduler
    public internal(set) var boluses = BolusBook()
    public internal(set) var ledger: ReservoirLedger
    public internal(set) var alarms = AlarmBook()
    public internal(set) var occlusion: OcclusionDetector
    public internal(set) var sensor = SensorHealthMonitor()
    public internal(set) var motion: MotionMonitor
    /// Strokes planned and handed to the motor but not yet confirmed: the watchdog runs alongside
    /// the dose loop, so it may see their encoder edges before the step returns.
    public internal(set) var strokesInFlight: Int64 = 0
    public internal(set) var battery = BatteryMonitor()
    public internal(set) var state: TherapyState = .delivering
    public internal(set) var events = EventLog()
    var readErrors = ReadErrorDigest()
    public internal(set) var halts: [HaltRecord] = []
    public internal(set) var lastHeartbeat: MonotonicInstant
    /// When the watchdog last ran (the hardware watchdog is fed only while both are recent).
    public internal(set) var lastWatchdogTick: MonotonicInstant
    /// Measured motion since the last fill that the motion monitor no longer holds (from before
    /// a restart or a resume, which start it at 0; negative after a refill).
    var measuredBefore = Nanolitres.zero
    /// Encoder edges the kernel reported dropped so far (the driver's count is cumulative).
    var droppedEncoderEdgesSeen: Int64 = 0
    /// The expected reservoir volume at which the low-reservoir alarm rises (clinician setting).
    public internal(set) var lowReservoirLevel: Nanolitres
    /// Every refill reconciled, oldest first (the trend).
    public internal(set) var refills: [RefillRecord] = []
    public internal(set) var batteryTrend = BatteryTrend()
    /// Cumulative strokes at the last fill (the journal's ledger continues from it).
    public internal(set) var filledAtStroke: Int64 = 0
    /// When delivery last stopped (suspended or halted; nil while delivering): a long stop alarms.
    public internal(set) var stoppedSince: MonotonicInstant?
    /// False after a journal loss until a refill records a volume: the ledger then runs from the
    /// prescription file's fill, a guess (status says so).
    public internal(set) var reservoirKnown = true

    public init(configuration: ControllerConfiguration, now: MonotonicInstant, utcNanoseconds: Int64) {
        self.configuration = configuration
        scheduler = DoseScheduler(prescription: configuration.prescription, strokeVolume: configuration.strokeVolume,
                                  zone: configuration.zone, now: now, utcNanoseconds: utcNanoseconds)
        ledger = ReservoirLedger(capacity: configuration.reservoirCapacity, filled: configuration.reservoirFill)
        occlusion = OcclusionDetector(periodNanoseconds: configuration.limits.watchdogPeriod.value, strokeVolume: configuration.strokeVolume,
                                      limits: configuration.limits)
        motion = MotionMonitor(countsPerStroke: configuration.encoderCountsPerStroke)
        lastHeartbeat = now
        lastWatchdogTick = now
        lowReservoirLevel = configuration.limits.lowReservoir
    }

    /// What one step left behind, read in place (callers in other modules would otherwise copy
    /// the alarm book or the scheduler to read one field).
    public func summary() -> (alarmCount: Int, commandedStrokes: Int64, programmed: Nanolitres, state: TherapyState, minimumRate: Bool) {
        (alarms.records.count, scheduler.commandedStrokes, scheduler.programmedVolume, state, scheduler.rateMode == .minimum)
    }

    /// Both loops ran recently: the dose loop within the heartbeat timeout, the watchdog within
    /// its tick timeout. Feeding a hardware watchdog depends on this.
    public func isHealthy(at now: MonotonicInstant) -> Bool {
        now - lastHeartbeat <= limits.heartbeatTimeout && now - lastWatchdogTick <= limits.watchdogTickTimeout
    }

    /// The highest priority among active alarms nobody has acknowledged yet (what the alarm
    /// output sounds); acknowledged alarms stay active but silent.
    public var unacknowledgedPriority: AlarmPriority? {
        alarms.active.filter { $0.acknowledgedAt == nil }.map(\.policy.priority).max()
    }
}
