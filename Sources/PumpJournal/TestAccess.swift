import GRDB

/// Raw access for the tests of the append-only rule (a tampering attempt through SQL).
public enum JournalTestAccess {
    public static func deleteEvents(path: String) throws {
        let db = try DatabaseQueue(path: path)
        try db.write { try $0.execute(sql: "DELETE FROM event") }
    }
}

extension JournalTestAccess {
    /// Marks a journal as written by a later pumpd (a migration this build does not know).
    public static func markNewerSchema(path: String) throws {
        let db = try DatabaseQueue(path: path)
        try db.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try db.close()
    }
}

extension JournalTestAccess {
    /// Raw SQL on a journal (a damage the file's own checks cannot see).
    public static func execute(path: String, sql: String) throws {
        let db = try DatabaseQueue(path: path)
        try db.write { try $0.execute(sql: sql) }
        try db.close()
    }
}

extension JournalTestAccess {
    /// Runs `body` while a transaction on the journal has spilled into the main file and not
    /// committed (a tiny page cache forces the spill), then rolls it back: what a writer killed
    /// mid-commit leaves on disk is there while `body` runs.
    public static func withSpilledTransaction(path: String, _ body: () throws -> Void) throws {
        let db = try DatabaseQueue(path: path)
        defer { try? db.close() }
        try db.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = TRUNCATE")
            try db.execute(sql: "PRAGMA cache_size = 2")
            try db.execute(sql: "BEGIN IMMEDIATE")
            for _ in 0..<200 {
                try db.execute(sql: "INSERT INTO provision (utc_ns, lost_reason) VALUES (0, ?)", arguments: [String(repeating: "x", count: 2000)])
            }
            try body()
            try db.execute(sql: "ROLLBACK")
        }
    }
}

extension JournalTestAccess {
    /// What an outside reader does (python's `sqlite3`: `BEGIN; SELECT`), on a read-only
    /// connection that does not wait for locks: the events it sees. Throws when it cannot get in.
    public static func readTransaction(path: String) throws -> Int {
        var config = Configuration()
        config.readonly = true
        let db = try DatabaseQueue(path: path, configuration: config)
        defer { try? db.close() }
        return try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }
}

extension JournalTestAccess {
    /// Where a table's b-tree starts in the file: its root page's byte offset and the page size.
    public static func rootPageOffset(path: String, table: String) throws -> (offset: Int, pageSize: Int) {
        let db = try DatabaseQueue(path: path)
        defer { try? db.close() }
        return try db.read { db in
            let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            let root = try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = ?", arguments: [table]) ?? 1
            return ((root - 1) * size, size)
        }
    }
}
