import GRDB

/// The journal's tables. Versioned by GRDB's migrator (the applied migrations are recorded in
/// the file); a new version adds a migration, never edits an old one.
///
/// - `session`: one row per start of the controller.
/// - `program`: the prescription in force (the prescription file's text) and the reservoir fill,
///   one row per change.
/// - `intent`: every motor command before it moves, as the range of cumulative stroke numbers it
///   may perform (append-only).
/// - `progress`: one row per session, updated in place: confirmed strokes, programme, measured
///   motion, therapy state: what a restart continues from.
/// - `event`: the event log (alarms, acknowledgements, clears, boluses, commands, halts,
///   restarts), append-only: triggers refuse updates and deletes.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE session (
                    id INTEGER PRIMARY KEY, started_utc_ns INTEGER NOT NULL, board TEXT NOT NULL, restored INTEGER NOT NULL);
                CREATE TABLE program (
                    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES session(id), utc_ns INTEGER NOT NULL,
                    therapy TEXT NOT NULL, reservoir_fill_nl INTEGER NOT NULL, filled_at_stroke INTEGER NOT NULL);
                CREATE TABLE intent (
                    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES session(id), utc_ns INTEGER NOT NULL,
                    through_stroke INTEGER NOT NULL);
                CREATE TABLE progress (
                    session_id INTEGER PRIMARY KEY REFERENCES session(id), utc_ns INTEGER NOT NULL,
                    confirmed_strokes INTEGER NOT NULL, programmed_nl INTEGER NOT NULL, measured_since_fill_nl INTEGER NOT NULL,
                    state TEXT NOT NULL);
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES session(id), utc_ns INTEGER NOT NULL,
                    type TEXT NOT NULL, detail TEXT NOT NULL, alarm TEXT, bolus_kind TEXT, bolus_dose_ng INTEGER,
                    bolus_duration_ns INTEGER, accepted INTEGER);
                CREATE INDEX event_time ON event(utc_ns);
                CREATE TRIGGER event_append_only_update BEFORE UPDATE ON event BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                CREATE TRIGGER event_append_only_delete BEFORE DELETE ON event BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                CREATE TRIGGER intent_append_only_update BEFORE UPDATE ON intent BEGIN SELECT RAISE(ABORT, 'intents are append-only'); END;
                CREATE TRIGGER intent_append_only_delete BEFORE DELETE ON intent BEGIN SELECT RAISE(ABORT, 'intents are append-only'); END;
                """)
        }
        return m
    }

    static let version = "v1"
}
