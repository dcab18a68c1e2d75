import Foundation
import GRDB

/// Telling a storage that refuses (I/O error, full, permissions, in use) from a journal whose
/// content is damaged, and saying either in words. Its own file because the difference decides
/// whether a journal is kept as it is or moved aside as lost.
extension JournalStorage {
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

}
