import PumpCore
import PumpHAL

/// Everything the controller needs to know about its rig and therapy at start.
public struct ControllerConfiguration: Sendable {
    public var prescription: Prescription
    /// The board's calibration: volume of one motor step.
    public var strokeVolume: Nanolitres
    public var encoderCountsPerStroke: Int64
    public var reservoirCapacity: Nanolitres
    public var reservoirFill: Nanolitres
    public var limits: SafetyLimits
    public var zone: any TimeZoneRules
    /// Most strokes one dose-loop wake issues (catch-up after lateness is spread out).
    public var maximumStrokesPerWake: Int64 = 4

    public init(prescription: Prescription, strokeVolume: Nanolitres, encoderCountsPerStroke: Int64 = 4,
                reservoirCapacity: Nanolitres, reservoirFill: Nanolitres, limits: SafetyLimits = SafetyLimits(),
                zone: any TimeZoneRules = FixedOffsetZone()) {
        self.prescription = prescription
        self.strokeVolume = strokeVolume
        self.encoderCountsPerStroke = encoderCountsPerStroke
        self.reservoirCapacity = reservoirCapacity
        self.reservoirFill = reservoirFill
        self.limits = limits
        self.zone = zone
    }
}

/// What the watchdog read this tick. nil: the read failed (or, for the battery, was not due).
public struct WatchdogReadings: Sendable {
    public var pressure: CentiMMHg?
    /// A second conversion taken right after `pressure`: their difference is the sensor's noise.
    public var pressureRepeat: CentiMMHg?
    /// The core's `strokeMark` taken just before the two conversions (nil: not known).
    public var strokeMarkBeforePressure: StrokeMark?
    public var motor: MotorFeedback?
    public var battery: BatteryReading?
    public var batteryDue: Bool
    /// Why the reads that gave nil failed (the first error per device this tick).
    public var readErrors: [ReadDevice: HALError]
    public init(pressure: CentiMMHg?, pressureRepeat: CentiMMHg?, strokeMarkBeforePressure: StrokeMark?, motor: MotorFeedback?,
                battery: BatteryReading?, batteryDue: Bool, readErrors: [ReadDevice: HALError] = [:]) {
        self.readErrors = readErrors
        self.pressure = pressure
        self.pressureRepeat = pressureRepeat
        self.strokeMarkBeforePressure = strokeMarkBeforePressure
        self.motor = motor
        self.battery = battery
        self.batteryDue = batteryDue
    }
}

/// Where the motor's strokes stood at one instant: confirmed, and whether any were in flight.
public struct StrokeMark: Hashable, Sendable {
    public var confirmed: Int64
    public var inFlight: Bool
    public init(confirmed: Int64, inFlight: Bool) {
        self.confirmed = confirmed
        self.inFlight = inFlight
    }
}

public struct HaltRecord: Hashable, Sendable {
    public var reason: AlarmType
    public var at: MonotonicInstant
}

/// The controller's whole state and its pure, synchronous decisions. The async shell
/// (`PumpController`) and the simulator call exactly these functions; only they touch hardware.
public struct ControllerCore: Sendable {
    public let configuration: ControllerConfiguration
    public var limits: SafetyLimits { configuration.limits }
    public var prescription: Prescription { scheduler.prescription }

    public private(set) var scheduler: DoseScheduler
    public private(set) var boluses = BolusBook()
    public private(set) var ledger: ReservoirLedger
    public private(set) var alarms = AlarmBook()
    public private(set) var occlusion: OcclusionDetector
    public private(set) var sensor = SensorHealthMonitor()
    public private(set) var motion: MotionMonitor
    /// Strokes planned and handed to the motor but not yet confirmed: the watchdog runs alongside
    /// the dose loop, so it may see their encoder edges before the step returns.
    public private(set) var strokesInFlight: Int64 = 0
    public private(set) var battery = BatteryMonitor()
    public private(set) var state: TherapyState = .delivering
    public private(set) var events = EventLog()
    private var readErrors = ReadErrorDigest()
    public private(set) var halts: [HaltRecord] = []
    public private(set) var lastHeartbeat: MonotonicInstant
    /// When the watchdog last ran (the hardware watchdog is fed only while both are recent).
    public private(set) var lastWatchdogTick: MonotonicInstant
    /// Measured motion since the last fill that the motion monitor no longer holds (from before
    /// a restart or a resume, which start it at 0; negative after a refill).
    private var measuredBefore = Nanolitres.zero
    /// Encoder edges the kernel reported dropped so far (the driver's count is cumulative).
    private var droppedEncoderEdgesSeen: Int64 = 0
    /// The expected reservoir volume at which the low-reservoir alarm rises (clinician setting).
    public private(set) var lowReservoirLevel: Nanolitres
    /// Every refill reconciled, oldest first (the trend).
    public private(set) var refills: [RefillRecord] = []
    public private(set) var batteryTrend = BatteryTrend()
    /// Cumulative strokes at the last fill (the journal's ledger continues from it).
    public private(set) var filledAtStroke: Int64 = 0
    /// When delivery last stopped (suspended or halted; nil while delivering): a long stop alarms.
    public private(set) var stoppedSince: MonotonicInstant?
    /// False after a journal loss until a refill records a volume: the ledger then runs from the
    /// prescription file's fill, a guess (status says so).
    public private(set) var reservoirKnown = true

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

