import GRDB

/// Raw access for the tests of the append-only rule (a tampering attempt through SQL).
public enum JournalTestAccess {
    public static func deleteEvents(path: String) throws {
        let db = try DatabaseQueue(path: path)
        try db.write { try $0.execute(sql: "DELETE FROM event") }
    }
}
