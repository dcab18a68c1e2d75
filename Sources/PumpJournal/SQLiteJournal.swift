import Controller
import Foundation
import GRDB
import PumpCore
import PumpSync
import Synchronization

public struct JournalError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The storage refused (I/O error, full, no permission, in use by another process), not the
    /// journal's content: never taken for a loss, nothing is moved aside (`JournalStorage.isStorageFault`).
    public var storage: Bool
    public init(_ message: String, storage: Bool = false) {
        self.message = message
        self.storage = storage
    }
    public var description: String { message }
}

/// The dose journal in SQLite (GRDB; a rollback journal without memory map, `synchronous=FULL`
/// on the daemon: `JournalStorage.openWriter` says why not WAL).
///
/// Intents are committed by one writer thread as soon as they are asked for; `awaitIntent`
/// returns once the commit holding them is on stable storage. Checkpoints and events ride along
/// with the next commit (at most `commitInterval` later). In `inline` mode (the virtual-time
/// simulator) commits happen in the caller's thread, so a seed replays exactly; an unsynced tail
/// is then what a simulated power loss throws away.
public final class SQLiteJournal: DoseJournal, @unchecked Sendable {
    public enum Mode: Sendable {
        /// The daemon: a writer thread, `synchronous=FULL`.
        case daemon
        /// Tests: commits in the caller's thread; `synchronous=OFF` (the process does not die).
        case inline
        /// The simulator: as `inline`, but a commit that would carry only progress is put off to
        /// the next real commit, `dropPending` (a power loss) or `close`, where it lands first. The
        /// file at any moment it is read is the same, and a simulated day needs no 432 000
        /// commits. Only for a caller that always ends through `dropPending` or `close`.
        case simulated
    }

    /// What a start found: the journal, and the state to continue from (nil: a fresh journal).
    public struct Start: Sendable {
        public let journal: SQLiteJournal
        public let restored: RestoredState?
        /// The journal this start expected was lost (missing, damaged, not a journal, newer):
        /// its remains were moved aside and this is a new one (`journal_lost`).
        public var loss: JournalStorage.Loss?
    }

    /// How `open` treats a journal that is not there or not usable.
    public enum Provisioning: Sendable {
        /// The daemon: the journal must have been provisioned; anything else is a loss (the
        /// remains are moved aside and a new journal records it). Never a silent fresh start.
        case required
        /// The simulator and tests: a missing file is created (each run starts from nothing).
        case createIfMissing
    }

    public let path: String
    public let mode: Mode
    /// One connection (`JournalStorage.openWriter`): reads and writes take turns.
    let pool: DatabaseQueue
    let session: Int64
    /// What events and checkpoints are stamped with for the timeline (`BootClock`).
    let boot: BootClock
    private let durable = Atomic<Int64>(0)
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var work = Work()
    private var thread: Thread?
    private let commits = Locked<CommitStats>(CommitStats())
    /// Why the last write failed (nil: it succeeded): `DoseJournal.failure`.
    private let lastFailure = Locked<String?>(nil)
    /// The daemon's journal file as opened (device, inode): after each commit the path must still
    /// name it. A journal deleted or replaced under a running pumpd took every later row with it,
    /// unnoticed until the next start found it missing (outside attack, finding F11).
    private let opened: FileIdentity?
    /// Its rollback journal as first found after a commit (`replaced`).
    private let rollbackSeen = Locked<FileIdentity?>(nil)
    /// Longest a checkpoint waits for a commit.
    public static let commitIntervalNanoseconds: Int64 = 200_000_000

