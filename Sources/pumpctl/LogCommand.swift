import ArgumentParser
import Foundation
import PumpConfig
import PumpCore
import PumpJournal

/// `pumpctl log --journal FILE`: the event log clinicians and bench engineers read, from the
/// journal pumpd writes (read-only; the log is append-only).
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "List the journal's events (filter by time and type; text, JSON or CSV).",
        discussion: "Types: \(JournalReader.eventTypes.joined(separator: ", ")). Times: ISO 8601 UTC, e.g. 2026-11-21T06:00:00Z.")

    @Option(help: "The journal file (pumpd --journal).") var journal: String
    @Option(help: "Only events at or after this time.") var from: String?
    @Option(help: "Only events before this time.") var to: String?
    @Option(help: "Only these types (comma-separated).") var type: String?
    @Flag(help: "JSON array instead of text.") var json = false
    @Flag(help: "CSV (id,session,time_utc,type,detail) instead of text.") var csv = false

    func run() throws {
        if json && csv { throw ValidationError("--json and --csv: choose one") }
        let types = type.map { $0.split(separator: ",").map(String.init) } ?? []
        if let bad = types.first(where: { !JournalReader.eventTypes.contains($0) }) {
            throw ValidationError("--type: unknown type '\(bad)' (one of \(JournalReader.eventTypes.joined(separator: ", ")))")
        }
        let fromUTC = try from.map { try Self.utc($0, option: "--from") }, toUTC = try to.map { try Self.utc($0, option: "--to") }
        let entries: [JournalReader.Entry]
        do { entries = try JournalReader.events(path: journal, fromUTC: fromUTC, toUTC: toUTC, types: types) } catch {
            exitJournalUnreadable(error)
        }
        if json {
            let objects: [[String: Any]] = entries.map {
                ["id": $0.id, "session": $0.session, "time_utc": Self.iso($0.utcNanoseconds), "type": $0.type, "detail": $0.detail]
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else if csv {
            // Rows may quote what a client sent: control characters escaped (Printable), one row per line.
            print("id,session,time_utc,type,detail")
            for e in entries {
                print([String(e.id), String(e.session), Self.iso(e.utcNanoseconds), Printable.escaped(e.type), Printable.escaped(e.detail)]
                    .map(Self.csvField).joined(separator: ","))
            }
        } else {
            for e in entries {
                print("\(Self.iso(e.utcNanoseconds))  #\(e.session)  \(Printable.escaped(e.type).padding(toLength: 20, withPad: " ", startingAt: 0))  \(Printable.escaped(e.detail))")
            }
        }
    }

    static func utc(_ text: String, option: String) throws -> Int64 {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        guard let d = f.date(from: text) else { throw ValidationError("\(option): not an ISO 8601 UTC time ('\(text)'), e.g. 2026-11-21T06:00:00Z") }
        return Int64((d.timeIntervalSince1970 * 1e9).rounded())
    }

    static func iso(_ ns: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// `pumpctl audit --journal FILE`: the crash campaign's checks of a journal, as key=value lines.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check a journal: integrity, counters never going back, bolus lockouts (key=value lines).")

    @Option(help: "The journal file.") var journal: String
    @Option(help: "The patient-bolus lockout to check against (e.g. 10m).") var lockout: String = "10m"
    @Option(help: "Strokes the motor really made (a campaign's balance): checked against the journal's programme + 1 stroke (needs --board).")
    var balanceStrokes: Int64?
    @Option(help: "The board file whose stroke volume turns --balance-strokes into a volume.") var board: String?

    /// Usage errors (exit 64) before the journal is read: a count of strokes is never negative,
    /// and a board without a balance would be read for nothing (a typo'd flag, silently ignored).
    func validate() throws {
        if let balanceStrokes, balanceStrokes < 0 { throw ValidationError("--balance-strokes: must be 0 or more, got \(balanceStrokes)") }
        if board != nil, balanceStrokes == nil { throw ValidationError("--board is only used with --balance-strokes") }
        if balanceStrokes != nil, board == nil { throw ValidationError("--balance-strokes needs --board (its stroke volume)") }
    }

    func run() throws {
        let l: Nanoseconds
        // A bare number is seconds, as in a scenario file.
        switch DurationText.parse(Double(lockout).map { .number($0) } ?? .string(lockout), max: .days(1)) {
        case .success(let d): l = d
        case .failure(let e): throw ValidationError("--lockout: \(e.message)")
        }
        // The board first: a bad one must not follow a complete-looking report on stdout.
        var stroke: Nanolitres?
        if balanceStrokes != nil, let board {
            do throws(ValidationErrors) { stroke = try Board.load(path: board).strokeVolume } catch { throw ValidationError("--board: \(error)") }
        }
        let a: JournalReader.Audit
        do { a = try JournalReader.audit(path: journal, lockout: l) } catch { exitJournalUnreadable(error) }
        print("integrity=\(a.integrity.replacingOccurrences(of: " ", with: "_"))")
        print("sessions=\(a.sessions)")
        print("restarts=\(a.restarts)")
        print("intended_strokes=\(a.intendedStrokes)")
        print("confirmed_strokes=\(a.confirmedStrokes)")
        print("uncertain_strokes=\(a.uncertainStrokes)")
        print("programmed_nl=\(a.programmed.value)")
        print("counters_monotonic=\(a.countersMonotonic ? 1 : 0)")
        print("accepted_boluses=\(a.acceptedBoluses)")
        print("lockout_violations=\(a.lockoutViolations)")
        var withinProgramme = true
        if let balanceStrokes, let stroke {
            let delivered = Nanolitres(balanceStrokes * stroke.value)
            withinProgramme = DeliveryBound.holds(delivered: delivered, programmed: a.programmed, strokeVolume: stroke)
            print("stroke_nl=\(stroke.value)")
            print("balance_strokes=\(balanceStrokes)")
            print("delivered_nl=\(delivered.value)")
            print("within_programme=\(withinProgramme ? 1 : 0)")
        }
        if a.integrity != "ok" || !a.countersMonotonic || a.lockoutViolations > 0 || !withinProgramme { throw ExitCode(1) }
    }
}

/// `pumpctl journal init --journal FILE`: provisions a journal for a pump's first start. pumpd
/// never creates one itself, so a missing journal is always a loss, never a silent fresh start.
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal", abstract: "Provision a pump's journal.", subcommands: [Init.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an empty journal for a first start (refused if anything is there; the file is owner-only).")
        @Option(help: "Where pumpd --journal will find it.") var journal: String

        func run() throws {
            do {
                try JournalStorage.provision(path: journal, utcNanoseconds: Int64((Date().timeIntervalSince1970 * 1e9).rounded()))
            } catch {
                throw ValidationError(error.description)
            }
            print("journal \(journal): provisioned")
        }
    }
}

/// A journal that cannot be read (in use by a running pumpd, missing, damaged): the reason, no
/// usage text (the command line was right), exit 1.
func exitJournalUnreadable(_ error: JournalError) -> Never {
    FileHandle.standardError.write(Data("pumpctl: \(error.message)\n".utf8))
    Foundation.exit(1)
}
