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
