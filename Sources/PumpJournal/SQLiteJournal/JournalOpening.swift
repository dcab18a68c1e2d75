import Controller
import Foundation
import GRDB
import PumpCore

/// Opening a journal: the probe and the loss policy for a journal pumpd needs, then this start's
/// session, program and progress rows. Its own file because it runs once, before any writer exists.
extension SQLiteJournal {
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
                try JournalRows.insertSession(db, utc: utcNanoseconds, board: board, restored: restored != nil, bootID: boot.id, boot: bootNow,
                                              timeline: timeline)
                let session = db.lastInsertedRowID
                let last = try Row.fetchOne(db, sql: "SELECT therapy, reservoir_fill_nl, filled_at_stroke, prescription FROM program ORDER BY id DESC LIMIT 1")
                if ((try last?.get("prescription", in: "program")) as String?) != nil, ((try last?.get("therapy", in: "program")) as String?) != therapy {
                    // A clinician programmed the pump by command: that program stays in force; the
                    // start's prescription file is only for a fresh journal.
                    try JournalRows.insertEvent(db, session: session, utc: utcNanoseconds, boot: bootNow,
                                                EventRow(type: "program", detail: "prescription file ignored: the program a clinician set by command stays in force"))
                } else if try last == nil || ((try last?.get("therapy", in: "program")) as String?) != therapy {
                    let fill: Int64 = (try last?.get("reservoir_fill_nl", in: "program")) ?? reservoirFill.value
                    let filledAt: Int64 = (try last?.get("filled_at_stroke", in: "program")) ?? 0
                    try JournalRows.insertFileProgram(db, session: session, utc: utcNanoseconds, therapy: therapy, fill: fill, filledAt: filledAt)
                    try JournalRows.insertEvent(db, session: session, utc: utcNanoseconds, boot: bootNow,
                                                EventRow(type: "program", detail: last == nil ? "first prescription" : "prescription changed"))
                }
                let how = loss.map { "a new journal after a loss: \($0.reason)\($0.evidence.map { "; remains kept at \($0)" } ?? "")" }
                try JournalRows.insertEvent(db, session: session, utc: utcNanoseconds, boot: bootNow,
                                            EventRow(type: "session", detail: "started on \(board), " + (how ?? (restored == nil ? "fresh journal" : "restoring"))))
                try JournalRows.insertProgress(db, session: session, utc: utcNanoseconds, restored: restored, boot: bootNow)
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
}
