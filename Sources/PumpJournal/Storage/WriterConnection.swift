import Foundation
import GRDB

/// The writer's SQLite connection: rollback journal (not WAL), no memory map, the asked
/// `synchronous`, exclusive for the daemon, each read back. Its own file because these settings
/// are what keep a stalled storage from stopping the whole of pumpd.
extension JournalStorage {
    /// How hard a commit is pushed to storage.
    enum Sync: String { case full = "FULL", off = "OFF" }

    /// Where SQLite keeps the old pages of a transaction until it commits.
    enum RollbackJournal: String {
        /// `<journal>-journal`, truncated at each commit: a writer that dies mid-commit is rolled
        /// back by the next open. The daemon's.
        case file = "TRUNCATE"
        /// In memory: only for a process that never dies mid-commit with the file still in use
        /// (the simulator and tests, at `synchronous=OFF`), where a journal file would be I/O
        /// for nothing (seeds 1-300 of the swarm ran ~5% slower with one, in one side-by-side run).
        case memory = "MEMORY"
    }

    /// Opens a journal for writing: one connection, SQLite's rollback journal (not WAL), no
    /// memory map of the file, `synchronous` as asked; each one read back, never assumed.
    ///
    /// Why not WAL: its index (`-shm`) is a shared memory map of a file on the journal's own
    /// storage. When that storage stalls (a failing or full SD card; a frozen filesystem in the
    /// HIL), a commit's write fault on the map waits inside the kernel holding the process's
    /// `mmap_lock`; the next mmap or munmap in any thread queues behind it and every page fault
    /// behind that, so the whole of pumpd stops: dose loop, watchdog task, alarm (found by the
    /// HIL under AddressSanitizer, docs/hil.md). With no map, a stalled storage holds only the
    /// writer thread, in its write or fsync, and the watchdog task sees the dose loop stop.
    /// `TRUNCATE` rather than `DELETE`: SQLite syncs the truncation at `synchronous=FULL`, where
    /// a deleted journal's directory entry is not synced, so a power cut could roll a commit back.
    ///
    /// The daemon's connection (`.file`) also holds the file exclusively from its first write to
    /// its close (`locking_mode=EXCLUSIVE`). Under a rollback journal a reader's open transaction
    /// holds off every commit for as long as it lasts (an outside attack held one for 30 s:
    /// `journal_fault` after 5 s, strokes without durable intents). So no other process reads a
    /// journal while pumpd runs: `pumpctl status` is the live view, `pumpctl log`/`audit` read
    /// after pumpd stops. A reader that holds the file as pumpd starts delays it by at most the
    /// busy timeout, then pumpd refuses to start and changes nothing (a storage refusal, not a loss).
    static func openWriter(path: String, synchronous: Sync, rollback: RollbackJournal = .file) throws -> DatabaseQueue {
        var config = Configuration()
        config.busyMode = .timeout(5)   // a reader's transaction is waited for, not a loss
        let queue = try DatabaseQueue(path: path, configuration: config)
        let locking = rollback == .file ? "EXCLUSIVE" : "NORMAL"
        try queue.writeWithoutTransaction { db in
            let held = try String.fetchOne(db, sql: "PRAGMA locking_mode = \(locking)")
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = \(rollback.rawValue)")
            try db.execute(sql: "PRAGMA mmap_size = 0")
            let mapped = try Int.fetchOne(db, sql: "PRAGMA mmap_size")
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
            let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
            guard held?.uppercased() == locking, mode?.uppercased() == rollback.rawValue, mapped == 0, level == (synchronous == .full ? 2 : 0) else {
                // Not the content: another connection can keep a WAL journal from converting.
                throw JournalError("journal \(path): SQLite runs with locking_mode \(held ?? "?"), journal_mode \(mode ?? "?"), "
                                   + "mmap_size \(mapped.map(String.init) ?? "?"), synchronous level \(level.map(String.init) ?? "?"); "
                                   + "wanted \(locking), \(rollback.rawValue), 0, \(synchronous.rawValue)", storage: true)
            }
        }
        return queue
    }
}
