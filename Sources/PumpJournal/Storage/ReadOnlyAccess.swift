import Foundation
import GRDB

/// Reading a journal without changing it: a read-only connection, and a hot rollback journal
/// rolled back on a private copy. Its own file because readers (`pumpctl log`, `audit`, pumpd's
/// probe) must never alter the evidence they read.
extension JournalStorage {
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
}
