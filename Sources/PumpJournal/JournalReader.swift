import Controller
import Foundation
import GRDB
import PumpCore

/// Reading a journal: the state a restart continues from, the event log for `pumpctl log`, and
/// the checks of the crash campaign.
public enum JournalReader {
    /// Counters a pump could have reached (10^12 strokes is 250 000 L at 250 nL): anything else is
    /// a damaged journal, refused by name rather than trapped on by arithmetic later.
    static func checkPlausible(_ r: RestoredState) throws(JournalError) {
        let most: Int64 = 1_000_000_000_000
        func check(_ ok: Bool, _ field: String, _ value: Int64) throws(JournalError) {
            if !ok { throw JournalError("\(field): \(value) is out of range") }
        }
        try check((0...most).contains(r.confirmedStrokes), "progress.confirmed_strokes", r.confirmedStrokes)
        try check((0...most).contains(r.intendedStrokes), "intent.through_stroke", r.intendedStrokes)
        try check((0...(most * 1000)).contains(r.programmed.value), "progress.programmed_nl", r.programmed.value)
        try check((0...r.intendedStrokes).contains(r.commandedBeforeFill), "program.filled_at_stroke", r.commandedBeforeFill)
        // Boluses and refills feed arithmetic at restore and in every status: bounded here (an
        // edited Int64.max trapped pumpd at every start, or at the first status).
        let year2200: Int64 = 7_258_118_400 * 1_000_000_000
        for b in r.boluses {
            try check((0...year2200).contains(b.requestedUTCNanoseconds), "event.utc_ns", b.requestedUTCNanoseconds)
            try check((0...most).contains(b.dose.value), "event.bolus_dose_ng", b.dose.value)
            try check((0...Nanoseconds.days(1).value).contains(b.duration.value), "event.bolus_duration_ns", b.duration.value)
        }
        for f in r.refills {
            for (field, v) in [("expected_nl", f.expected.value), ("withdrawn_nl", f.withdrawn.value), ("added_nl", f.added.value),
                               ("consumed_nl", f.consumed.value), ("tolerance_nl", f.tolerance.value),
                               ("old_concentration_ng_per_ml", f.oldConcentration.value), ("new_concentration_ng_per_ml", f.newConcentration.value),
                               ("bridge_volume_nl", f.bridge?.volume.value ?? 0)] {
                try check(v.magnitude <= UInt64(most), "refill.\(field)", v)
            }
            let days = f.bridge?.duration.value ?? 0
            try check((0...(most * 10_000)).contains(days), "refill.bridge_duration_ns", days)
        }
        try check((0...PumpLimits.maximumReservoir.value).contains(r.reservoirFilled.value), "program.reservoir_fill_nl", r.reservoirFilled.value)
        try check(r.measuredSinceFill.value.magnitude <= UInt64(most * 1000), "progress.measured_since_fill_nl", r.measuredSinceFill.value)
    }

    /// Where the timeline stands at a start on boot `bootID` with its clock at `bootNanoseconds`
    /// (docs/journal.md, "Time across a restart"). The same boot: the last session's timeline
    /// plus exactly what the boot clock says passed since it began. Another boot (or a boot clock
    /// behind the last record): the timeline resumes at the last record, the time down counted
    /// as none, since no clock that survived measured it. 0 for a journal without a v6 session.
    static func timeline(_ db: Database, bootID: String, bootNanoseconds now: Int64) throws -> Int64 {
        guard let s = try Row.fetchOne(db, sql: """
            SELECT id, boot_id, boot_ns, timeline_ns FROM session WHERE timeline_ns IS NOT NULL AND boot_ns IS NOT NULL ORDER BY id DESC LIMIT 1
            """) else { return 0 }
        let id: Int64 = try s.get("id", in: "session"), start: Int64 = try s.get("boot_ns", in: "session")
        let timeline: Int64 = try s.get("timeline_ns", in: "session")
        let stamps = try Row.fetchAll(db, sql: """
            SELECT boot_ns FROM event WHERE session_id = ? AND boot_ns IS NOT NULL UNION ALL SELECT boot_ns FROM progress WHERE session_id = ? AND boot_ns IS NOT NULL
            """, arguments: [id, id]).map { (r: Row) throws -> Int64 in try r.get("boot_ns", in: "event") }
        let lastBoot = max(start, stamps.max() ?? start)
        let sameBoot: String? = try s.get("boot_id", in: "session")
        if sameBoot == bootID, now >= lastBoot, let t = TimelineMath.position(base: timeline, start: start, at: now) { return t }
        // Damaged values that overflow count as a timeline begun afresh: bolus ages then fall back
        // to the wall clock's, and restore takes the shorter of the two anyway.
        return TimelineMath.position(base: timeline, start: start, at: lastBoot) ?? 0
    }