    /// Starts from the journal's last state (see `RestoredState`). Strokes intended but never
    /// confirmed count as delivered and raise `delivery_uncertain`; a bolus that was running is
    /// not resumed; alarms that were active stay active (and with them a halt or a suspension).
    public init(configuration: ControllerConfiguration, now: MonotonicInstant, utcNanoseconds: Int64, restoring r: RestoredState) {
        self.init(configuration: configuration, now: now, utcNanoseconds: utcNanoseconds)
        let stroke = configuration.strokeVolume
        // Intents run at most `restoreLead` strokes ahead of the programme a checkpoint records.
        // A journal whose programme lags further (a stale progress row: another writer, a damaged
        // or rolled-back file) would leave the dose loop issuing nothing for hours while it says
        // delivering; the programme continues from the intents instead, and the uncertain
        // strokes raise `delivery_uncertain` below.
        let floor = stroke * (r.intendedStrokes - Self.restoreLead(configuration))
        if r.programmed < floor {
            record(.journalError("the journal's programme lagged its intents by \((floor - r.programmed).value / stroke.value + Self.restoreLead(configuration)) strokes; the programme continues from the intents"), at: now)
        }
        scheduler.restore(programmed: max(r.programmed, floor), commandedStrokes: r.intendedStrokes)
        ledger = ReservoirLedger(capacity: configuration.reservoirCapacity, filled: r.reservoirFilled)
        ledger.recordCommanded(stroke * (r.intendedStrokes - r.commandedBeforeFill))
        filledAtStroke = r.commandedBeforeFill
        if let p = r.prescription, p != configuration.prescription { scheduler.reprogram(p, at: now, utcNanoseconds: utcNanoseconds) }
        if let low = r.lowReservoir { lowReservoirLevel = low }
        reservoirKnown = r.reservoirKnown
        ledger.recordMeasured(total: r.measuredSinceFill)
        measuredBefore = r.measuredSinceFill
        refills = r.refills
        if let b = r.bridge {
            // The bridge ends by volume the motor pushed; strokes a restart counts as delivered may
            // never have moved. When the old drug is the stronger one, ending early would push it at
            // the new plan (an overdose: swarm seeds 6838, 7221), so they count as not pushed; when
            // it is the weaker, as pushed. Either way the error is a shortfall.
            let unpushed = b.concentration > scheduler.prescription.drug.concentration ? stroke * r.uncertainStrokes : .zero
            scheduler.restoreBridge(concentration: b.concentration, remaining: b.remaining + unpushed)
        }
        scheduler.restartConcentrationSegments()
        for a in r.activeAlarms {
            alarms.restore(a.type, acknowledged: a.acknowledged, acknowledgedAt: a.acknowledgedUTCNanoseconds.map { now - Nanoseconds(utcNanoseconds - $0) },
                           causePresent: a.causePresent, at: now)
        }
        state = alarms.stopsDelivery ? .halted : r.state == .delivering ? .delivering : .suspended
        if state != .delivering {
            scheduler.setDelivering(false, at: now, utcNanoseconds: utcNanoseconds)
            // The stop goes on: counted from when it began (from the restart if not known).
            stoppedSince = r.stoppedSinceUTCNanoseconds.map { now - Nanoseconds(max(0, utcNanoseconds - $0)) } ?? now
        }
        if let low = r.batteryLowest { battery.restore(lowest: low, limits: configuration.limits) }
        if let m = r.lineMemory { occlusion.restore(m) }
        // The occlusion stays latched until the retained pressure is seen to drain (a fresh
        // detector would call a still-kinked line clear).
        if alarms.isActive(.occlusion) { occlusion.restoreLatched(restingMMHg: r.occlusionRestingMMHg) }
        if r.state == .delivering, state == .delivering {
            assumeHistory(before: now - Nanoseconds(max(0, utcNanoseconds - r.lastRecordUTCNanoseconds)), boluses: r.boluses,
                          endUTCNanoseconds: r.lastRecordUTCNanoseconds)
        }
        // Bolus times move into this run's monotonic frame by their age on the journal's
        // timeline (a wall-clock step across the restart moves neither lockout nor cap).
        boluses.restore(r.boluses.map {
            BolusRecord(kind: $0.kind, requestedAt: now - ($0.age ?? Nanoseconds(utcNanoseconds - $0.requestedUTCNanoseconds)),
                        dose: $0.dose, duration: $0.duration, refusal: nil)
        })
        let interrupted = r.boluses.contains { $0.requestedUTCNanoseconds + $0.duration.value > r.lastRecordUTCNanoseconds }
        record(.restarted(RestartSummary(uncertainStrokes: r.uncertainStrokes,
                                         outage: Nanoseconds(max(0, utcNanoseconds - r.lastRecordUTCNanoseconds)),
                                         interruptedBolus: interrupted)), at: now)
        if r.journalLossUnreviewed, !alarms.isActive(.journalLost) {
            raise(.journalLost, at: now)
            set(.journalLost, present: false, at: now)
        }
        if r.uncertainStrokes > 0 {
            raise(.deliveryUncertain, at: now)
            set(.deliveryUncertain, present: false, at: now)   // ends when acknowledged
        }
        if interrupted { bolusInterrupted(at: now) }
    }

