import Foundation

/// One owner at a time: the locks that make a second pumpd on the same journal refuse. Its own
/// file because the locks are taken once, before anything is written or any hardware touched,
/// and held for the life of the process.
extension JournalStorage {
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
}
