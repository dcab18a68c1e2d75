import PumpCore

/// Where the controller writes before it acts (PumpJournal keeps it in SQLite). Intents are the
/// one synchronous promise: strokes up to `durableIntentThrough` (a cumulative count) are on
/// stable storage, so after a crash they count as delivered and are never repeated. Everything
/// else (confirmations, checkpoints, events) is written behind and never waited for.
public protocol DoseJournal: Sendable {
    /// Strokes up to this cumulative count are durably recorded as intended.
    var durableIntentThrough: Int64 { get }
    /// Asks for strokes up to `throughStroke` to be recorded as intended; returns at once.
    func requestIntent(throughStroke: Int64, utcNanoseconds: Int64)
    /// Waits until strokes up to `throughStroke` are durable; false if the journal failed.
    nonisolated(nonsending) func awaitIntent(throughStroke: Int64) async -> Bool
    /// Confirmed progress and new events, for the next commit.
    func record(_ checkpoint: JournalCheckpoint, events: [JournalEvent])
    /// A program change (prescription, low-reservoir level, refill), written and synced before
    /// the command is answered: a restart continues with it. False if it could not be written.
    func recordProgram(_ program: ProgramRecord) -> Bool
    /// Why the journal's writes fail, for as long as they do (nil: its last write succeeded). The
    /// watchdog reads it every tick, so `journal_fault` rises at the first failed write and its
    /// cause is gone at the first write that succeeds again, whether or not the dose loop had to
    /// wait for an intent meanwhile (intents run `journalLookahead` ahead).
    var failure: String? { get }
    /// Commits what it has been handed (events, checkpoint) and waits until that is on stable
    /// storage: false if the commit failed. A bolus is accepted only once its record is durable
    /// (a bolus the journal never recorded was given a second time after a restart).
    nonisolated(nonsending) func awaitCommit() async -> Bool
}

/// The program in force after a clinician's change: what a restart must use instead of the
/// prescription file it was started with.
public struct ProgramRecord: Sendable, Equatable {
    public var prescription: Prescription
    public var lowReservoir: Nanolitres
    /// The reservoir at its last fill and the cumulative stroke count at that fill.
    public var reservoirFill: Nanolitres
    public var filledAtStroke: Int64
    /// Set when the change was a refill.
    public var refill: RefillRecord?
    /// The concentration of the old drug while a bridge runs.
    public var bridgeConcentration: NanogramsPerMillilitre?
    public var utcNanoseconds: Int64
}

/// The state after confirmed strokes: what a restart continues from.
public struct JournalCheckpoint: Sendable, Equatable {
    public var confirmedStrokes: Int64
    public var programmed: Nanolitres
    public var measuredSinceFill: Nanolitres
    public var state: TherapyState
    public var utcNanoseconds: Int64
    /// Old drug a bridge still has to push (nil: none).
    public var bridgeRemaining: Nanolitres?
    /// What the occlusion learner knows, every `OcclusionDetector.lineMemoryPeriod` (nil between).
    public var lineMemory: LineMemory?
    /// The resting pressure before a latched occlusion (nil: none latched).
    public var occlusionRestingMMHg: Double?
    /// The lowest battery charge read (a primary cell only goes down: a restart must not believe a
    /// gauge that reads higher afterwards).
    public var batteryLowest: PerMille?
    /// When delivery stopped (nil: delivering): a restart keeps counting towards `delivery_stopped`.
    public var stoppedSinceUTCNanoseconds: Int64?
    /// The journal's boot-clock reading for this checkpoint (set by the journal as it takes it).
    public var bootNanoseconds: Int64?
    public init(confirmedStrokes: Int64, programmed: Nanolitres, measuredSinceFill: Nanolitres, state: TherapyState, utcNanoseconds: Int64,
                bridgeRemaining: Nanolitres? = nil, occlusionRestingMMHg: Double? = nil) {
        self.bridgeRemaining = bridgeRemaining
        self.occlusionRestingMMHg = occlusionRestingMMHg
        self.confirmedStrokes = confirmedStrokes
        self.programmed = programmed
        self.measuredSinceFill = measuredSinceFill
        self.state = state
        self.utcNanoseconds = utcNanoseconds
    }
}

/// An event with its wall-clock time (monotonic time restarts with the process).
public struct JournalEvent: Sendable, Equatable {
    public var event: ControllerEvent
    public var utcNanoseconds: Int64
    /// The journal's boot-clock reading for the event (set by the journal as it takes it).
    public var bootNanoseconds: Int64?
    public init(event: ControllerEvent, utcNanoseconds: Int64) {
        self.event = event
        self.utcNanoseconds = utcNanoseconds
    }
}

extension ControllerCore {
    /// The checkpoint of the state now.
    public func checkpoint(now: MonotonicInstant, utcNanoseconds: Int64) -> JournalCheckpoint {
        var c = JournalCheckpoint(confirmedStrokes: scheduler.commandedStrokes, programmed: scheduler.programmedVolume,
                                  measuredSinceFill: ledger.measuredSinceFill, state: state, utcNanoseconds: utcNanoseconds,
                                  bridgeRemaining: scheduler.bridgeRemainingVolume, occlusionRestingMMHg: occlusion.latchedRestingMMHg)
        c.batteryLowest = battery.lowest
        c.stoppedSinceUTCNanoseconds = stoppedSince.map { utcNanoseconds - (now - $0).value }
        return c
    }

    /// The program in force, for the journal after a change. `refill`: the change was this refill.
    public func programRecord(refill: RefillRecord?, utcNanoseconds: Int64) -> ProgramRecord {
        ProgramRecord(prescription: prescription, lowReservoir: lowReservoirLevel, reservoirFill: ledger.filled,
                      filledAtStroke: filledAtStroke, refill: refill, bridgeConcentration: scheduler.bridge?.concentration,
                      utcNanoseconds: utcNanoseconds)
    }
}