    /// Most strokes the journal's intents can legitimately run ahead of its last checkpoint's
    /// programme: the motor's top rate over twice the intent lookahead and a second of commit
    /// lag, plus one wake's strokes.
    static func restoreLead(_ c: ControllerConfiguration) -> Int64 {
        let window = c.limits.journalLookahead.value * 2 + 1_000_000_000
        let volume = Int128(PumpLimits.maximumTotalRateNanolitresPerDay) * Int128(window) / Int128(Nanoseconds.days(1).value)
        return Int64(volume / Int128(c.strokeVolume.value)) + 1 + c.maximumStrokesPerWake
    }

    /// After a restart the line still carries the pressure response of the strokes before it;
    /// the journal keeps their count, not their times. Without them the occlusion model reads
    /// that retained pressure as unexplained, learns a rise near zero and later alarms on the
    /// first bolus (swarm seeds 141, 281). So: assume the programme ran up to the last journal
    /// record (`end`), evenly spaced: the basal, and the boluses the journal has, as far as each
    /// had run (a crash in a bolus left its pressure in the line: assumed as basal only, it
    /// drained unexplained and the learner took τ 3.6 s for 38 s, swarm seed 4807). Strokes before
    /// a long outage have decayed by now, as the pressure they left has.
    private mutating func assumeHistory(before end: MonotonicInstant, boluses: [RestoredState.Bolus], endUTCNanoseconds: Int64) {
        let horizon = OcclusionDetector.assumedHistory
        let from = end - horizon
        var times: [Int64] = []
        let n = min(scheduler.strokesExpected(within: horizon), 50_000)
        if n > 0 {
            let spacing = horizon.value / n
            for k in stride(from: n, to: 0, by: -1) { times.append((end - Nanoseconds(k * spacing)).nanoseconds) }
        }
        let stroke = Double(configuration.strokeVolume.value)
        for b in boluses where b.duration.value > 0 {
            let start = end - Nanoseconds(endUTCNanoseconds - b.requestedUTCNanoseconds)
            let stop = min(start + b.duration, end)
            let first = max(start, from)
            guard stop > first else { continue }
            let total = Double(scheduler.concentrationInForce.volume(of: b.dose).value) / stroke
            let count = min(50_000, Int((total * Double((stop - first).value) / Double(b.duration.value)).rounded()))
            guard count > 0 else { continue }
            let spacing = (stop - first).value / Int64(count)
            for k in 0..<count { times.append(first.nanoseconds + Int64(k) * spacing + spacing / 2) }
        }
        for t in times.sorted() { occlusion.stroke(at: MonotonicInstant(nanoseconds: t)) }
    }

    /// The journal could not write (an intent, a program change, or any write while `DoseJournal.failure`
    /// says so): the alarm rises, delivery goes on (fault table).
    public mutating func journalFailed(_ why: String, at now: MonotonicInstant) {
        if !alarms.isActive(.journalFault) { record(.journalError(why), at: now) }
        raise(.journalFault, at: now)
    }

    /// A reader of the event log (`EventLog.since`) fell more than `EventLog.retained` events
    /// behind, so some never reached it: recorded, so the gap itself is on the record.
    public mutating func eventsLost(_ count: Int, by reader: String, at now: MonotonicInstant) {
        record(.journalError("\(count) events left memory before \(reader) took them"), at: now)
    }

