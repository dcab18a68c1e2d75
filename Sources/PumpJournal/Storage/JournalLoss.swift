import Foundation

/// The loss policy's storage half: a journal that cannot be used is moved aside (never deleted)
/// and a new one records why. Its own file because it is the only code that moves a journal.
extension JournalStorage {
    /// Why a journal could not be used, and where its remains were put.
    public struct Loss: Sendable, Equatable {
        public var reason: String
        /// Where the damaged file went (nil: there was nothing to keep).
        public var evidence: String?
        public var utcNanoseconds: Int64
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
}
