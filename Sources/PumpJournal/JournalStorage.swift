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
public enum JournalStorage {
    /// The lock file beside a journal (kept; only its lock matters).
    public static func lockPath(for journal: String) -> String { journal + ".lock" }

    /// Takes the journal's exclusive lock for the life of the process (the descriptor is never
    /// closed). Throws when another process holds it; creates nothing but the lock file.
    ///
    /// Two locks, so that no second name for the journal escapes them: one on the lock file beside
    /// the journal's real path (symlinks resolved; held even while no journal exists), and one on
    /// the journal file itself (an inode: a hard link or a deleted lock file cannot get round it).
    public static func takeOwnership(of journal: String) throws(JournalError) {
        try refuseUntrustedPathAsRoot(journal)
        try refuseNonRegular(journal)
        let real = realPath(journal)   // after the checks: a link swapped in between is one they saw
        try lock(lockPath(for: real), create: true, journal: journal)
        try lockJournalFile(journal)
    }

    /// The journal's own inode lock (after provisioning a new file, too). Nothing there: nothing to lock.
    static func lockJournalFile(_ journal: String) throws(JournalError) {
        var st = stat()
        guard stat(journal, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        try lock(journal, create: false, journal: journal)
    }

    private static func lock(_ path: String, create: Bool, journal: String) throws(JournalError) {
        // The lock file is never followed through a link: a link there is someone else's doing.
        let fd = create ? open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600) : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            var st = stat()
            if e == ELOOP {
                throw JournalError("journal \(journal): \(path) is a symbolic link, not a lock file; nothing was changed (remove it)")
            }
            if e == EACCES, stat(path, &st) == 0, st.st_uid != geteuid() {
                throw JournalError("journal \(journal): cannot open \(path) to lock it: it belongs to uid \(st.st_uid) and this pumpd runs as uid \(geteuid()) (a process run as another user made it; give it to this one: chown)")
            }
            throw JournalError("journal \(journal): cannot open \(path) to lock it (errno \(e))")
        }
        var st = stat()
        if create, fstat(fd, &st) != 0 || st.st_mode & S_IFMT != S_IFREG {
            close(fd)
            throw JournalError("journal \(journal): \(path) is not a regular file; nothing was changed")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK {
                throw JournalError("journal \(journal) is in use by another pumpd (it holds \(path)); nothing was changed")
            }
            throw JournalError("journal \(journal): cannot lock \(path) (errno \(e))")
        }
        // Deliberately left open: the lock ends with the process (closing it would also drop
        // SQLite's own POSIX locks on the journal).
    }

    /// A process running as root (pumpd, `pumpctl journal init`, `log`, `audit`) uses a journal
    /// only where no other user can change what its path leads to. The path is walked from `/`,
    /// following its links here, so every step is checked: every folder on the way exists,
    /// belongs to root and is writable by no one else unless it is sticky (`/tmp`: others cannot
    /// rename root's entries there); every link belongs to root. In a sticky shared folder the
    /// journal, its companions and its lock, where they exist, must be root's own regular files
    /// with one link. Otherwise it makes nothing and says as whom to run.
    ///
    /// Why: run as root in the service user's folder, pumpd and `pumpctl journal init` left a
    /// root-owned lock and `-journal` that the service could not open at its next start. Giving
    /// them to the folder's owner (the first fix) let that owner have root chown any file through a
    /// planted link; checking the folder alone let a link planted in a shared folder, a dangling
    /// link, a folder made or swapped after the check, or a file pre-made in `/tmp` lead root's
    /// files where the attacker chose (outside attacks, three rounds). With every step root's,
    /// nothing can move under root between check and use.
    static func refuseUntrustedPathAsRoot(_ journal: String) throws(JournalError) {
        guard geteuid() == 0 else { return }
        let absolute = journal.hasPrefix("/") ? journal : FileManager.default.currentDirectoryPath + "/" + journal
        func refuse(_ why: String, owner: uid_t?) -> JournalError {
            let user = owner.flatMap { uid in getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)" }
            let runAs = user.map { "run it as \($0) (sudo -u \($0) …)" } ?? "use a folder only root can change, or run as the journal's owner"
            return JournalError("journal \(journal): \(why), and this runs as root: \(runAs). Nothing was changed")
        }
        var links = 0
        func walk(_ path: String) throws(JournalError) {
            let parts = path.split(separator: "/").map(String.init)
            guard let name = parts.last else { throw refuse("names no file", owner: nil) }
            var folder = ""
            for (i, part) in parts.enumerated() {
                let here = folder + "/" + part, last = i == parts.count - 1
                var st = stat()
                guard lstat(here, &st) == 0 else {
                    if last { break }   // the journal itself need not exist yet
                    throw refuse("its folder \(here) does not exist (made later, it could be anyone's)", owner: nil)
                }
                if st.st_mode & S_IFMT == S_IFLNK {
                    if st.st_uid != 0 { throw refuse("\(here) is a link that belongs to another user", owner: st.st_uid) }
                    links += 1
                    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                    let n = readlink(here, &buffer, buffer.count - 1)
                    guard links <= 32, n > 0 else { throw refuse("\(here): a link that cannot be followed", owner: nil) }
                    let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    let rest = parts[(i + 1)...].joined(separator: "/")
                    let resolved = (target.hasPrefix("/") ? target : folder + "/" + target) + (rest.isEmpty ? "" : "/" + rest)
                    return try walk(resolved)   // where root's own link leads is walked step by step too
                }
                if last { break }
                guard st.st_mode & S_IFMT == S_IFDIR else { throw refuse("\(here) is not a folder", owner: nil) }
                if st.st_uid != 0 { throw refuse("its folder \(here) belongs to another user", owner: st.st_uid) }
                if st.st_mode & 0o022 != 0 && st.st_mode & S_ISVTX == 0 {
                    throw refuse("its folder \(here) can be changed by other users (mode \(String(st.st_mode & 0o7777, radix: 8)))", owner: nil)
                }
                folder = here
            }
            // In a shared sticky folder anyone may have made the names root is about to use.
            var st = stat()
            guard lstat(folder.isEmpty ? "/" : folder, &st) == 0, st.st_mode & 0o022 != 0 else { return }
            for file in companionSuffixes.map({ name + $0 }) + [name + ".lock"] {
                var f = stat()
                guard lstat(folder + "/" + file, &f) == 0 else { continue }
                let regular = f.st_mode & S_IFMT == S_IFREG
                if file == name && !regular { continue }   // not a file at all: refused as such (refuseNonRegular)
                if !regular || f.st_uid != 0 || f.st_nlink != 1 {
                    throw refuse("\(folder)/\(file) in the shared folder \(folder) is not root's own file", owner: f.st_uid == 0 ? nil : f.st_uid)
                }
            }
        }
        try walk(absolute)
    }

    /// Something other than a file where the journal should be (a folder, a FIFO) is refused
    /// before anything is made beside it (`--journal /tmp` made `/tmp.lock`).
    static func refuseNonRegular(_ journal: String) throws(JournalError) {
        var st = stat()
        if stat(journal, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            throw JournalError("journal \(journal) is not a regular file; nothing was changed", storage: true)
        }
    }

    /// The folder that names `path` ("." for a bare name).
    static func folderOf(_ path: String) -> String {
        let f = (path as NSString).deletingLastPathComponent
        return f.isEmpty ? "." : f
    }

    /// The path with every symlink resolved (of the file if it exists, else of its folder).
    static func realPath(_ path: String) -> String {
        if let r = realpath(path, nil) { defer { free(r) }; return String(cString: r) }
        let folder = folderOf(path)
        if let r = realpath(folder, nil) { defer { free(r) }; return String(cString: r) + "/" + (path as NSString).lastPathComponent }
        return path
    }

    /// The journal file and those SQLite keeps beside it: the rollback journal, and a WAL and its
    /// index (older journals ran in WAL mode; the first open for writing converts them).
    static let companionSuffixes = ["", "-journal", "-wal", "-shm"]

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

    /// SQLite's answers that say the storage or another process refused, not that the file's
    /// content is damaged: I/O errors, a full filesystem, permissions, a file that cannot be
    /// opened, locks. Everything else (`SQLITE_CORRUPT`, `SQLITE_NOTADB`, content a build cannot
    /// restore) is the content's, and a loss.
    static func isStorageFault(_ error: any Error) -> Bool {
        if let e = error as? JournalError { return e.storage }
        guard let e = error as? DatabaseError else { return false }
        let storage: [ResultCode] = [.SQLITE_IOERR, .SQLITE_FULL, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_BUSY, .SQLITE_LOCKED,
                                        .SQLITE_READONLY, .SQLITE_NOMEM, .SQLITE_AUTH, .SQLITE_NOLFS, .SQLITE_PROTOCOL]
        return storage.contains(e.resultCode)
    }

    /// The error that stops a start on storage that refuses: the journal is kept as it is.
    static func refusal(_ path: String, _ error: any Error) -> JournalError {
        let why = (error as? JournalError)?.message ?? explain(error)
        return JournalError("journal \(path): the storage refused (\(why)); not taken for a lost journal: nothing was moved aside, "
                            + "and pumpd does not start until the storage answers", storage: true)
    }

    /// An error in words a bench engineer can act on (the usual ones), else SQLite's own.
    static func explain(_ error: any Error) -> String {
        guard let e = error as? DatabaseError else { return "\(error)" }
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return "in use by another process (pumpd holds its journal exclusively while it runs: read it after pumpd stops; "
                + "pumpctl status is the live view) (\(e.message ?? "database is locked"))"
        case .SQLITE_READONLY:
            return "cannot be written: the file, its folder or its filesystem is read-only for this user (\(e.message ?? "read-only"))"
        case .SQLITE_FULL:
            return "the filesystem is full (\(e.message ?? "disk is full"))"
        default:
            return "\(e)"
        }
    }

    /// Runs `body` on a read-only connection to the journal at `path`. A journal with a hot
    /// rollback journal beside it (a writer died mid-commit) cannot be read read-only: the
    /// unfinished commit is rolled back on a copy of the file and its `-journal` in a private
    /// temporary folder, so a reader never changes what it reads (outside attack: `pumpctl log` on
    /// a damaged journal's remains rolled them back and deleted their `-journal`).
    ///
    /// `inPlaceIfNoCopy` (pumpd's probe only): when no copy can be made (no space, no temporary
    /// folder), roll back in place, as pumpd's own open would next: a nearly full card after a
    /// crash mid-commit must not stop basal at every start; a damaged file is then kept as it was
    /// after the rollback.
    static func reading<T>(_ path: String, inPlaceIfNoCopy: Bool = false, _ body: (Database) throws -> T) throws -> T {
        // A FIFO or a device where the file or its `-journal` should be would block SQLite's
        // open for ever (outside attack: a FIFO `-journal` hung pumpd before its first log line).
        for suffix in ["", "-journal"] {
            var st = stat()
            if stat(path + suffix, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
                throw JournalError("journal \(path): \(path + suffix) is not a regular file", storage: true)
            }
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(2)
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            return try queue.read(body)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_READONLY_ROLLBACK {
            config.readonly = false
            var made: String?
            defer { if let made { try? FileManager.default.removeItem(atPath: made) } }
            do {
                made = try makeTemporaryFolder()
                for suffix in ["", "-journal"] { try FileManager.default.copyItem(atPath: path + suffix, toPath: made! + "/journal" + suffix) }
            } catch {
                guard inPlaceIfNoCopy else {
                    throw JournalError("journal \(path): a writer died mid-commit, and the copy to roll it back on cannot be made (\(error))",
                                       storage: true)
                }
                let queue = try DatabaseQueue(path: path, configuration: config)
                defer { try? queue.close() }
                return try queue.read(body)
            }
            let queue = try DatabaseQueue(path: made! + "/journal", configuration: config)
            defer { try? queue.close() }
            return try queue.read(body)
        }
    }

    /// A new owner-only folder under the temporary directory (`mkdtemp`).
    private static func makeTemporaryFolder() throws -> String {
        // Root ignores $TMPDIR (a user's, kept by `sudo -E`, could be a folder that user renames).
        var template = Array(((geteuid() == 0 ? "/tmp" : NSTemporaryDirectory()) + "/pump-journal-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw JournalError("cannot make a temporary folder (errno \(errno))", storage: true) }
        return String(cString: made)
    }

    /// Creates a new, empty journal at `path`: the schema and the provisioning mark. Refuses if
    /// anything is there (a journal is never replaced by provisioning).
    public static func provision(path: String, utcNanoseconds: Int64) throws(JournalError) {
        try refuseUntrustedPathAsRoot(path)
        if companionSuffixes.contains(where: { FileManager.default.fileExists(atPath: path + $0) }) {
            throw JournalError("journal \(path): already exists; provisioning never replaces a journal")
        }
        try create(path: path, utcNanoseconds: utcNanoseconds, loss: nil)
    }

    /// Why a journal could not be used, and where its remains were put.
    public struct Loss: Sendable, Equatable {
        public var reason: String
        /// Where the damaged file went (nil: there was nothing to keep).
        public var evidence: String?
        public var utcNanoseconds: Int64
    }

    /// Checks the journal at `path` before it is opened for writing. nil: it is a provisioned,
    /// intact journal of a schema this build knows. Otherwise the reason it is lost. Throws when
    /// the storage refuses (`isStorageFault`): that is no verdict on the journal, and changes nothing.
    static func problem(path: String) throws(JournalError) -> String? {
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else {
            return companionSuffixes.dropFirst().first { fm.fileExists(atPath: path + $0) }
                .map { "the journal file is missing (its \($0) is there)" }
                ?? "no journal at \(path) (a first start needs one provisioned: pumpctl journal init --journal \(path))"
        }
        // Every byte read back first: SQLite reads a block the device fails as a short read and
        // reports the file "malformed", which would move an intact journal aside as lost (storage
        // attack 2026-12-04: read errors on the last block after a reboot's empty page cache).
        try readBack(path)
        do {
            // Read-only: a probe must not write into a damaged file (the evidence is moved aside
            // as it was found). A hot rollback journal is rolled back on a copy (`reading`).
            return try reading(path, inPlaceIfNoCopy: true) { db -> String? in
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard check == ["ok"] else { return "integrity_check failed: \(check.prefix(3).joined(separator: "; "))" }
                let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                if tables.isEmpty { return "the journal is empty (a provisioned journal never is)" }
                guard tables.contains("provision") || tables.contains("session") else { return "not a pump journal (no provisioning mark)" }
                if try Schema.migrator.hasBeenSuperseded(db) { return "written by a newer pumpd (schema beyond \(Schema.version))" }
                if tables.contains("provision"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM provision") == 0 {
                    return "not a pump journal (no provisioning mark)"
                }
                return nil
            }
        } catch where isStorageFault(error) {
            throw refusal(path, error)
        } catch {
            return "unreadable: \(error)"
        }
    }

    /// Reads every byte of the journal and its companions; a read the storage fails is a refusal.
    static func readBack(_ path: String) throws(JournalError) {
        for suffix in companionSuffixes where FileManager.default.fileExists(atPath: path + suffix) {
            if let e = unreadable(path + suffix) {
                throw refusal(path, JournalError("reading \(path + suffix): \(String(cString: strerror(e))) (errno \(e))"))
            }
        }
    }

    /// The errno of the first failed read of a regular file's bytes, start to end (nil: all read,
    /// or not a regular file, which other checks refuse).
    static func unreadable(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { continue }
            if n == 0 { return nil }
            if errno != EINTR { return errno }
        }
    }

    /// The loss policy's storage half: moves whatever is at `path` (and its companions: the
    /// rollback journal, an older journal's -wal and -shm) aside to `<path>.lost-<UTC>` (`-2`,
    /// `-3` … if taken) and provisions a new journal that records the loss. Replay protection
    /// survives: every role's last accepted counter starts at the loss time in microseconds
    /// (pumpctl's counters are the signing time in microseconds), so a
    /// request signed before the loss is refused after it (while the signer's clock is not ahead
    /// of the pump's: docs/journal.md).
    static func replaceLost(path: String, reason: String, utcNanoseconds: Int64) throws(JournalError) -> Loss {
        // Read back again right before anything is moved: a block that read well once and fails
        // now made SQLite's later read call an intact journal malformed (outside attack: the
        // probe's read-back passed, and the journal went aside as lost). That is the storage.
        try readBack(path)
        let stamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(utcNanoseconds) / 1e9))
            .replacingOccurrences(of: ":", with: "")
        // Never over earlier evidence (two losses in one second, a clock that repeats its boot time).
        var aside = "\(path).lost-\(stamp)"
        var n = 1
        while JournalStorage.companionSuffixes.contains(where: { FileManager.default.fileExists(atPath: aside + $0) }) {
            n += 1
            aside = "\(path).lost-\(stamp)-\(n)"
        }
        var moved: [String] = []
        // A loss whose new journal cannot be made (a full card) changes nothing: the remains go
        // back where they were, so the next start finds the same damage for the same reason
        // (outside attack: each retry took the last one's empty new file for a loss of its own,
        // and the new journal finally pointed the review at an empty file).
        func putBack() { for suffix in moved { rename(aside + suffix, path + suffix) } }
        for suffix in JournalStorage.companionSuffixes where FileManager.default.fileExists(atPath: path + suffix) {
            guard rename(path + suffix, aside + suffix) == 0 else {
                let e = errno
                putBack()
                throw JournalError("journal \(path): lost (\(reason)) and cannot be moved aside to \(aside + suffix) (errno \(e)); left as found",
                                   storage: true)
            }
            moved.append(suffix)
        }
        let loss = Loss(reason: reason, evidence: moved.isEmpty ? nil : aside, utcNanoseconds: utcNanoseconds)
        do {
            try create(path: path, utcNanoseconds: utcNanoseconds, loss: loss)
        } catch {
            // What stands at a name nothing was moved from is the failed new journal's.
            for suffix in JournalStorage.companionSuffixes where !moved.contains(suffix) { unlink(path + suffix) }
            putBack()
            throw JournalError("journal \(path): lost (\(reason)), and no new journal can be made (\(error.message)); the remains are "
                               + "left where they were, and pumpd does not start until the storage answers", storage: true)
        }
        try lockJournalFile(path)
        return loss
    }

    private static func create(path: String, utcNanoseconds: Int64, loss: Loss?) throws(JournalError) {
        do {
            let old = umask(0o077)   // health data: owner only
            defer { umask(old) }
            let queue = try openWriter(path: path, synchronous: .full)
            try Schema.migrator.migrate(queue)
            try queue.write { db in
                try db.execute(sql: "INSERT INTO provision (utc_ns, lost_reason, lost_evidence) VALUES (?, ?, ?)",
                               arguments: [utcNanoseconds, loss?.reason, loss?.evidence])
                if loss != nil {
                    for role in ["clinician", "patient"] {
                        try db.execute(sql: "INSERT OR REPLACE INTO command_counter (role, last_counter, utc_ns) VALUES (?, ?, ?)",
                                       arguments: [role, utcNanoseconds / 1000, utcNanoseconds])
                    }
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