    /// The journal this start expected was lost and a new one begun (`JournalStorage`): the
    /// alarm rises (a finding a clinician clears after review) and the reservoir is unknown
    /// until a refill records a volume.
    public mutating func journalLost(_ why: String, at now: MonotonicInstant) {
        record(.journalError("lost: \(why)"), at: now)
        raise(.journalLost, at: now)
        set(.journalLost, present: false, at: now)
        reservoirKnown = false
    }

    /// The bolus accepted at `acceptedAt` could not be made durable: it is taken back before any
    /// of it is delivered, and journal_fault rises. Its acceptance stays in the bolus history (in
    /// memory, and in the journal once it writes again): its lockout then holds as if it had been
    /// given, the safe side of not knowing.
    public mutating func revokeBolus(acceptedAt: MonotonicInstant, at now: MonotonicInstant) {
        scheduler.revokeNewestBolus(startedAt: acceptedAt)
        // Recorded even when journal_fault is already active (it usually is: the watchdog saw the
        // failure first), so the log says why an accepted bolus never ran (storage attack).
        record(.journalError("bolus not recorded, so not given"), at: now)
        raise(.journalFault, at: now)
    }

    /// The journal is writing again.
    public mutating func journalRecovered(at now: MonotonicInstant) { set(.journalFault, present: false, at: now) }

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

    // MARK: Dose loop

    /// Called by the dose loop at each wake: beats the heartbeat, integrates the programme, checks
    /// the reservoir and returns how many strokes to issue now.
    public mutating func planStrokes(at now: MonotonicInstant, utcNanoseconds: Int64) -> Int64 {
        lastHeartbeat = now
        set(.doseLoopStalled, present: false, at: now)
        let wallValid = utcNanoseconds / 1_000_000_000 >= limits.earliestValidWallClock.value
        // The time since the last wake is dosed at the rate that was in force during it; a change
        // of policy applies from now on.
        scheduler.advance(to: now, utcNanoseconds: wallValid ? utcNanoseconds : nil)
        set(.wallClockInvalid, present: !wallValid, at: now)
        scheduler.rateMode = alarms.requiresMinimumRate ? .minimum : .programmed
        set(.reservoirLow, present: ledger.isLow(level: lowReservoirLevel), at: now)
        let empty = ledger.isEmpty(strokeVolume: configuration.strokeVolume)
        set(.reservoirEmpty, present: empty, at: now)
        recordEndedBoluses(at: now)
        guard state == .delivering, !empty else { return 0 }
        let left = ledger.expected.value / configuration.strokeVolume.value
        strokesInFlight = min(scheduler.strokesDue, configuration.maximumStrokesPerWake, left)
        return strokesInFlight
    }

    /// The dose loop's planned strokes were not issued: delivery stopped while their intent was
    /// being written (a suspend or a halt in between). They stay due in the scheduler.
    public mutating func strokesNotIssued() { strokesInFlight = 0 }

    /// Whether the motor must be off, and how soon: the one answer the dose loop, the watchdog and
    /// the command path all act on (the shell only remembers what it last told the driver).
    public var motorStop: MotorStop {
        switch state {
        case .delivering: .none
        // A clinician's stop: the stroke under way finishes with ENABLE on and is counted, so
        // the books and the drug that moved agree (a cut mid-stroke would count a stroke that
        // never moved: HIL storage case, 2026-12-04).
        case .suspended: .afterStroke
        // A fault: ENABLE goes off at once, even mid-stroke. That stroke is counted as given
        // (never repeated): the books may show up to one wake's strokes more than moved.
        case .halted: .now
        }
    }

    /// Integrates the programme up to `now` without a dose-loop wake (end of a simulation, status).
    public mutating func advanceProgramme(to now: MonotonicInstant) {
        scheduler.advance(to: now, utcNanoseconds: nil)
    }

    /// When the dose loop must wake next.
    public func nextDoseDeadline(after now: MonotonicInstant) -> MonotonicInstant {
        scheduler.nextDeadline(after: now, maximumSleep: limits.doseLoopMaximumSleep)
    }

    /// Where the strokes stand (taken before the watchdog's pressure reads, compared after).
    public var strokeMark: StrokeMark { StrokeMark(confirmed: scheduler.commandedStrokes, inFlight: strokesInFlight > 0) }

