import Controller
import Foundation

/// The controller's side of the journal (`DoseJournal`): intents asked for and awaited,
/// checkpoints and events handed to the writer, commits awaited, and what `failure` reports. Its
/// own file because these calls only hand work over; the writer (`JournalWriter.swift`) commits it.
extension SQLiteJournal {
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
}
