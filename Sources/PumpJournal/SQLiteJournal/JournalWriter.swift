import Controller
import Foundation
import GRDB

/// The writer: the daemon's writer thread, the one commit that carries whatever is pending, and
/// the two ways a journal ends (a clean close, a simulated power loss). Its own file because it is
/// the only place rows of the batched kinds are written.
extension SQLiteJournal {
    func startWriter() {
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
    func commitPending() {
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
                if let intent { try JournalRows.insertIntent(db, session: session, utc: intentUTC, through: intent) }
                for e in events { try JournalRows.insertEvent(db, session: session, utc: e.utcNanoseconds, boot: e.bootNanoseconds, EventRow(e.event.kind)) }
                if let c = checkpoint { try JournalRows.updateProgress(db, session: session, c) }
                if let lineJSON { try JournalRows.updateLineMemory(db, session: session, json: lineJSON) }
                for (role, c) in counters { try JournalRows.raiseCounter(db, role: role, to: c.counter, utc: c.utc) }
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
            let gone = files.replaced()
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
            try? write { db in try JournalRows.insertIntent(db, session: session, utc: utcNanoseconds, through: confirmedStrokes) }
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
}