    /// The motor confirmed `count` strokes.
    /// `feedback`: the motor's encoder read as the strokes were confirmed. The motion is judged
    /// here as well as at watchdog ticks, because a tick judges only when no stroke is in flight
    /// (a half-counted step is no reference), and under load a dose loop that has fallen behind
    /// strokes back to back: every tick then lands in flight and a slipping motor went unjudged
    /// (HIL slip under host load: 26 strokes, no alarm). Returns true when this judgement halted
    /// delivery (motion_mismatch), so the dose loop disables the motor at once.
    @discardableResult
    public mutating func strokesCompleted(_ count: Int64, at now: MonotonicInstant, feedback: MotorFeedback? = nil) -> Bool {
        strokesInFlight = 0
        scheduler.recordStrokes(count)
        ledger.recordCommanded(configuration.strokeVolume * count)
        for _ in 0..<count { occlusion.stroke(at: now) }
        guard let fb = feedback, state == .delivering,
              motion.observe(commandedStrokes: scheduler.commandedStrokes, encoderCounts: fb.encoderCounts, limits: limits) else { return false }
        raise(.motionMismatch, at: now)
        return state != .delivering
    }

    /// A read failed: recorded with its error (rate-limited, `ReadErrorDigest`). What it means
    /// for delivery is the device's monitor's judgement, whatever the kind.
    public mutating func readFailed(_ device: ReadDevice, _ error: HALError, at now: MonotonicInstant) {
        if let r = readErrors.failed(device, error, at: now) { record(.readError(r), at: now) }
    }

    /// A step command failed: its pulses may or may not have gone out (a line write or the
    /// encoder wait after them failed). They count as given, never repeated, as a restart counts
    /// the strokes it cannot confirm: at worst a wake's strokes are missing, never doubled
    /// (outside review, 2026-12-05: they stayed due and went out again after the resume).
    public mutating func stepFailed(_ strokes: Int64, _ error: HALError, at now: MonotonicInstant) {
        scheduler.recordStrokes(strokes)
        ledger.recordCommanded(configuration.strokeVolume * strokes)
        motorCommandFailed(error, at: now)
    }

    /// The motor refused a command: the driver is not trustworthy.
    public mutating func motorCommandFailed(_ error: HALError, at now: MonotonicInstant) {
        strokesInFlight = 0
        record(.motorError(HALErrorSummary(error)), at: now)
        raise(.motorDriverFault, at: now)
        set(.motorDriverFault, present: false, at: now)   // the command is over; a clinician decides
    }

    // MARK: Watchdog

    /// One watchdog tick: every monitor judges its readings; returns true while the motor must be
    /// disabled (halted or suspended). The watchdog disables it on its own path.
    public mutating func watchdogTick(at now: MonotonicInstant, readings: WatchdogReadings) -> Bool {
        lastWatchdogTick = now
        for device in ReadDevice.allCases { if let e = readings.readErrors[device] { readFailed(device, e, at: now) } }
        // Heartbeat of the dose loop.
        if now - lastHeartbeat > limits.heartbeatTimeout { raise(.doseLoopStalled, at: now) }

        // Pressure sensor and occlusion.
        // The dose loop runs alongside on the rig: a stroke that moved between the two conversions
        // was handed to the motor before the second one, so it is still in flight now, or was
        // when the mark was taken, or has been confirmed since.
        let still = readings.strokeMarkBeforePressure.map { $0 == strokeMark } ?? false
        let trusted = sensor.observe(readings.pressure, repeat: readings.pressureRepeat, motorStill: still, limits: limits)
        set(.pressureSensorFault, present: sensor.fault != nil, at: now)
        occlusion.tick(at: now, reading: trusted, delivering: state == .delivering,
                       basalStrokeInterval: scheduler.slowestBasalStrokeInterval)
        // Latched by the detector; the cause is gone once delivery has stopped and the retained
        // pressure has drained (the kink released).
        set(.occlusion, present: occlusion.occluded && !(state != .delivering && occlusion.causeGone), at: now)

        // Motion and the driver's own fault line.
        if let fb = readings.motor {
            if motion.observe(commandedStrokes: scheduler.commandedStrokes, strokesInFlight: strokesInFlight,
                              encoderCounts: fb.encoderCounts, limits: limits) {
                if state == .delivering { raise(.motionMismatch, at: now) }
            }
            // Dropped encoder edges are motion nobody measured: as unknown as a mismatch. At this
            // loop's stroke rates the kernel's buffer only overflows under a burst of edges, which
            // is what a runaway motor makes; so the policy is the mismatch's (FaultTable).
            if fb.droppedEncoderEdges > droppedEncoderEdgesSeen {
                droppedEncoderEdgesSeen = fb.droppedEncoderEdges
                if state == .delivering { raise(.motionMismatch, at: now) }
            }
            // A mismatch is about strokes: once they have stopped, a clinician may judge it.
            if state != .delivering { set(.motionMismatch, present: false, at: now) }
            let measured = Nanolitres(configuration.strokeVolume.value * motion.measuredCounts / configuration.encoderCountsPerStroke)
            ledger.recordMeasured(total: measuredBefore + measured)
            set(.motorDriverFault, present: fb.driverFault, at: now)
        }

        // Delivery stopped for long: the patient is without drug.
        set(.deliveryStopped, present: stoppedSince.map { now - $0 >= limits.longestStopWithoutAlarm } ?? false, at: now)
        // Silenced alarms whose condition lasts sound again.
        for type in alarms.reannounceSilenced(at: now, after: limits.reannouncement(after:)) { record(.alarmReannounced(type), at: now) }

        // Battery.
        if readings.batteryDue {
            battery.observe(readings.battery.map { ($0.stateOfCharge, $0.voltage) }, limits: limits)
            if let b = readings.battery, !battery.gaugeFault, battery.last?.stateOfCharge == b.stateOfCharge { batteryTrend.observe(b.stateOfCharge, at: now) }
            set(.batteryGaugeFault, present: battery.gaugeFault, at: now)
            set(.batteryEndOfService, present: battery.endOfService, at: now)
            set(.batteryElectiveReplacement, present: battery.electiveReplacement, at: now)
        }
        return state != .delivering
    }

