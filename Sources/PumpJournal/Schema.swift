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
/// - `refill` (v2): every refill's reconciliation, append-only.
/// - `command_counter` (v2): the last accepted command counter per role.
/// - `progress.line_memory` (v3): the occlusion learner's memory, every 10 minutes.
/// - `provision` (v5): when the journal was provisioned, and if it replaced a lost one, why and
///   where the remains went.
/// - `session.boot_id`, `boot_ns`, `timeline_ns`, `event.boot_ns`, `progress.boot_ns` (v6): the
///   timeline bolus limits run on across restarts (`BootClock`).
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
        // v2: programming by command. A program row set by a clinician holds the prescription
        // itself (JSON, `PrescriptionCodec`); refills are kept for the discrepancy trend; the
        // last accepted counter of each role is the command interface's replay protection.
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE program ADD COLUMN prescription TEXT;
                ALTER TABLE program ADD COLUMN low_reservoir_nl INTEGER;
                ALTER TABLE program ADD COLUMN bridge_concentration_ng_per_ml INTEGER;
                ALTER TABLE progress ADD COLUMN bridge_remaining_ns INTEGER;
                CREATE TABLE refill (
                    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES session(id), utc_ns INTEGER NOT NULL,
                    expected_nl INTEGER NOT NULL, withdrawn_nl INTEGER NOT NULL, added_nl INTEGER NOT NULL, consumed_nl INTEGER NOT NULL,
                    tolerance_nl INTEGER NOT NULL, old_concentration_ng_per_ml INTEGER NOT NULL, new_concentration_ng_per_ml INTEGER NOT NULL,
                    bridge_volume_nl INTEGER, bridge_duration_ns INTEGER);
                CREATE TRIGGER refill_append_only_update BEFORE UPDATE ON refill BEGIN SELECT RAISE(ABORT, 'refills are append-only'); END;
                CREATE TRIGGER refill_append_only_delete BEFORE DELETE ON refill BEGIN SELECT RAISE(ABORT, 'refills are append-only'); END;
                CREATE TABLE command_counter (role TEXT PRIMARY KEY, last_counter INTEGER NOT NULL, utc_ns INTEGER NOT NULL);
                """)
        }
        // v3: what the occlusion learner knows (JSON, `LineMemory`), so a restart continues
        // learning instead of starting blind and afresh.
        m.registerMigration("v3") { db in
            try db.execute(sql: "ALTER TABLE progress ADD COLUMN line_memory TEXT;")
        }
        // v4: a bridge ends by the volume of old drug pushed, not by time: what is left of it.
        // (A v3 row's time left is converted once, in proportion to the refill's plan.)
        m.registerMigration("v4") { db in
            try db.execute(sql: "ALTER TABLE progress ADD COLUMN bridge_remaining_nl INTEGER;")
            // The resting pressure before a latched occlusion: a restart keeps its cause until the
            // pressure is back there.
            try db.execute(sql: "ALTER TABLE progress ADD COLUMN occlusion_resting_mmhg REAL;")
            // What the monitors must not forget across a restart: the lowest battery charge read
            // (a primary cell only goes down) and when delivery stopped (`delivery_stopped`).
            try db.execute(sql: "ALTER TABLE progress ADD COLUMN battery_lowest_permille INTEGER;")
            try db.execute(sql: "ALTER TABLE progress ADD COLUMN stopped_since_utc_ns INTEGER;")
        }
        // v5: the provisioning mark. A journal is created only by provisioning (or by the loss
        // policy, which records why the one before was lost); a journal without the mark is not
        // one pumpd made. A journal from before v5 that ran a session is marked as provisioned.
        m.registerMigration("v5") { db in
            try db.execute(sql: """
                CREATE TABLE provision (id INTEGER PRIMARY KEY, utc_ns INTEGER NOT NULL, lost_reason TEXT, lost_evidence TEXT);
                INSERT INTO provision (utc_ns) SELECT MIN(started_utc_ns) FROM session HAVING COUNT(*) > 0;
                """)
        }
        // v6: the timeline bolus limits run on (`BootClock`, docs/journal.md "Time across a
        // restart"). Each session records its boot, the boot clock at its start and the timeline
        // there; each event and checkpoint its boot-clock reading. A row's time on the timeline is
        // its session's timeline_ns + (its boot_ns - the session's boot_ns).
        m.registerMigration("v6") { db in
            try db.execute(sql: """
                ALTER TABLE session ADD COLUMN boot_id TEXT;
                ALTER TABLE session ADD COLUMN boot_ns INTEGER;
                ALTER TABLE session ADD COLUMN timeline_ns INTEGER;
                ALTER TABLE event ADD COLUMN boot_ns INTEGER;
                ALTER TABLE progress ADD COLUMN boot_ns INTEGER;
                """)
        }
        return m
    }

    static let version = "v6"
}
