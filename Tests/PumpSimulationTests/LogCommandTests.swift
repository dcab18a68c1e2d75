import Controller
import Foundation
import PumpCore
import PumpJournal
import Testing

/// `pumpctl log` and `pumpctl audit` as processes, on a journal written here.
@Suite("pumpctl log")
struct LogCommandTests {
    static let utc0: Int64 = 1_767_225_600_000_000_000   // 2026-01-01T00:00:00Z

    /// A journal with a session, an accepted and a refused bolus, an alarm and its acknowledgement.
    static func journal() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString).sqlite").path
        let j = try SQLiteJournal.open(path: path, board: "test", therapy: "rx", reservoirFill: .millilitres(20), utcNanoseconds: utc0, mode: .inline).journal
        let minute: Int64 = 60_000_000_000
        func at(_ m: Int64, _ kind: ControllerEvent.Kind) -> JournalEvent {
            JournalEvent(event: ControllerEvent(at: MonotonicInstant(nanoseconds: m * minute), kind: kind), utcNanoseconds: utc0 + m * minute)
        }
        let bolus = BolusRecord(kind: .patient, requestedAt: MonotonicInstant(nanoseconds: 10 * minute), dose: .micrograms(10), duration: .minutes(10), refusal: nil)
        j.record(JournalCheckpoint(confirmedStrokes: 0, programmed: .zero, measuredSinceFill: .zero, state: .delivering, utcNanoseconds: utc0 + 30 * minute),
                 events: [at(10, .bolus(bolus)), at(20, .alarmRaised(.reservoirLow, .medium)), at(25, .alarmsAcknowledged(count: 1)),
                          at(30, .command(.suspend, accepted: true, reason: nil))])
        j.close(confirmedStrokes: 0, utcNanoseconds: utc0 + 31 * minute)
        return path
    }

    @Test func listsFiltersAndExports() throws {
        let path = try Self.journal()
        let all = try CLI.run(["log", "--journal", path])
        #expect(all.status == 0)
        let lines = all.out.split(separator: "\n")
        #expect(lines.count == 6, "\(all.out)")   // program, session, bolus, alarm, ack, command
        #expect(lines[2].hasPrefix("2026-01-01T00:10:00.000Z") && lines[2].contains("bolus") && lines[2].contains("accepted"))

        let typed = try CLI.run(["log", "--journal", path, "--type", "alarm_raised,alarms_acknowledged"])
        #expect(typed.out.split(separator: "\n").count == 2 && typed.out.contains("reservoir_low (medium)"))

        let window = try CLI.run(["log", "--journal", path, "--from", "2026-01-01T00:15:00Z", "--to", "2026-01-01T00:26:00Z"])
        #expect(window.out.split(separator: "\n").count == 2, "\(window.out)")

        let csv = try CLI.run(["log", "--journal", path, "--csv", "--type", "command"])
        #expect(csv.out == "id,session,time_utc,type,detail\n6,1,2026-01-01T00:30:00.000Z,command,suspend: accepted\n", "\(csv.out)")

        let json = try CLI.run(["log", "--journal", path, "--json", "--type", "bolus"])
        let objects = try #require(JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        #expect(objects.count == 1 && objects[0]["type"] as? String == "bolus" && objects[0]["time_utc"] as? String == "2026-01-01T00:10:00.000Z")

        let audit = try CLI.run(["audit", "--journal", path])
        #expect(audit.status == 0 && audit.out.contains("integrity=ok") && audit.out.contains("accepted_boluses=1"))
    }

    /// A campaign's balance against the journal's programme (`DeliveryBound`): 1 000 nL
    /// programmed and the simulated board's 250 nL strokes allow 1 000 + 250 = 1 250 nL: 5 strokes
    /// (1 250 nL) hold, 6 (1 500 nL) do not.
    @Test func auditJudgesABalanceAgainstTheProgrammePlusOneStroke() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).sqlite").path
        let j = try SQLiteJournal.open(path: path, board: "test", therapy: "rx", reservoirFill: .millilitres(20), utcNanoseconds: Self.utc0, mode: .inline).journal
        j.record(JournalCheckpoint(confirmedStrokes: 4, programmed: Nanolitres(1000), measuredSinceFill: .zero, state: .delivering, utcNanoseconds: Self.utc0 + 1),
                 events: [])
        j.close(confirmedStrokes: 4, utcNanoseconds: Self.utc0 + 2)
        let board = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Boards/simulated.json").path
        let ok = try CLI.run(["audit", "--journal", path, "--balance-strokes", "5", "--board", board])
        #expect(ok.status == 0 && ok.out.contains("stroke_nl=250\n") && ok.out.contains("delivered_nl=1250\n") && ok.out.contains("within_programme=1\n"), "\(ok.out)")
        let over = try CLI.run(["audit", "--journal", path, "--balance-strokes", "6", "--board", board])
        #expect(over.status == 1 && over.out.contains("delivered_nl=1500\n") && over.out.contains("within_programme=0\n"), "\(over.out)")
        let noBoard = try CLI.run(["audit", "--journal", path, "--balance-strokes", "6"])
        #expect(noBoard.status != 0 && noBoard.err.contains("--board"), "\(noBoard.err)")
        // Usage errors (64), before the journal is read (outside attack, 2026-12-05: a negative
        // balance was accepted and judged; --board alone was silently ignored).
        let negative = try CLI.run(["audit", "--journal", path, "--balance-strokes=-3", "--board", board])
        #expect(negative.status == 64 && negative.err.contains("--balance-strokes: must be 0 or more, got -3"), "\(negative.err)")
        let boardAlone = try CLI.run(["audit", "--journal", path, "--board", board])
        #expect(boardAlone.status == 64 && boardAlone.err.contains("--board is only used with --balance-strokes"), "\(boardAlone.err)")
    }

    @Test(arguments: [
        (["--type", "alarm"], "--type"), (["--from", "yesterday"], "--from"), (["--json", "--csv"], "--json"),
    ])
    func badInputNamesTheOption(extra: [String], option: String) throws {
        let r = try CLI.run(["log", "--journal", try Self.journal()] + extra)
        #expect(r.status != 0 && r.err.contains(option), "\(r.err)")
    }

    @Test func missingJournalIsAnError() throws {
        let r = try CLI.run(["log", "--journal", "/nonexistent/journal.sqlite"])
        #expect(r.status != 0 && r.err.contains("no such file"))
    }
}
