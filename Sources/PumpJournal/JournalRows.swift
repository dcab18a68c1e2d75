import Controller
import GRDB
import PumpCore

/// Row encoding: the SQL that writes each kind of row the journal holds (`Schema` says what the
/// tables mean). Its own type so that each statement is written once, whoever writes the row: the
/// start, the writer thread, a clean close, the command path or provisioning.
enum JournalRows {
    /// The provisioning mark (and, for a journal that replaces a lost one, why and where the remains went).
    static func insertProvision(_ db: Database, utc: Int64, lostReason: String?, lostEvidence: String?) throws {
        try db.execute(sql: "INSERT INTO provision (utc_ns, lost_reason, lost_evidence) VALUES (?, ?, ?)",
                       arguments: [utc, lostReason, lostEvidence])
    }

    /// One start of the controller.
    static func insertSession(_ db: Database, utc: Int64, board: String, restored: Bool, bootID: String, boot: Int64, timeline: Int64) throws {
        try db.execute(sql: "INSERT INTO session (started_utc_ns, board, restored, boot_id, boot_ns, timeline_ns) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [utc, board, restored, bootID, boot, timeline])
    }

    /// A prescription file's program (a first start, or a changed file).
    static func insertFileProgram(_ db: Database, session: Int64, utc: Int64, therapy: String, fill: Int64, filledAt: Int64) throws {
        try db.execute(sql: "INSERT INTO program (session_id, utc_ns, therapy, reservoir_fill_nl, filled_at_stroke) VALUES (?, ?, ?, ?, ?)",
                       arguments: [session, utc, therapy, fill, filledAt])
    }

    /// A program set by command, with its refill's reconciliation if it had one.
    static func insertProgram(_ db: Database, session: Int64, _ p: ProgramRecord) throws {
        let last = try Row.fetchOne(db, sql: "SELECT therapy FROM program ORDER BY id DESC LIMIT 1")
        try db.execute(sql: """
            INSERT INTO program (session_id, utc_ns, therapy, reservoir_fill_nl, filled_at_stroke, prescription, low_reservoir_nl,
                                 bridge_concentration_ng_per_ml)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [session, p.utcNanoseconds, ((try last?.get("therapy", in: "program")) as String?) ?? "", p.reservoirFill.value, p.filledAtStroke,
                             PrescriptionCodec(p.prescription).text(), p.lowReservoir.value, p.bridgeConcentration?.value])
        if let r = p.refill {
            try db.execute(sql: """
                INSERT INTO refill (session_id, utc_ns, expected_nl, withdrawn_nl, added_nl, consumed_nl, tolerance_nl,
                                    old_concentration_ng_per_ml, new_concentration_ng_per_ml, bridge_volume_nl, bridge_duration_ns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [session, p.utcNanoseconds, r.expected.value, r.withdrawn.value, r.added.value, r.consumed.value,
                                 r.tolerance.value, r.oldConcentration.value, r.newConcentration.value, r.bridge?.volume.value,
                                 r.bridge?.duration.value])
        }
    }

    /// A session's progress row, as its start found it (nil: a fresh journal).
    static func insertProgress(_ db: Database, session: Int64, utc: Int64, restored: RestoredState?, boot: Int64) throws {
        try db.execute(sql: """
            INSERT INTO progress (session_id, utc_ns, confirmed_strokes, programmed_nl, measured_since_fill_nl, state, bridge_remaining_nl,
                                  occlusion_resting_mmhg, battery_lowest_permille, stopped_since_utc_ns, boot_ns)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [session, utc, restored?.confirmedStrokes ?? 0, restored?.programmed.value ?? 0,
                             restored?.measuredSinceFill.value ?? 0, restored?.state.rawValue ?? TherapyState.delivering.rawValue,
                             // A session that dies before its first checkpoint must still hand the bridge on.
                             restored?.bridge?.remaining.value, restored?.occlusionRestingMMHg, restored?.batteryLowest?.value,
                             restored?.stoppedSinceUTCNanoseconds, boot])
    }

    /// A checkpoint, over the session's progress row.
    static func updateProgress(_ db: Database, session: Int64, _ c: JournalCheckpoint) throws {
        try db.execute(sql: """
            UPDATE progress SET utc_ns = ?, confirmed_strokes = ?, programmed_nl = ?, measured_since_fill_nl = ?, state = ?,
                                bridge_remaining_nl = ?, occlusion_resting_mmhg = ?, battery_lowest_permille = ?,
                                stopped_since_utc_ns = ?, boot_ns = ?
            WHERE session_id = ?
            """, arguments: [c.utcNanoseconds, c.confirmedStrokes, c.programmed.value, c.measuredSinceFill.value,
                             c.state.rawValue, c.bridgeRemaining?.value, c.occlusionRestingMMHg, c.batteryLowest?.value,
                             c.stoppedSinceUTCNanoseconds, c.bootNanoseconds, session])
    }

    /// The occlusion learner's memory (JSON, `LineMemory`), on the session's progress row.
    static func updateLineMemory(_ db: Database, session: Int64, json: String) throws {
        try db.execute(sql: "UPDATE progress SET line_memory = ? WHERE session_id = ?", arguments: [json, session])
    }

    /// The motor may perform strokes up to `through` (append-only).
    static func insertIntent(_ db: Database, session: Int64, utc: Int64, through: Int64) throws {
        try db.execute(sql: "INSERT INTO intent (session_id, utc_ns, through_stroke) VALUES (?, ?, ?)",
                       arguments: [session, utc, through])
    }

    static func insertEvent(_ db: Database, session: Int64, utc: Int64, boot: Int64?, _ r: EventRow) throws {
        try db.execute(sql: """
            INSERT INTO event (session_id, utc_ns, boot_ns, type, detail, alarm, bolus_kind, bolus_dose_ng, bolus_duration_ns, accepted)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [session, utc, boot, r.type, r.detail, r.alarm, r.bolusKind, r.bolusDoseNanograms, r.bolusDurationNanoseconds, r.accepted])
    }

    /// A role's last accepted command counter (nil: none yet).
    static func counter(_ db: Database, role: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT last_counter FROM command_counter WHERE role = ?", arguments: [role])
    }

    /// Sets a role's last accepted command counter.
    static func setCounter(_ db: Database, role: String, to counter: Int64, utc: Int64) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO command_counter (role, last_counter, utc_ns) VALUES (?, ?, ?)",
                       arguments: [role, counter, utc])
    }

    /// Raises a role's last accepted command counter to `counter`; never lowers it.
    static func raiseCounter(_ db: Database, role: String, to counter: Int64, utc: Int64) throws {
        try db.execute(sql: """
            INSERT OR REPLACE INTO command_counter (role, last_counter, utc_ns)
            VALUES (?, max(?, coalesce((SELECT last_counter FROM command_counter WHERE role = ?), 0)), ?)
            """, arguments: [role, counter, role, utc])
    }
}
