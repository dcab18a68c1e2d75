import Controller
import Foundation

/// What waits for the writer: the work handed over since the last commit and the callers waiting
/// for it. Its own file because both the `DoseJournal` side and the writer thread use it, always
/// under `condition`.
extension SQLiteJournal {
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
}
