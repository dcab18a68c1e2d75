import GRDB

extension Row {
    /// A column's value as `T`, or a `JournalError` naming `table.column` when what is stored is
    /// not one (a damaged or edited journal). GRDB's subscript traps on such a value: pumpd would
    /// then die at every start, with basal stopped; an error here makes it a journal loss, which
    /// keeps basal and alarms (docs/journal.md, "One owner, and losing the journal").
    func get<T: DatabaseValueConvertible>(_ column: String, in table: String) throws -> T {
        do { return try decode(T.self, forColumn: column) } catch {
            throw JournalError("\(table).\(column): \(self[column] as DatabaseValue) is not what the journal stores there")
        }
    }
}

/// Timeline arithmetic on stored values: an overflow is a damaged row (nil), never a trap.
enum TimelineMath {
    /// `base + (at - start)`.
    static func position(base: Int64, start: Int64, at: Int64) -> Int64? {
        let (d, o1) = at.subtractingReportingOverflow(start)
        let (t, o2) = base.addingReportingOverflow(d)
        return o1 || o2 ? nil : t
    }
}