    // MARK: Commands

    public mutating func handle(_ command: OperatorCommand, at now: MonotonicInstant, utcNanoseconds: Int64) -> CommandOutcome {
        scheduler.advance(to: now, utcNanoseconds: utcNanoseconds)
        let outcome: CommandOutcome
        switch command {
        case .patientBolus:
            let rule = prescription.patientBolus
            outcome = bolus(.patient, dose: rule?.dose ?? .zero, duration: rule?.duration ?? PrescriptionRequest.defaultPatientBolusDuration, at: now)
        case .clinicianBolus(let dose, let duration):
            outcome = bolus(.clinician, dose: dose, duration: duration, at: now)
        case .acknowledge:
            let n = alarms.acknowledgeAll(at: now)
            record(.alarmsAcknowledged(count: n), at: now)
            outcome = CommandOutcome(accepted: true)
        case .clinicianClear:
            let (cleared, refused) = alarms.clinicianClear(at: now)
            for c in cleared {
                record(.alarmCleared(c), at: now)
                if c == .occlusion { occlusion.reset() }
            }
            updateState(at: now)
            outcome = refused.isEmpty
                ? CommandOutcome(accepted: true)
                : CommandOutcome(accepted: !cleared.isEmpty, reason: "cause still present: " + refused.map(\.rawValue).joined(separator: ", "))
        case .suspend:
            if state == .delivering {
                state = .suspended
                stoppedSince = now
                scheduler.setDelivering(false, at: now, utcNanoseconds: utcNanoseconds)
                record(.stateChanged(.suspended), at: now)
                recordEndedBoluses(at: now)
                outcome = CommandOutcome(accepted: true)
            } else {
                outcome = CommandOutcome(accepted: false, reason: "delivery is already \(state.rawValue)")
            }
        case .resume:
            if state == .delivering {
                outcome = CommandOutcome(accepted: false, reason: "already delivering")
            } else if let blocker = alarms.active.first(where: { $0.policy.delivery == .stop }) {
                outcome = CommandOutcome(accepted: false, reason: "the \(blocker.type.rawValue) alarm must be cleared by a clinician first")
            } else {
                state = .delivering
                stoppedSince = nil
                scheduler.setDelivering(true, at: now, utcNanoseconds: utcNanoseconds)
                // Motion is judged afresh: the window must not carry a deficit from before the stop.
                measuredBefore += measuredMotion
                motion = MotionMonitor(countsPerStroke: configuration.encoderCountsPerStroke)
                record(.stateChanged(.delivering), at: now)
                outcome = CommandOutcome(accepted: true)
            }
        case .program(let p):
            outcome = program(p, at: now, utcNanoseconds: utcNanoseconds)
        case .setLowReservoir(let level):
            if level.value < 0 || level > ledger.capacity {
                outcome = CommandOutcome(accepted: false, reason: "low_reservoir_ml: must be between 0 and the capacity (\(ledger.capacity))")
            } else {
                lowReservoirLevel = level
                outcome = CommandOutcome(accepted: true)
            }
        case .refill(let r):
            outcome = refill(r, at: now, utcNanoseconds: utcNanoseconds)
        }
        record(.command(command, accepted: outcome.accepted, reason: outcome.reason), at: now)
        return outcome
    }