    /// The state at the last record, or nil for a journal that never ran a session. `timelineNanoseconds`:
    /// where the timeline stands now (`timeline`), which past boluses are aged on.
    static func restoredState(_ db: Database, utcNanoseconds: Int64, timelineNanoseconds: Int64) throws -> RestoredState? {
        guard let progress = try Row.fetchOne(db, sql: "SELECT * FROM progress ORDER BY session_id DESC LIMIT 1") else {
            // A first start has no session; sessions without progress are a journal that lost rows.
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session") ?? 0 > 0 { throw JournalError("progress: no row, but sessions ran") }
            return nil
        }
        // The last intent row: a clean shutdown appends one that gives back what was never used.
        let intended = try Int64.fetchOne(db, sql: "SELECT through_stroke FROM intent ORDER BY id DESC LIMIT 1") ?? 0
        let program = try Row.fetchOne(db, sql: """
            SELECT reservoir_fill_nl, filled_at_stroke, prescription, low_reservoir_nl, bridge_concentration_ng_per_ml
            FROM program ORDER BY id DESC LIMIT 1
            """)
        let prescription = try ((try program?.get("prescription", in: "program")) as String?).map { text throws(JournalError) in try PrescriptionCodec.prescription(from: text) }
        var bridge: RestoredState.Bridge?
        if let c = (try program?.get("bridge_concentration_ng_per_ml", in: "program")) as Int64? {
            var left = (try progress.get("bridge_remaining_nl", in: "progress")) as Int64?
            if left == nil, let ns = (try progress.get("bridge_remaining_ns", in: "progress")) as Int64?, ns > 0,
               let plan = try Row.fetchOne(db, sql: "SELECT bridge_volume_nl, bridge_duration_ns FROM refill WHERE bridge_volume_nl IS NOT NULL ORDER BY id DESC LIMIT 1"),
               let volume = (try plan.get("bridge_volume_nl", in: "refill")) as Int64?, let duration = (try plan.get("bridge_duration_ns", in: "refill")) as Int64?, duration > 0 {
                left = Int64(Int128(volume) * Int128(min(ns, duration)) / Int128(duration))   // a v3 journal's time left
            }
            if let left, left > 0 { bridge = RestoredState.Bridge(concentration: NanogramsPerMillilitre(c), remaining: Nanolitres(left)) }
        }
        let refills = try Row.fetchAll(db, sql: "SELECT * FROM refill ORDER BY id").map { r in
            RefillRecord(expected: Nanolitres(try r.get("expected_nl", in: "refill")), withdrawn: Nanolitres(try r.get("withdrawn_nl", in: "refill")), added: Nanolitres(try r.get("added_nl", in: "refill")),
                         consumed: Nanolitres(try r.get("consumed_nl", in: "refill")), tolerance: Nanolitres(try r.get("tolerance_nl", in: "refill")),
                         oldConcentration: NanogramsPerMillilitre(try r.get("old_concentration_ng_per_ml", in: "refill")),
                         newConcentration: NanogramsPerMillilitre(try r.get("new_concentration_ng_per_ml", in: "refill")),
                         bridge: try ((try r.get("bridge_volume_nl", in: "refill")) as Int64?).map {
                             BridgePlan(concentration: NanogramsPerMillilitre(try r.get("old_concentration_ng_per_ml", in: "refill")), volume: Nanolitres($0),
                                        duration: Nanoseconds((try r.get("bridge_duration_ns", in: "refill")) ?? 0))
                         })
        }
        // Alarms: replay the alarm book's own operations in the order they happened.
        // (Each replayed at its wall-clock time, so an acknowledgement keeps its time.)
        var book = AlarmBook()
        for row in try Row.fetchAll(db, sql: "SELECT type, alarm, utc_ns FROM event WHERE type IN ('alarm_raised', 'alarm_reannounced', 'alarm_cause_gone', 'alarms_acknowledged', 'alarm_cleared') ORDER BY id") {
            let t = MonotonicInstant(nanoseconds: (try row.get("utc_ns", in: "event")))
            let type: String = (try row.get("type", in: "event"))
            let alarm = ((try row.get("alarm", in: "event")) as String?).flatMap(AlarmType.init(rawValue:))
            switch (type, alarm) {
            case ("alarm_raised", let a?): book.raise(a, at: t)
            case ("alarm_reannounced", let a?): book.reannounce(a, at: t)
            case ("alarm_cause_gone", let a?): book.causeGone(a, at: t)
            case ("alarms_acknowledged", _): _ = book.acknowledgeAll(at: t)
            case ("alarm_cleared", _): _ = book.clinicianClear(at: t)
            default: break
            }
        }
        // Accepted boluses of the last day keep their lockout, count and share of the cap. Each is
        // aged on the timeline and on the wall clock, and the shorter age counts (docs/journal.md,
        // "Time across a restart"): a wall clock stepped forward cannot erase a lockout, a damaged
        // or edited timeline cannot either; only both wrong together could.
        let day = Nanoseconds.days(1).value
        let boluses = try Row.fetchAll(db, sql: """
            SELECT e.utc_ns, e.accepted, e.bolus_kind, e.bolus_dose_ng, e.bolus_duration_ns, e.boot_ns, s.boot_ns AS session_boot_ns, s.timeline_ns
            FROM event e JOIN session s ON s.id = e.session_id
            WHERE e.type = 'bolus' ORDER BY e.id DESC LIMIT 10000
            """).reversed().compactMap { (r: Row) throws -> RestoredState.Bolus? in
            // A bolus row the journal cannot have written is a damaged journal, never "not a
            // bolus" (an edited accepted=2 or bolus_kind='x' erased a lockout silently).
            let accepted: Int64? = try r.get("accepted", in: "event")
            guard accepted == 0 || accepted == 1 else { throw JournalError("event.accepted: \(accepted.map(String.init) ?? "NULL") on a bolus row") }
            let kindText: String? = try r.get("bolus_kind", in: "event")
            guard let kind = kindText.flatMap(BolusKind.init(rawValue:)) else { throw JournalError("event.bolus_kind: '\(kindText ?? "NULL")' is no bolus kind") }
            guard accepted == 1 else { return nil }
            let utc: Int64 = try r.get("utc_ns", in: "event")
            var b = RestoredState.Bolus(kind: kind, dose: Nanograms(try r.get("bolus_dose_ng", in: "event")),
                                        duration: Nanoseconds(try r.get("bolus_duration_ns", in: "event")), requestedUTCNanoseconds: utc)
            let wallAge = max(0, utcNanoseconds.subtractingReportingOverflow(utc).overflow ? 0 : utcNanoseconds - utc)
            var age = wallAge
            if let eb: Int64 = try r.get("boot_ns", in: "event"), let sb: Int64 = try r.get("session_boot_ns", in: "session"),
               let st: Int64 = try r.get("timeline_ns", in: "session"), let at = TimelineMath.position(base: st, start: sb, at: eb),
               !timelineNanoseconds.subtractingReportingOverflow(at).overflow {
                age = min(age, max(0, timelineNanoseconds - at))
            }
            guard age < day else { return nil }
            b.age = Nanoseconds(age)
            return b
        }
        let last = try Int64.fetchOne(db, sql: """
            SELECT MAX(t) FROM (SELECT MAX(utc_ns) AS t FROM event UNION ALL SELECT MAX(utc_ns) FROM intent UNION ALL SELECT MAX(utc_ns) FROM progress)
            """) ?? utcNanoseconds
        var restored = RestoredState(
            confirmedStrokes: (try progress.get("confirmed_strokes", in: "progress")), intendedStrokes: intended, programmed: Nanolitres(try progress.get("programmed_nl", in: "progress")),
            reservoirFilled: Nanolitres((try program?.get("reservoir_fill_nl", in: "program")) ?? 0), measuredSinceFill: Nanolitres(try progress.get("measured_since_fill_nl", in: "progress")),
            commandedBeforeFill: (try program?.get("filled_at_stroke", in: "program")) ?? 0,
            state: try TherapyState(rawValue: (try progress.get("state", in: "progress"))).orThrow(JournalError("progress.state: '\((try progress.get("state", in: "progress")) as String? ?? "")' is no therapy state")),
            activeAlarms: book.active.map {
                var a = RestoredState.Alarm(type: $0.type, acknowledged: $0.acknowledgedAt != nil, causePresent: $0.causePresent)
                a.acknowledgedUTCNanoseconds = $0.acknowledgedAt?.nanoseconds
                return a
            },
            boluses: boluses, lastRecordUTCNanoseconds: last)
        restored.prescription = prescription
        restored.lowReservoir = ((try program?.get("low_reservoir_nl", in: "program")) as Int64?).map(Nanolitres.init)
        restored.refills = refills
        restored.bridge = bridge
        restored.occlusionRestingMMHg = (try progress.get("occlusion_resting_mmhg", in: "progress"))
        restored.batteryLowest = ((try progress.get("battery_lowest_permille", in: "progress")) as Int64?).map { PerMille(Int32($0)) }
        restored.stoppedSinceUTCNanoseconds = (try progress.get("stopped_since_utc_ns", in: "progress"))
        // A journal that replaced a lost one knows the reservoir only once a refill recorded it,
        // and its loss stays to be reviewed until a clinician cleared `journal_lost` (even if the
        // alarm's own rows went with an unsynced tail).
        let lost = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM provision WHERE lost_reason IS NOT NULL") ?? 0
        restored.reservoirKnown = lost == 0 || !refills.isEmpty
        let reviewed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE type = 'alarm_cleared' AND alarm = 'journal_lost'") ?? 0
        restored.journalLossUnreviewed = lost > 0 && reviewed == 0
        try checkPlausible(restored)
        // The newest learner memory of any session (a session may end before it wrote one). One
        // that does not decode is ignored: the learner then starts afresh, as before v3.
        if let text = try String.fetchOne(db, sql: "SELECT line_memory FROM progress WHERE line_memory IS NOT NULL ORDER BY session_id DESC LIMIT 1") {
            restored.lineMemory = try? JSONDecoder().decode(LineMemory.self, from: Data(text.utf8))
        }
        return restored
    }

