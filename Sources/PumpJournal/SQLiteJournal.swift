import Controller
import Foundation
import GRDB
import PumpCore
import PumpSync
import Synchronization

/// The dose journal in SQLite (GRDB; a rollback journal without memory map, `synchronous=FULL`
/// on the daemon: `JournalStorage.openWriter` says why not WAL).
///
/// Intents are committed by one writer thread as soon as they are asked for; `awaitIntent`
/// returns once the commit holding them is on stable storage. Checkpoints and events ride along
/// with the next commit (at most `commitInterval` later). In `inline` mode (the virtual-time
/// simulator) commits happen in the caller's thread, so a seed replays exactly; an unsynced tail
/// is then what a simulated power loss throws away.
///
/// This file: the modes, the state and the one write path. The rest, one job a file, in
/// `SQLiteJournal/`: `JournalOpening` (a start), `JournalDoseSide` (the controller's calls),
/// `JournalCommandRecords` (programs and counters), `JournalWriter` (the commits), `PendingWork`,
/// `WriteStallWatch` (stalls) and `JournalFileWatch` (a replaced file); the SQL is `JournalRows`.
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
    let durable = Atomic<Int64>(0)
    let condition = NSCondition()
    // Guarded by `condition` (`PendingWork.swift`).
    var work = Work()
    var thread: Thread?
    let commits = Locked<CommitStats>(CommitStats())
    /// Why the last write failed (nil: it succeeded): `DoseJournal.failure`.
    let lastFailure = Locked<String?>(nil)
    /// Whether the path still names the file this journal writes (the daemon only).
    let files: JournalFileWatch
    /// Longest a checkpoint waits for a commit.
    public static let commitIntervalNanoseconds: Int64 = 200_000_000

    /// A journal write that has not returned for this long is a stalled storage (`failure`).
    public var stallLimit = SafetyLimits().journalStallLimit
    /// Writes under way and how long each has waited.
    let stalls = WriteStallWatch()
    /// The clock stalls are measured on (tests move it by hand).
    var uptimeNanoseconds: @Sendable () -> UInt64 {
        get { stalls.uptimeNanoseconds }
        set { stalls.uptimeNanoseconds = newValue }
    }

    /// Every write goes through here, so a write the storage does not answer is seen (`stalled`).
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try stalls.timing { try pool.write(body) }
    }

    /// How long the oldest write under way has waited for the storage (0: none under way).
    var stalledNanoseconds: Int64 { stalls.stalledNanoseconds }
    var isStalled: Bool { stalledNanoseconds >= stallLimit.value }
    /// Writes under way now (tests).
    var writesInProgress: Int { stalls.count }

    /// Commit durations, for the benchmark (the last 100 000).
    public struct CommitStats: Sendable {
        public var nanoseconds: [Int64] = []
        public var count = 0
    }

    init(path: String, mode: Mode, pool: DatabaseQueue, session: Int64, intended: Int64, boot: BootClock) {
        self.path = path
        self.mode = mode
        self.pool = pool
        self.session = session
        self.boot = boot
        durable.store(intended, ordering: .relaxed)
        work.intentThrough = intended
        files = JournalFileWatch(path: path, watching: mode == .daemon)
    }

    public var commitStats: CommitStats { commits.withLock { $0 } }

    /// SQLite's `PRAGMA synchronous` on the writer (2: FULL, every commit synced; 0: OFF).
    public var synchronousLevel: Int? { try? pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } }
}