    /// Records a request on the command interface (the shell authenticates; the log keeps it).
    public mutating func recordRemote(_ r: RemoteCommandRecord, at now: MonotonicInstant) { record(.remoteCommand(r), at: now) }
    public mutating func recordRemoteRefusals(_ s: RemoteRefusalSummary, at now: MonotonicInstant) { record(.remoteRefusals(s), at: now) }

    /// Measured motion the monitor holds, as volume.
    private var measuredMotion: Nanolitres {
        Nanolitres(configuration.strokeVolume.value * motion.measuredCounts / configuration.encoderCountsPerStroke)
    }

    /// A new prescription for the drug in the reservoir. Limits were checked when it was made
    /// (`PrescriptionRequest.validated`); here only what depends on the pump's state.
    private mutating func program(_ p: Prescription, at now: MonotonicInstant, utcNanoseconds: Int64) -> CommandOutcome {
        let old = prescription
        guard p.drug.name == old.drug.name, p.drug.concentration == old.drug.concentration else {
            return CommandOutcome(accepted: false, reason: "drug: the reservoir holds \(old.drug.name) at \(old.drug.concentration); a new drug or concentration needs a refill")
        }
        guard p != old else { return CommandOutcome(accepted: false, reason: "prescription: identical to the one in force") }
        scheduler.reprogram(p, at: now, utcNanoseconds: utcNanoseconds)
        record(.programmed(old: old, new: p), at: now)
        return CommandOutcome(accepted: true)
    }

    /// The refill: reconcile what came out against the ledger, start a new fill, and keep the dose
    /// as prescribed across a concentration change (new stroke plan, bridge for the dead space).
    /// Everything is checked before anything changes.
    private mutating func refill(_ r: RefillRequest, at now: MonotonicInstant, utcNanoseconds: Int64) -> CommandOutcome {
        func refuse(_ why: String) -> CommandOutcome { CommandOutcome(accepted: false, reason: why) }
        if r.withdrawn.value < 0 || r.withdrawn > ledger.capacity { return refuse("withdrawn_ml: must be between 0 and the capacity (\(ledger.capacity))") }
        if r.added.value <= 0 || r.added > ledger.capacity { return refuse("added_ml: must be above 0 and at most the capacity (\(ledger.capacity))") }
        if r.deadSpace.value < 0 || r.deadSpace > PumpLimits.maximumDeadSpace { return refuse("dead_space_ml: must be between 0 and \(PumpLimits.maximumDeadSpace)") }
        let old = prescription
        var new = old
        if let c = r.concentration, c != old.drug.concentration {
            // The dead space would hold three concentrations; no single plan keeps that dose right.
            if let left = scheduler.bridgeRemainingVolume {
                return refuse("refill.concentration_ug_per_ml: a bridge is still running (\(left) of the old drug left to push); change the concentration after it ends")
            }
            var request = PrescriptionRequest(old)
            request.concentrationMicrogramsPerMillilitre = Double(c.value) / 1000
            switch request.validated(drugPath: "refill", path: "prescription") {
            case .success(let p): new = p
            case .failure(let e): return refuse(e.description)
            }
        }
        let expected = ledger.expected
        let consumed = ledger.filled - expected
        var bridge: BridgePlan?
        if new.drug.concentration != old.drug.concentration, r.bridge {
            let rate = scheduler.basalRate.value > 0 ? scheduler.basalRate : old.basal.nominalDailyDose
            bridge = RefillReconciliation.bridge(deadSpace: r.deadSpace, oldConcentration: scheduler.concentrationInForce, dailyDose: rate)
        }
        let record = RefillRecord(expected: expected, withdrawn: r.withdrawn, added: r.added, consumed: consumed,
                                  tolerance: RefillReconciliation.tolerance(consumed: consumed, limits: limits),
                                  oldConcentration: old.drug.concentration, newConcentration: new.drug.concentration, bridge: bridge)
        // A new fill: the ledger and measured motion start again from the volume added.
        ledger = ReservoirLedger(capacity: ledger.capacity, filled: r.added)
        reservoirKnown = true
        filledAtStroke = scheduler.commandedStrokes
        measuredBefore = Nanolitres(0) - measuredMotion
        if new != old || bridge != nil { scheduler.reprogram(new, at: now, utcNanoseconds: utcNanoseconds, bridge: bridge) }
        refills.append(record)
        self.record(.refill(record), at: now)
        if new != old { self.record(.programmed(old: old, new: new), at: now) }
        if record.beyondTolerance || RefillReconciliation.trendAlarm(refills, limits: limits) {
            raise(.refillDiscrepancy, at: now)
            set(.refillDiscrepancy, present: false, at: now)   // a finding, not a condition: a clinician clears it
        }
        return CommandOutcome(accepted: true, reason: record.beyondTolerance ? record.verdict : nil)
    }

