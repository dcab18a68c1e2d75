import Foundation
import GRDB

/// The integrity check before a journal is opened for writing: every byte read back, then
/// SQLite's `integrity_check`, the provisioning mark and the schema version. Its own file because
/// its verdict (intact, lost, or a storage that refuses) decides what the start does next.
extension JournalStorage {

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
}
