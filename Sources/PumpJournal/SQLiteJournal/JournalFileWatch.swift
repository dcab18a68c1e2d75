import Foundation
import PumpSync

/// Notices when the daemon's journal file, or its rollback journal, is deleted or replaced under a
/// running pumpd. Its own type because it holds what it first saw (device and inode) and is asked
/// after every commit; a commit into a file the path no longer names is not durable.
final class JournalFileWatch: Sendable {
    let path: String
    /// The daemon's journal file as opened (device, inode): after each commit the path must still
    /// name it. A journal deleted or replaced under a running pumpd took every later row with it,
    /// unnoticed until the next start found it missing (outside attack, finding F11).
    private let opened: FileIdentity?
    /// Its rollback journal as first found after a commit (`replaced`).
    private let rollbackSeen = Locked<FileIdentity?>(nil)

    /// `watching`: false for the simulator and tests (nothing is ever reported).
    init(path: String, watching: Bool) {
        self.path = path
        opened = watching ? FileIdentity(path: path) : nil
    }

    /// Why the path no longer names the file this journal writes (nil: it does, or not the daemon).
    /// The rows go on into the open file, but the next start cannot find them.
    /// Its rollback journal (`-journal`, kept open and truncated, never deleted, in exclusive
    /// TRUNCATE mode) is watched the same way from the first commit that finds it: deleted, SQLite
    /// goes on writing into the unlinked file, and a crash during a commit would leave the main
    /// file half-written with nothing to roll it back (storage attack, 2026-12-04).
    func replaced() -> String? {
        guard let opened else { return nil }
        let now = FileIdentity(path: path)
        guard now == opened else {
            return "\(path) was \(now == nil ? "deleted" : "replaced by another file") while pumpd runs: what it writes now is lost at the next start"
        }
        let rollback = path + "-journal"
        let current = FileIdentity(path: rollback)
        return rollbackSeen.withLock { seen -> String? in
            guard let first = seen else {
                seen = current
                return nil
            }
            guard current != first else { return nil }
            return "\(rollback) was \(current == nil ? "deleted" : "replaced by another file") while pumpd runs: "
                + "a crash during a commit would leave the journal half-written, with nothing to roll it back"
        }
    }
}

/// A file's device and inode (`stat`): the same name can come to mean another file.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