    struct Work {
        var intentThrough: Int64 = 0
        var intentUTC: Int64 = 0
        var checkpoint: JournalCheckpoint?
        var events: [JournalEvent] = []
        var waiters: [(through: Int64, resume: CheckedContinuation<Bool, Never>)] = []
        /// `awaitCommit` callers: answered by the next commit (or by nothing being left to commit).
        var commitWaiters: [CommitWait] = []
        /// The waits the commit under way took (ended early, as failed, by a stall: `failure`).
        var inFlightCommitWaiters: [CommitWait] = []
        /// Counters admitted in memory, by role, for the next commit (`recordCounterLater`).
        var counters: [String: (counter: Int64, utc: Int64)] = [:]
        /// The writer thread has returned (a clean stop, or a stop while failing).
        var writerGone = false
        var stopping = false
        var failed = false
        var lastCommitUTC: Int64 = 0
        /// Simulated mode: the checkpoint the last due commit would have written. Writing it is put
        /// off to the next real commit or to a power loss, where it lands first; the file at any
        /// moment anyone reads it is the same, and a simulated day needs no 432 000 commits.
        var deferredCheckpoint: JournalCheckpoint?
        /// The occlusion learner's memory, pending (and, simulated, put off as above).
        var lineMemory: LineMemory?
        var deferredLineMemory: LineMemory?
        var hasWork: Bool { checkpoint != nil || !events.isEmpty || !counters.isEmpty }
    }

