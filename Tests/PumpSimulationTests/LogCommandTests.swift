import Controller
import Foundation
import PumpCore
import PumpJournal
import PumpSimulation
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
        let badBoard = try CLI.run(["audit", "--journal", path, "--balance-strokes", "5", "--board", "/nonexistent/board.json"])
        #expect(badBoard.status == 64 && badBoard.out.isEmpty && badBoard.err.contains("--board:"), "\(badBoard)")
        let lockout = try CLI.run(["audit", "--journal", path, "--lockout", "abc"])
        #expect(lockout.status == 64 && lockout.err.contains("--lockout: must be seconds or a string like") && !lockout.err.contains("DurationError"), "\(lockout.err)")
        #expect(try CLI.run(["audit", "--journal", path, "--lockout", "600"]).status == 0)
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

    /// Usage errors that ran silently (outside attack, 2026-12-05): an empty swarm passed, seeds
    /// past 2^64 − 1 crashed, failing seeds' files went nowhere; a campaign of no lives passed and
    /// a huge one exhausted memory; a cough's 3 s limit read "0 days".
    @Test(arguments: [
        (["swarm", "--seeds", "0"], "--seeds must be from 1 to 10000000"),
        (["swarm", "--seeds", "9223372036854775807", "--from", "9223372036854775807"], "--seeds must be from 1 to 10000000"),
        (["swarm", "--seeds", "3", "--from", "18446744073709551614"], "runs past seed 2^64 - 1"),
        (["swarm", "--seeds", "1", "--failures", "/nonexistent/dir"], "--failures: '/nonexistent/dir' is not a writable folder"),
        (["swarm", "--seeds", "1", "--jobs", "0"], "--jobs must be 1 or more"),
        (["campaign-plan", "crash", "--count", "0"], "--count must be from 1 to 100000"),
        (["campaign-plan", "crash", "--count", "99999999999"], "--count must be from 1 to 100000"),
        // A scenario file's seed is refused past 2^53 - 1; --seed was taken (outside attack, F9).
        (["simulate", "--quiet", "--seed", "9007199254740992"], "--seed must be a whole number from 0 to 2^53-1"),
    ])
    func runsThatWouldCheckNothingAreUsageErrors(arguments: [String], message: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 64 && r.err.contains(message), "\(r)")
    }

    /// A number past a double's range is valid JSON syntax that no reader can hold: the error
    /// names its field, not "(file)" (outside attack, F9).
    @Test func aNumberBeyondADoubleNamesItsField() throws {
        let text = #"{"name": "t", "seed": 1e999, "duration": 60}"#
        do {
            _ = try Scenario.parse(Data(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.map(\.path) == ["seed"], "\(error)")
        }
    }

    /// Outside attack: a misspelt zone also called a valid start.at malformed; a duration of 0
    /// made every event "after the end of the scenario". Each names only what is wrong.
    @Test func oneBadValueLeavesItsSiblingsAlone() throws {
        func paths(_ text: String) -> [String] {
            do { _ = try Scenario.parse(Data(text.utf8)); return [] } catch { return error.problems.map(\.path) }
        }
        let body = #""drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "reservoir": {"capacity_ml": 20, "fill_ml": 20}, "prescription": {"mode": "continuous", "daily_dose_ug": 100}"#
        #expect(paths(#"{"duration": 60, "start": {"at": "2026-03-29T00:00:00", "zone": "Europe/Berln"}, "# + body + "}") == ["start.zone"])
        #expect(paths(#"{"duration": 0, "events": [{"at": 10, "type": "acknowledge"}], "# + body + "}") == ["duration"])
    }

    @Test func aCoughsLimitIsWrittenInItsUnit() throws {
        let s: [String: Any] = ["name": "t", "seed": 1, "duration": 60, "drug": ["name": "baclofen", "concentration_ug_per_ml": 500],
                                "reservoir": ["capacity_ml": 20, "fill_ml": 20], "prescription": ["mode": "continuous", "daily_dose_ug": 100],
                                "events": [["at": 10, "type": "cough", "mmhg": 100, "over": 5]]]
        do {
            _ = try scenario(s)
            Issue.record("accepted")
        } catch let e as ValidationErrors {
            #expect(e.problems.contains { $0.path == "events[0].over" && $0.message == "must be at most 3 s" }, "\(e)")
        }
    }
}