    private mutating func bolus(_ kind: BolusKind, dose: Nanograms, duration: Nanoseconds, at now: MonotonicInstant) -> CommandOutcome {
        var refusal: BolusRefusal?
        if state != .delivering {
            refusal = .notDelivering(state)
        } else if kind == .patient, prescription.patientBolus == nil {
            refusal = .notPrescribed
        } else if dose.value <= 0 || duration.value <= 0 {
            refusal = .invalid("dose and duration must be positive")
        } else if let blocker = kind == .patient ? alarms.patientBolusBlocker : alarms.clinicianBolusBlocker {
            refusal = .blockedByAlarm(blocker)
        } else if scheduler.bolusInProgress {
            refusal = .bolusInProgress
        } else if !withinMotorRate(dose: dose, duration: duration) {
            refusal = .invalid("with the basal, faster than the motor's maximum of 2 mL/h")
        } else {
            refusal = boluses.check(kind: kind, dose: dose, duration: duration, at: now, prescription: prescription)
        }
        let r = BolusRecord(kind: kind, requestedAt: now, dose: dose, duration: duration, refusal: refusal)
        boluses.record(r)
        record(.bolus(r), at: now)
        if refusal == nil { scheduler.startBolus(dose: dose, duration: duration, at: now) }
        return CommandOutcome(accepted: refusal == nil, reason: refusal?.description)
    }

    /// The bolus on top of the highest basal rate fits the motor's 2 mL/h, at the more dilute of
    /// the drug reaching the patient now (the old one during a bridge) and the reservoir's (a
    /// bridge may end while the bolus runs): the larger volume either way.
    private func withinMotorRate(dose: Nanograms, duration: Nanoseconds) -> Bool {
        let dilute = min(scheduler.concentrationInForce, prescription.drug.concentration)
        return PumpLimits.withinMaximumTotalRate(volume: dilute.volume(of: dose), over: duration,
                                                 basalNanolitresPerDay: Int64(dilute.nanolitresPerDay(prescription.basal.maximumDailyDose).rounded(.up)))
    }

    // MARK: Alarms and policy

    private mutating func set(_ type: AlarmType, present: Bool, at now: MonotonicInstant) {
        if present {
            raise(type, at: now)
        } else if alarms.isCausePresent(type) {
            alarms.causeGone(type, at: now)
            record(.alarmCauseGone(type), at: now)
        }
    }

    private mutating func raise(_ type: AlarmType, at now: MonotonicInstant) {
        guard let r = alarms.raise(type, at: now) else { return }
        record(.alarmRaised(type, r.policy.priority), at: now)
        updateState(at: now)
    }

    /// Applies the fault table: any active stop-policy alarm halts; once they are all cleared the
    /// pump waits, suspended, for a clinician's resume. Nothing restarts by itself.
    private mutating func updateState(at now: MonotonicInstant) {
        if alarms.stopsDelivery {
            guard state != .halted else { return }
            let reason = alarms.active.first { $0.policy.delivery == .stop }!.type
            if state == .delivering {
                scheduler.setDelivering(false, at: now, utcNanoseconds: nil)
                stoppedSince = now
            }
            state = .halted
            halts.append(HaltRecord(reason: reason, at: now))
            record(.halted(reason: reason), at: now)
            if recordEndedBoluses(at: now) { bolusInterrupted(at: now) }
        } else if state == .halted {
            state = .suspended
            record(.stateChanged(.suspended), at: now)
        }
    }

    /// Boluses the scheduler finished or cut go into the event log (the journal's bolus history).
    /// Returns whether one was cut short.
    @discardableResult
    private mutating func recordEndedBoluses(at now: MonotonicInstant) -> Bool {
        guard !scheduler.endedBoluses.isEmpty else { return false }
        var cut = false
        for b in scheduler.takeEndedBoluses() {
            record(.bolusEnded(b), at: now)
            cut = cut || !b.complete
        }
        return cut
    }

    /// A bolus was cut short by a halt or a restart (not by a clinician's suspension): a finding
    /// the patient must hear about; it ends when acknowledged.
    private mutating func bolusInterrupted(at now: MonotonicInstant) {
        raise(.bolusInterrupted, at: now)
        set(.bolusInterrupted, present: false, at: now)
    }

    private mutating func record(_ kind: ControllerEvent.Kind, at now: MonotonicInstant) {
        events.append(ControllerEvent(at: now, kind: kind))
    }
}