    /// One `awaitCommit` caller, answered once: by its commit, or earlier (as failed) when the
    /// storage has stalled past `stallLimit`.
    final class CommitWait: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Bool, Never>?
        init(_ c: CheckedContinuation<Bool, Never>) { continuation = c }
        func resume(returning ok: Bool) {
            lock.lock()
            let c = continuation
            continuation = nil
            lock.unlock()
            c?.resume(returning: ok)
        }
    }

    /// A journal write that has not returned for this long is a stalled storage (`failure`).
    public var stallLimit = SafetyLimits().journalStallLimit
    /// The clock stalls are measured on (tests move it by hand).
    var uptimeNanoseconds: @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    /// Writes under way, by token, and when each began.
    private let writesUnderWay = Locked<(next: Int, started: [Int: UInt64])>((0, [:]))

    /// Every write goes through here, so a write the storage does not answer is seen (`stalled`).
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        let started = uptimeNanoseconds()
        let token = writesUnderWay.withLock { w -> Int in
            w.next += 1
            w.started[w.next] = started
            return w.next
        }
        defer { _ = writesUnderWay.withLock { $0.started.removeValue(forKey: token) } }
        return try pool.write(body)
    }

    /// How long the oldest write under way has waited for the storage (0: none under way).
    var stalledNanoseconds: Int64 {
        let now = uptimeNanoseconds()
        return writesUnderWay.withLock { w in w.started.values.min().map { Int64(bitPattern: now &- $0) } ?? 0 }
    }
    var isStalled: Bool { stalledNanoseconds >= stallLimit.value }
    /// Writes under way now (tests).
    var writesInProgress: Int { writesUnderWay.withLock { $0.started.count } }

    /// Commit durations, for the benchmark (the last 100 000).
    public struct CommitStats: Sendable {
        public var nanoseconds: [Int64] = []
        public var count = 0
    }

    private init(path: String, mode: Mode, pool: DatabaseQueue, session: Int64, intended: Int64, boot: BootClock) {
        self.path = path
        self.mode = mode
        self.pool = pool
        self.session = session
        self.boot = boot
        durable.store(intended, ordering: .relaxed)
        work.intentThrough = intended
        opened = mode == .daemon ? FileIdentity(path: path) : nil
    }

    /// Opens (or creates) the journal at `path`, records this start and the prescription in force,
    /// and reads what a restart continues from.
    /// - therapy: the prescription file's text; a different text than the last one is a program change.
    /// - reservoirFill: used only by a fresh journal (a restart keeps the journal's ledger).
    /// - boot: the clock bolus limits are aged on across restarts (pumpd: `.system`).
    public static func open(path: String, board: String, therapy: String, reservoirFill: Nanolitres, utcNanoseconds: Int64,
                            mode: Mode, provisioning: Provisioning = .createIfMissing, boot: BootClock = .wallClock) throws(JournalError) -> Start {
        guard provisioning == .required else {
            return try openOnce(path: path, board: board, therapy: therapy, reservoirFill: reservoirFill, utcNanoseconds: utcNanoseconds,
                                mode: mode, loss: nil, boot: boot)
        }
        if let problem = try JournalStorage.problem(path: path) {
            let loss = try JournalStorage.replaceLost(path: path, reason: problem, utcNanoseconds: utcNanoseconds)
            return try openOnce(path: path, board: board, therapy: therapy, reservoirFill: reservoirFill, utcNanoseconds: utcNanoseconds,
                                mode: mode, loss: loss, boot: boot)
        }
        do {
            return try openOnce(path: path, board: board, therapy: therapy, reservoirFill: reservoirFill, utcNanoseconds: utcNanoseconds,
                                mode: mode, loss: nil, boot: boot)
        } catch where error.storage {
            // The storage refused (full, I/O error, in use): the journal is kept as it is and pumpd
            // does not start (docs/journal.md, "Storage that refuses").
            throw error
        } catch {
            // Whatever an intact file holds that cannot be restored (a migration that does not
            // apply, a stored prescription or counter out of range) is a loss too: never an exit,
            // which would stop basal at every start.
            let loss = try JournalStorage.replaceLost(path: path, reason: "cannot be restored: \(error.message)", utcNanoseconds: utcNanoseconds)
            return try openOnce(path: path, board: board, therapy: therapy, reservoirFill: reservoirFill, utcNanoseconds: utcNanoseconds,
                                mode: mode, loss: loss, boot: boot)
        }
    }

    private static func openOnce(path: String, board: String, therapy: String, reservoirFill: Nanolitres, utcNanoseconds: Int64,
                                 mode: Mode, loss: JournalStorage.Loss?, boot: BootClock) throws(JournalError) -> Start {
        do {
            #if NEGATIVE_CONTROL_NO_SYNC
            // Only in the power-cut campaign's negative control (Scripts/hil-vm --negative-control,
            // a separate build that is never shipped): commits without fsync, so the campaign's
            // audit must catch it.
            let synchronous = JournalStorage.Sync.off
            #else
            let synchronous: JournalStorage.Sync = mode == .daemon ? .full : .off
            #endif
            let pool = try JournalStorage.openWriter(path: path, synchronous: synchronous, rollback: mode == .daemon ? .file : .memory)
            try Schema.migrator.migrate(pool)
            let (session, restored) = try pool.write { db -> (Int64, RestoredState?) in
                let bootNow = boot.now(utcNanoseconds: utcNanoseconds)
                let timeline = try JournalReader.timeline(db, bootID: boot.id, bootNanoseconds: bootNow)
                let restored = try JournalReader.restoredState(db, utcNanoseconds: utcNanoseconds, timelineNanoseconds: timeline)
                try db.execute(sql: "INSERT INTO session (started_utc_ns, board, restored, boot_id, boot_ns, timeline_ns) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [utcNanoseconds, board, restored != nil, boot.id, bootNow, timeline])
                let session = db.lastInsertedRowID
                let last = try Row.fetchOne(db, sql: "SELECT therapy, reservoir_fill_nl, filled_at_stroke, prescription FROM program ORDER BY id DESC LIMIT 1")
                if ((try last?.get("prescription", in: "program")) as String?) != nil, ((try last?.get("therapy", in: "program")) as String?) != therapy {
                    // A clinician programmed the pump by command: that program stays in force; the
                    // start's prescription file is only for a fresh journal.
                    try insert(db, session: session, utc: utcNanoseconds, boot: bootNow,
                               EventRow(type: "program", detail: "prescription file ignored: the program a clinician set by command stays in force"))
                } else if try last == nil || ((try last?.get("therapy", in: "program")) as String?) != therapy {
                    let fill: Int64 = (try last?.get("reservoir_fill_nl", in: "program")) ?? reservoirFill.value
                    let filledAt: Int64 = (try last?.get("filled_at_stroke", in: "program")) ?? 0
                    try db.execute(sql: "INSERT INTO program (session_id, utc_ns, therapy, reservoir_fill_nl, filled_at_stroke) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [session, utcNanoseconds, therapy, fill, filledAt])
                    try insert(db, session: session, utc: utcNanoseconds, boot: bootNow,
                               EventRow(type: "program", detail: last == nil ? "first prescription" : "prescription changed"))
                }
                let how = loss.map { "a new journal after a loss: \($0.reason)\($0.evidence.map { "; remains kept at \($0)" } ?? "")" }
                try insert(db, session: session, utc: utcNanoseconds, boot: bootNow,
                           EventRow(type: "session", detail: "started on \(board), " + (how ?? (restored == nil ? "fresh journal" : "restoring"))))
                try db.execute(sql: """
                    INSERT INTO progress (session_id, utc_ns, confirmed_strokes, programmed_nl, measured_since_fill_nl, state, bridge_remaining_nl,
                                          occlusion_resting_mmhg, battery_lowest_permille, stopped_since_utc_ns, boot_ns)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [session, utcNanoseconds, restored?.confirmedStrokes ?? 0, restored?.programmed.value ?? 0,
                                     restored?.measuredSinceFill.value ?? 0, restored?.state.rawValue ?? TherapyState.delivering.rawValue,
                                     // A session that dies before its first checkpoint must still hand the bridge on.
                                     restored?.bridge?.remaining.value, restored?.occlusionRestingMMHg, restored?.batteryLowest?.value,
                                     restored?.stoppedSinceUTCNanoseconds, bootNow])
                return (session, restored)
            }
            let j = SQLiteJournal(path: path, mode: mode, pool: pool, session: session, intended: restored?.intendedStrokes ?? 0, boot: boot)
            if mode == .daemon { j.startWriter() }
            return Start(journal: j, restored: restored, loss: loss)
        } catch let e as JournalError {
            throw e.storage ? JournalStorage.refusal(path, e) : e
        } catch where JournalStorage.isStorageFault(error) {
            throw JournalStorage.refusal(path, error)
        } catch {
            throw JournalError("journal \(path): \(error)")
        }
    }

    // MARK: DoseJournal

    public var durableIntentThrough: Int64 { durable.load(ordering: .acquiring) }

    public func requestIntent(throughStroke: Int64, utcNanoseconds: Int64) {
        condition.lock()
        work.intentThrough = max(work.intentThrough, throughStroke)
        work.intentUTC = utcNanoseconds
        condition.signal()
        condition.unlock()
        if mode != .daemon { commitPending() }
    }

    public func awaitIntent(throughStroke: Int64) async -> Bool {
        if durableIntentThrough >= throughStroke { return true }
        if mode != .daemon { return false }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            condition.lock()
            if durableIntentThrough >= throughStroke {
                condition.unlock()
                c.resume(returning: true)
                return
            }
            work.waiters.append((throughStroke, c))
            condition.signal()
            condition.unlock()
        }
    }

    public func record(_ taken: JournalCheckpoint, events taking: [JournalEvent]) {
        // Stamped on the boot clock now: the events' ages come from the one wall-clock reading
        // they and the checkpoint share, so a step of the wall clock moves none of them.
        var checkpoint = taken
        let bootNow = boot.now(utcNanoseconds: checkpoint.utcNanoseconds)
        checkpoint.bootNanoseconds = bootNow
        let events = taking.isEmpty ? taking : taking.map { e in
            var stamped = e
            stamped.bootNanoseconds = bootNow - (checkpoint.utcNanoseconds - e.utcNanoseconds)
            return stamped
        }
        condition.lock()
        work.checkpoint = checkpoint
        work.events += events
        if let m = checkpoint.lineMemory { work.lineMemory = m }
        let due = !events.isEmpty || checkpoint.utcNanoseconds - work.lastCommitUTC >= Self.commitIntervalNanoseconds
        if due { condition.signal() }
        if mode == .simulated, due, events.isEmpty, work.events.isEmpty {
            work.deferredCheckpoint = checkpoint
            work.checkpoint = nil
            if let m = work.lineMemory { work.deferredLineMemory = m }
            work.lineMemory = nil
            work.lastCommitUTC = checkpoint.utcNanoseconds
            condition.unlock()
            return
        }
        condition.unlock()
        if mode != .daemon, due { commitPending() }
    }

    /// A program change, committed and synced before it returns (the command waits for it).
    public func recordProgram(_ p: ProgramRecord) -> Bool {
        // Behind a stalled write this one would hang the command until the storage answers.
        if isStalled { return false }
        do {
            try write { db in
                let last = try Row.fetchOne(db, sql: "SELECT therapy FROM program ORDER BY id DESC LIMIT 1")
                try db.execute(sql: """
                    INSERT INTO program (session_id, utc_ns, therapy, reservoir_fill_nl, filled_at_stroke, prescription, low_reservoir_nl,
                                         bridge_concentration_ng_per_ml)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [session, p.utcNanoseconds, ((try last?.get("therapy", in: "program")) as String?) ?? "", p.reservoirFill.value, p.filledAtStroke,
                                     PrescriptionCodec(p.prescription).text(), p.lowReservoir.value, p.bridgeConcentration?.value])
                if let r = p.refill {
                    try db.execute(sql: """
                        INSERT INTO refill (session_id, utc_ns, expected_nl, withdrawn_nl, added_nl, consumed_nl, tolerance_nl,
                                            old_concentration_ng_per_ml, new_concentration_ng_per_ml, bridge_volume_nl, bridge_duration_ns)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [session, p.utcNanoseconds, r.expected.value, r.withdrawn.value, r.added.value, r.consumed.value,
                                         r.tolerance.value, r.oldConcentration.value, r.newConcentration.value, r.bridge?.volume.value,
                                         r.bridge?.duration.value])
                }
            }
            // Written into a file the path no longer names: a restart would go on with the old program.
            if let gone = replaced() {
                lastFailure.withLock { $0 = gone }
                return false
            }
            return true
        } catch {
            lastFailure.withLock { $0 = JournalStorage.explain(error) }
            return false
        }
    }

    /// Why writes fail, or that one has not returned for `stallLimit` (a frozen or hung storage:
    /// nothing fails, nothing lands). Read every watchdog tick; at a stall it also ends every wait
    /// for a commit, as failed, so a bolus waiting for its record is not given.
    public var failure: String? {
        if let f = lastFailure.withLock({ $0 }) { return f }
        guard isStalled else { return nil }
        releaseCommitWaits()
        return "stalled: a write has not returned for \(stallLimit.value / 1_000_000_000) s (the storage does not answer)"
    }

    private func releaseCommitWaits() {
        condition.lock()
        let waits = work.commitWaiters + work.inFlightCommitWaiters
        work.commitWaiters = []
        work.inFlightCommitWaiters = []
        condition.unlock()
        for w in waits { w.resume(returning: false) }
    }

    public func awaitCommit() async -> Bool {
        if mode != .daemon {
            commitPending()
            return failure == nil
        }
        if isStalled { return false }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            condition.lock()
            if work.writerGone {
                condition.unlock()
                c.resume(returning: false)
                return
            }
            work.commitWaiters.append(CommitWait(c))
            condition.signal()
            condition.unlock()
        }
    }

    /// Why the path no longer names the file this journal writes (nil: it does, or not the daemon).
    /// The rows go on into the open file, but the next start cannot find them.
    /// Its rollback journal (`-journal`, kept open and truncated, never deleted, in exclusive
    /// TRUNCATE mode) is watched the same way from the first commit that finds it: deleted, SQLite
    /// goes on writing into the unlinked file, and a crash during a commit would leave the main
    /// file half-written with nothing to roll it back (storage attack, 2026-12-04).
    private func replaced() -> String? {
        guard let opened else { return nil }
        let now = FileIdentity(path: path)
        guard now == opened else {
            return "\(path) was \(now == nil ? "deleted" : "replaced by another file") while pumpd runs: what it writes now is lost at the next start"
        }
        let rollback = path + "-journal"
        let current = FileIdentity(path: rollback)
        return rollbackSeen.withLock { seen -> String? in
            guard let first = seen else {
                seen = current
                return nil
            }
            guard current != first else { return nil }
            return "\(rollback) was \(current == nil ? "deleted" : "replaced by another file") while pumpd runs: "
                + "a crash during a commit would leave the journal half-written, with nothing to roll it back"
        }
    }

    /// The last accepted counter of a role (0: none yet).
    public func lastCommandCounter(role: String) -> Int64 {
        (try? pool.read { db in try Int64.fetchOne(db, sql: "SELECT last_counter FROM command_counter WHERE role = ?", arguments: [role]) }) ?? 0
    }

    /// Moves a role's counter to `counter` if that is above the last accepted one, durably.
    /// Returns the last accepted counter when it is not (a replay or a reordering), and
    /// `.unavailable` when the write failed.
    /// `repair`: the last counter to compare with, given the stored one (the command interface's
    /// rule: a stored counter no clock can reach becomes the clock, durably).
    public func advanceCommandCounter(role: String, to counter: Int64, utcNanoseconds: Int64,
                                      repair: (Int64) -> Int64 = { $0 }) -> CounterAdvance {
        if isStalled { return .unavailable }
        do {
            let verdict = try write { db -> CounterAdvance in
                let stored = try Int64.fetchOne(db, sql: "SELECT last_counter FROM command_counter WHERE role = ?", arguments: [role]) ?? 0
                let last = repair(stored)
                if last != stored {
                    try db.execute(sql: "INSERT OR REPLACE INTO command_counter (role, last_counter, utc_ns) VALUES (?, ?, ?)",
                                   arguments: [role, last, utcNanoseconds])
                }
                guard counter > last else { return .stale(last: last) }
                try db.execute(sql: "INSERT OR REPLACE INTO command_counter (role, last_counter, utc_ns) VALUES (?, ?, ?)",
                               arguments: [role, counter, utcNanoseconds])
                return .advanced
            }
            // Written into a file the path no longer names: a restart would not know it (the
            // command it admits could be replayed then).
            if verdict == .advanced, let gone = replaced() {
                lastFailure.withLock { $0 = gone }
                return .unavailable
            }
            return verdict
        } catch {
            return .unavailable
        }
    }

    /// A counter admitted in memory while the journal could not record it (`CounterFloor`): it goes
    /// into the writer's next commit, in the same transaction as the events that record its
    /// command, so a journal holding those commands also holds their counters (outside attack:
    /// a restart within a second of the storage's return accepted them again).
    public func recordCounterLater(role: String, counter: Int64, utcNanoseconds: Int64) {
        condition.lock()
        if (work.counters[role]?.counter ?? .min) < counter { work.counters[role] = (counter, utcNanoseconds) }
        condition.signal()
        condition.unlock()
    }

    public enum CounterAdvance: Equatable, Sendable {
        case advanced, stale(last: Int64), unavailable
    }

    // MARK: Writing

    private func startWriter() {
        // Named from inside: on Linux a name set before start() is not applied, and the thread
        // would carry its creator's name (a dispatch worker's), which misleads a thread dump.
        let t = Thread { [self] in
            Thread.current.name = "journal-writer"
            writerLoop()
        }
        thread = t
        t.start()
    }

    /// Commits at once for an intent, an event or a waiter; a checkpoint alone waits until the
    /// last commit is `commitIntervalNanoseconds` old (fewer syncs: an SD card wears).
    private func writerLoop() {
        var lastCommit = DispatchTime.now()
        while true {
            condition.lock()
            while !work.stopping {
                if work.intentThrough > durableIntentThrough || !work.events.isEmpty || !work.waiters.isEmpty || !work.commitWaiters.isEmpty
                    || !work.counters.isEmpty { break }
                if work.checkpoint != nil {
                    let due = lastCommit.uptimeNanoseconds + UInt64(Self.commitIntervalNanoseconds)
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now >= due { break }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now) / 1e9))
                } else {
                    condition.wait()
                }
            }
            let stopping = work.stopping
            condition.unlock()
            commitPending()
            lastCommit = DispatchTime.now()
            condition.lock()
            let failed = work.failed
            let done = work.stopping && !work.hasWork && work.intentThrough <= durableIntentThrough
            // The writer is leaving: nobody would answer a later awaitCommit.
            let unanswered = done || (stopping && failed) ? work.commitWaiters : []
            if done || (stopping && failed) { work.commitWaiters = []; work.writerGone = true }
            condition.unlock()
            for w in unanswered { w.resume(returning: !failed) }
            if done || (stopping && failed) { return }
            if failed { Thread.sleep(forTimeInterval: 0.1) }
        }
    }

    /// Commits whatever is pending in one transaction, then wakes the waiters it satisfied.
    private func commitPending() {
        condition.lock()
        let intent = work.intentThrough > durableIntentThrough ? work.intentThrough : nil
        let checkpoint = work.checkpoint ?? work.deferredCheckpoint, events = work.events
        let intentUTC = work.intentUTC
        let lineMemory = work.lineMemory ?? work.deferredLineMemory
        work.checkpoint = nil
        work.deferredCheckpoint = nil
        work.lineMemory = nil
        work.deferredLineMemory = nil
        work.events = []
        let commitWaiters = work.commitWaiters
        work.commitWaiters = []
        work.inFlightCommitWaiters = commitWaiters
        let counters = work.counters
        work.counters = [:]
        condition.unlock()
        guard intent != nil || checkpoint != nil || !events.isEmpty || lineMemory != nil || !counters.isEmpty else {
            // What the waiter handed over went with an earlier commit: durable only if that one
            // was (it may have landed in a replaced journal; a failed one keeps its rows pending).
            let durable = lastFailure.withLock { $0 } == nil
            for w in commitWaiters { w.resume(returning: durable) }
            return
        }
        let lineJSON = lineMemory.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            try write { db in
                if let intent {
                    try db.execute(sql: "INSERT INTO intent (session_id, utc_ns, through_stroke) VALUES (?, ?, ?)",
                                   arguments: [session, intentUTC, intent])
                }
                for e in events { try Self.insert(db, session: session, utc: e.utcNanoseconds, boot: e.bootNanoseconds, EventRow(e.event.kind)) }
                if let c = checkpoint {
                    try db.execute(sql: """
                        UPDATE progress SET utc_ns = ?, confirmed_strokes = ?, programmed_nl = ?, measured_since_fill_nl = ?, state = ?,
                                            bridge_remaining_nl = ?, occlusion_resting_mmhg = ?, battery_lowest_permille = ?,
                                            stopped_since_utc_ns = ?, boot_ns = ?
                        WHERE session_id = ?
                        """, arguments: [c.utcNanoseconds, c.confirmedStrokes, c.programmed.value, c.measuredSinceFill.value,
                                         c.state.rawValue, c.bridgeRemaining?.value, c.occlusionRestingMMHg, c.batteryLowest?.value,
                                         c.stoppedSinceUTCNanoseconds, c.bootNanoseconds, session])
                }
                if let lineJSON {
                    try db.execute(sql: "UPDATE progress SET line_memory = ? WHERE session_id = ?", arguments: [lineJSON, session])
                }
                for (role, c) in counters {
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO command_counter (role, last_counter, utc_ns)
                        VALUES (?, max(?, coalesce((SELECT last_counter FROM command_counter WHERE role = ?), 0)), ?)
                        """, arguments: [role, c.counter, role, c.utc])
                }
            }
            let took = Int64(DispatchTime.now().uptimeNanoseconds - started)
            commits.withLock { s in
                s.count += 1
                if s.nanoseconds.count >= 100_000 { s.nanoseconds.removeFirst(50_000) }
                s.nanoseconds.append(took)
            }
            // A commit into a file the path no longer names is not durable: the next start reads
            // the other file (outside attack: a bolus whose record went into a journal replaced a
            // moment before was given, and given again after a restart).
            let gone = replaced()
            lastFailure.withLock { $0 = gone }
            condition.lock()
            if let intent { durable.store(intent, ordering: .releasing) }
            if let c = checkpoint { work.lastCommitUTC = c.utcNanoseconds }
            work.failed = false
            work.inFlightCommitWaiters = []
            let ready = work.waiters.filter { $0.through <= durableIntentThrough }
            work.waiters.removeAll { $0.through <= durableIntentThrough }
            condition.unlock()
            for w in ready { w.resume.resume(returning: true) }
            for w in commitWaiters { w.resume(returning: gone == nil) }
        } catch {
            // Keep what failed for the next attempt; tell the waiters now.
            lastFailure.withLock { $0 = JournalStorage.explain(error) }
            condition.lock()
            work.failed = true
            work.inFlightCommitWaiters = []
            if work.checkpoint == nil { work.checkpoint = checkpoint }
            if work.lineMemory == nil { work.lineMemory = lineMemory }
            work.events = events + work.events
            for (role, c) in counters where (work.counters[role]?.counter ?? .min) < c.counter { work.counters[role] = c }
            let waiters = work.waiters
            work.waiters = []
            condition.unlock()
            for w in waiters { w.resume.resume(returning: false) }
            for w in commitWaiters { w.resume(returning: false) }
        }
    }

    static func insert(_ db: Database, session: Int64, utc: Int64, boot: Int64?, _ r: EventRow) throws {
        try db.execute(sql: """
            INSERT INTO event (session_id, utc_ns, boot_ns, type, detail, alarm, bolus_kind, bolus_dose_ng, bolus_duration_ns, accepted)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [session, utc, boot, r.type, r.detail, r.alarm, r.bolusKind, r.bolusDoseNanograms, r.bolusDurationNanoseconds, r.accepted])
    }

    /// A clean shutdown: flushes what is pending and stops the writer. With `confirmedStrokes`
    /// (the motor is disabled), intents beyond it were never used: one last intent row gives them
    /// back, so a restart finds nothing uncertain.
    public func close(confirmedStrokes: Int64?, utcNanoseconds: Int64) {
        if mode != .daemon {
            commitPending()
        } else {
            condition.lock()
            work.stopping = true
            condition.signal()
            condition.unlock()
            while let t = thread, !t.isFinished { Thread.sleep(forTimeInterval: 0.005) }
        }
        if let confirmedStrokes {
            try? write { db in
                try db.execute(sql: "INSERT INTO intent (session_id, utc_ns, through_stroke) VALUES (?, ?, ?)",
                               arguments: [session, utcNanoseconds, confirmedStrokes])
            }
        }
        // A stop leaves the journal self-contained without a checkpoint: with a rollback journal
        // every commit is in the main file when it returns, and the `-journal` beside it is empty.
        // The daemon's connection holds the file exclusively (`openWriter`): closing it lets
        // readers in.
        if mode == .daemon { try? pool.close() }
    }

    /// The simulator's power loss: what is not committed is gone.
    public func dropPending() {
        // What a due commit would already have written survives; the rest is gone.
        condition.lock()
        work.checkpoint = nil
        work.events = []
        work.lineMemory = nil
        work.intentThrough = durableIntentThrough
        condition.unlock()
        commitPending()
    }

    public var commitStats: CommitStats { commits.withLock { $0 } }

    /// SQLite's `PRAGMA synchronous` on the writer (2: FULL, every commit synced; 0: OFF).
    public var synchronousLevel: Int? { try? pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } }
}

/// A file's device and inode (`stat`): the same name can come to mean another file.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
