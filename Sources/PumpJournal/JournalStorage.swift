import Foundation
import GRDB
import PumpCore

/// Who owns a journal, how one comes to exist, and what happens when one is lost.
///
/// - One owner: pumpd holds an exclusive `flock` on `<journal>.lock` for its whole life, taken
///   before it writes anything or touches hardware. A second pumpd on the same journal refuses.
/// - Never a silent fresh start: a journal is created only by an explicit provisioning step
///   (`pumpctl journal init`, or `pumpd --new-journal` for a first start). pumpd never creates
///   one implicitly, so a missing or empty journal where pumpd is told to find one is a loss.
/// - A loss keeps the evidence (moved aside, never deleted) and starts a new journal that
///   records the loss; the controller raises `journal_lost` (fault table) from it.
///
/// This file: provisioning. The rest, one job a file: `JournalOwnership` (the locks),
/// `JournalPaths` (what a path may lead to), `WriterConnection` (the writer's SQLite settings),
/// `StorageRefusals` (storage versus content), `ReadOnlyAccess`, `JournalProbe` (the integrity
/// check before a start) and `JournalLoss` (the loss policy).
public enum JournalStorage {
    /// The journal file and those SQLite keeps beside it: the rollback journal, and a WAL and its
    /// index (older journals ran in WAL mode; the first open for writing converts them).
    static let companionSuffixes = ["", "-journal", "-wal", "-shm"]

    /// Creates a new, empty journal at `path`: the schema and the provisioning mark. Refuses if
    /// anything is there (a journal is never replaced by provisioning).
    public static func provision(path: String, utcNanoseconds: Int64) throws(JournalError) {
        try refuseUntrustedPathAsRoot(path)
        if companionSuffixes.contains(where: { FileManager.default.fileExists(atPath: path + $0) }) {
            throw JournalError("journal \(path): already exists; provisioning never replaces a journal")
        }
        try create(path: path, utcNanoseconds: utcNanoseconds, loss: nil)
    }

    /// A new journal: the schema, the provisioning mark and, after a loss, the counters that keep
    /// replay protection.
    static func create(path: String, utcNanoseconds: Int64, loss: Loss?) throws(JournalError) {
        do {
            let old = umask(0o077)   // health data: owner only
            defer { umask(old) }
            let queue = try openWriter(path: path, synchronous: .full)
            try Schema.migrator.migrate(queue)
            try queue.write { db in
                try JournalRows.insertProvision(db, utc: utcNanoseconds, lostReason: loss?.reason, lostEvidence: loss?.evidence)
                if loss != nil {
                    for role in ["clinician", "patient"] { try JournalRows.setCounter(db, role: role, to: utcNanoseconds / 1000, utc: utcNanoseconds) }
                }
            }
            try queue.close()
        } catch {
            throw JournalError("journal \(path): cannot create (\(error))")
        }
        // On stable storage before anyone relies on it: the file, and its name in the folder (a
        // power cut right after provisioning must not find "no journal": that reads as a loss).
        try syncFileAndFolder(path)
    }

    /// fsync of a file and of the folder that names it (a new or renamed file's directory entry).
    static func syncFileAndFolder(_ path: String) throws(JournalError) {
        let folder = folderOf(path)
        for (p, flags) in [(path, O_RDONLY), (folder, O_RDONLY | O_DIRECTORY)] {
            let fd = open(p, flags | O_CLOEXEC)
            guard fd >= 0 else { throw JournalError("journal \(path): cannot open \(p) to sync it (errno \(errno))") }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw JournalError("journal \(path): fsync of \(p) failed (errno \(errno))") }
        }
    }
}
