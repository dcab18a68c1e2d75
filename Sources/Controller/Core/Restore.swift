import PumpCore

/// What the journal knew at the last record before the controller stopped (a crash, a kill, a
/// power loss, or a clean exit). The core starts from it instead of from a fresh prescription:
/// counters never go backwards, latched alarms stay latched, and boluses keep their lockout.
public struct RestoredState: Sendable, Equatable {
    public struct Alarm: Sendable, Equatable {
        public var type: AlarmType
        public var acknowledged: Bool
        /// The cause was still present at the last record (the monitors judge it afresh).
        public var causePresent: Bool
        /// When it was last acknowledged (its re-announcement counts from then).
        public var acknowledgedUTCNanoseconds: Int64?
        public init(type: AlarmType, acknowledged: Bool, causePresent: Bool = true) {
            self.type = type
            self.acknowledged = acknowledged
            self.causePresent = causePresent
        }
    }

    public struct Bolus: Sendable, Equatable {
        public var kind: BolusKind
        public var dose: Nanograms
        public var duration: Nanoseconds
        public var requestedUTCNanoseconds: Int64
        /// How long ago it was requested on the journal's timeline (which no wall-clock step
        /// moves): what its lockout, count and 24 h cap run on. nil: a record from before the
        /// timeline (journal v5), aged by the wall clock.
        public var age: Nanoseconds?
        public init(kind: BolusKind, dose: Nanograms, duration: Nanoseconds, requestedUTCNanoseconds: Int64) {
            self.kind = kind
            self.dose = dose
            self.duration = duration
            self.requestedUTCNanoseconds = requestedUTCNanoseconds
        }
    }

    /// A bridge that was running (concentration of the old drug, volume of it still to push).
    public struct Bridge: Sendable, Equatable {
        public var concentration: NanogramsPerMillilitre
        public var remaining: Nanolitres
        public init(concentration: NanogramsPerMillilitre, remaining: Nanolitres) {
            self.concentration = concentration
            self.remaining = remaining
        }
    }

    /// Strokes the motor confirmed, cumulative over every session.
    public var confirmedStrokes: Int64
    /// Strokes durably recorded as intended (≥ confirmed): the motor may have moved up to here.
    public var intendedStrokes: Int64
    /// Programme (basal and boluses) accrued up to the last checkpoint.
    public var programmed: Nanolitres
    /// The reservoir at its last fill, and the measured motion since then.
    public var reservoirFilled: Nanolitres
    public var measuredSinceFill: Nanolitres
    public var commandedBeforeFill: Int64
    public var state: TherapyState
    public var activeAlarms: [Alarm]
    /// Accepted boluses of the last day (lockout, daily count, rolling cap).
    public var boluses: [Bolus]
    /// The last record's wall-clock time.
    public var lastRecordUTCNanoseconds: Int64
    /// Refills reconciled so far (the discrepancy trend continues across restarts).
    public var refills: [RefillRecord] = []
    public var bridge: Bridge?
    /// The prescription and low-reservoir level a clinician programmed (nil: the start's own).
    public var prescription: Prescription?
    public var lowReservoir: Nanolitres?
    /// The occlusion learner's last journaled memory (nil: none yet, or from an older journal).
    public var lineMemory: LineMemory?
    /// The resting pressure before a latched occlusion (nil: none latched, or not known).
    public var occlusionRestingMMHg: Double?
    /// The lowest battery charge read before (nil: none yet).
    public var batteryLowest: PerMille?
    /// When delivery stopped, if it had (nil: delivering, or not known).
    public var stoppedSinceUTCNanoseconds: Int64?
    /// False when the journal replaced a lost one and no refill has recorded a volume since.
    public var reservoirKnown = true
    /// The journal replaced a lost one and no clinician has cleared `journal_lost` since.
    public var journalLossUnreviewed = false

    public init(confirmedStrokes: Int64, intendedStrokes: Int64, programmed: Nanolitres, reservoirFilled: Nanolitres,
                measuredSinceFill: Nanolitres = .zero, commandedBeforeFill: Int64 = 0, state: TherapyState, activeAlarms: [Alarm],
                boluses: [Bolus], lastRecordUTCNanoseconds: Int64) {
        self.confirmedStrokes = confirmedStrokes
        self.intendedStrokes = max(intendedStrokes, confirmedStrokes)
        self.programmed = programmed
        self.reservoirFilled = reservoirFilled
        self.measuredSinceFill = measuredSinceFill
        self.commandedBeforeFill = commandedBeforeFill
        self.state = state
        self.activeAlarms = activeAlarms
        self.boluses = boluses
        self.lastRecordUTCNanoseconds = lastRecordUTCNanoseconds
    }

    public var uncertainStrokes: Int64 { intendedStrokes - confirmedStrokes }
}