    static func mustExist(_ path: String) throws(JournalError) {
        guard FileManager.default.fileExists(atPath: path) else { throw JournalError("journal \(path): no such file") }
        // A reader opens, and SQLite may chown or roll back, files beside the journal.
        try JournalStorage.refuseUntrustedPathAsRoot(path)
    }

    /// One entry of the event log.
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var session: Int64
        public var utcNanoseconds: Int64
        public var type: String
        public var detail: String
    }

    public static var eventTypes: [String] { EventRow.types }

    /// Events in [from, to) (UTC nanoseconds), of the given types (all if empty), oldest first.
    public static func events(path: String, fromUTC: Int64? = nil, toUTC: Int64? = nil, types: [String] = []) throws(JournalError) -> [Entry] {
        try mustExist(path)
        do {
            // Read-only (a hot rollback journal is rolled back first: `JournalStorage.reading`).
            return try JournalStorage.reading(path) { db in
                var sql = "SELECT id, session_id, utc_ns, type, detail FROM event WHERE 1"
                var args: [any DatabaseValueConvertible] = []
                if let fromUTC { sql += " AND utc_ns >= ?"; args.append(fromUTC) }
                if let toUTC { sql += " AND utc_ns < ?"; args.append(toUTC) }
                if !types.isEmpty { sql += " AND type IN (\(types.map { _ in "?" }.joined(separator: ",")))"; args += types }
                sql += " ORDER BY id"
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map {
                    Entry(id: (try $0.get("id", in: "event")), session: (try $0.get("session_id", in: "event")), utcNanoseconds: (try $0.get("utc_ns", in: "event")), type: (try $0.get("type", in: "event")), detail: (try $0.get("detail", in: "event")))
                }
            }
        } catch {
            throw JournalError("journal \(path): \(JournalStorage.explain(error))", storage: JournalStorage.isStorageFault(error))
        }
    }

    /// What the crash campaign checks in a journal.
    public struct Audit: Sendable {
        public var integrity: String
        public var sessions: Int
        public var intendedStrokes: Int64
        public var confirmedStrokes: Int64
        public var programmed: Nanolitres
        /// Confirmed strokes and programmed volume never went backwards from one session to the next.
        public var countersMonotonic: Bool
        public var acceptedBoluses: Int
        /// Accepted patient boluses closer together than the shortest lockout of any program.
        public var lockoutViolations: Int
        public var restarts: Int
        public var uncertainStrokes: Int64
    }

    public static func audit(path: String, lockout: Nanoseconds) throws(JournalError) -> Audit {
        try mustExist(path)
        do {
            // Read-only (a hot rollback journal is rolled back first: `JournalStorage.reading`).
            return try JournalStorage.reading(path) { db in
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
                let rows = try Row.fetchAll(db, sql: "SELECT confirmed_strokes, programmed_nl FROM progress ORDER BY session_id")
                var monotonic = true
                for (a, b) in zip(rows, rows.dropFirst()) {
                    if try (try b.get("confirmed_strokes", in: "progress") as Int64) < (try a.get("confirmed_strokes", in: "progress") as Int64) || (try b.get("programmed_nl", in: "progress") as Int64) < (try a.get("programmed_nl", in: "progress") as Int64) {
                        monotonic = false
                    }
                }
                let patient = try Int64.fetchAll(db, sql: "SELECT utc_ns FROM event WHERE type = 'bolus' AND accepted = 1 AND bolus_kind = 'patient' ORDER BY utc_ns")
                let violations = zip(patient, patient.dropFirst()).filter { $1 - $0 < lockout.value }.count
                let restarts = try String.fetchAll(db, sql: "SELECT detail FROM event WHERE type = 'restarted'")
                let uncertain = restarts.compactMap { Int64($0.prefix { $0.isNumber }) }.reduce(0, +)
                return Audit(
                    integrity: integrity, sessions: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session") ?? 0,
                    intendedStrokes: try Int64.fetchOne(db, sql: "SELECT MAX(through_stroke) FROM intent") ?? 0,
                    confirmedStrokes: (try rows.last?.get("confirmed_strokes", in: "progress")) ?? 0, programmed: Nanolitres((try rows.last?.get("programmed_nl", in: "progress")) ?? 0),
                    countersMonotonic: monotonic,
                    acceptedBoluses: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE type = 'bolus' AND accepted = 1") ?? 0,
                    lockoutViolations: violations, restarts: restarts.count, uncertainStrokes: uncertain)
            }
        } catch {
            throw JournalError("journal \(path): \(JournalStorage.explain(error))", storage: JournalStorage.isStorageFault(error))
        }
    }
}

extension Optional {
    func orThrow(_ e: JournalError) throws(JournalError) -> Wrapped {
        guard let v = self else { throw e }
        return v
    }
}
