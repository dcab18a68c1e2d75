import Controller
import Foundation
import GRDB

/// What the command interface writes and waits for: a program change and the command counters
/// (replay protection). Its own file because these writes are synchronous, outside the writer's
/// batches, and each is checked against a replaced journal before it counts.
extension SQLiteJournal {
    /// A program change, committed and synced before it returns (the command waits for it).
    public func recordProgram(_ p: ProgramRecord) -> Bool {
        // Behind a stalled write this one would hang the command until the storage answers.
        if isStalled { return false }
        do {
            try write { db in try JournalRows.insertProgram(db, session: session, p) }
            // Written into a file the path no longer names: a restart would go on with the old program.
            if let gone = files.replaced() {
                lastFailure.withLock { $0 = gone }
                return false
            }
            return true
        } catch {
            lastFailure.withLock { $0 = JournalStorage.explain(error) }
            return false
        }
    }

    /// The last accepted counter of a role (0: none yet).
    public func lastCommandCounter(role: String) -> Int64 {
        (try? pool.read { db in try JournalRows.counter(db, role: role) }) ?? 0
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
                let stored = try JournalRows.counter(db, role: role) ?? 0
                let last = repair(stored)
                if last != stored {
                    try JournalRows.setCounter(db, role: role, to: last, utc: utcNanoseconds)
                }
                guard counter > last else { return .stale(last: last) }
                try JournalRows.setCounter(db, role: role, to: counter, utc: utcNanoseconds)
                return .advanced
            }
            // Written into a file the path no longer names: a restart would not know it (the
            // command it admits could be replayed then).
            if verdict == .advanced, let gone = files.replaced() {
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
}
