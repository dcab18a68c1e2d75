import ArgumentParser
import Foundation
import Logging
import PumpConfig
import PumpCore
import PumpCommands
import PumpJournal

/// `pumpd --board Boards/<file>.json --prescription <file>.json`: wires the board's backend,
/// drivers and the controller, and runs the prescription until SIGTERM or SIGINT, which put the
/// motor in the safe state before exit.
@main
struct PumpDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpd", abstract: "The pump controller daemon.",
        discussion: "Board files: docs/board-files.md. Prescription files hold the drug, prescription and reservoir sections of a scenario (docs/scenarios.md).")

    @Option(help: "Board file (Boards/*.json).")
    var board: String

    @Option(help: "Prescription file: {\"drug\": …, \"prescription\": …, \"reservoir\": …}. Required unless --check-board.")
    var prescription: String?

    @Option(help: "The journal (SQLite), provisioned by `pumpctl journal init` or --new-journal. A restart continues from it: nothing delivered is repeated. One missing or damaged is a loss: kept aside, a new one, the journal_lost alarm. Required unless --check-board.")
    var journal: String?

    @Flag(help: "Check the board file against the live rig and exit (0: all present): the chip by label, every named line and who holds it, every I²C chip answering and identified where it can be, the watchdog device. Drives no output.")
    var checkBoard = false

    @Flag(help: "Hold ENABLE inactive and the alarm output active until stopped, and nothing else: what runs when pumpd has failed for good (Scripts/pumpd-failsafe.service, pumpd.service's OnFailure=). Exits 1 if a running pumpd holds the lines.")
    var holdSafe = false

    @Flag(help: "First start only: provision the journal at --journal (refused if anything is there), then run.")
    var newJournal = false

    @Option(help: "Simulated board only: a file that gets one byte per stroke the fake motor makes (the bench balance; the crash campaign reads it).")
    var simulatedBalance: String?

    @Option(help: "The command socket for pumpctl (Unix domain, owner-only). Needs --keys.")
    var socket: String?

    @Option(help: "Key folder made by `pumpctl keys init` (0700, key files 0600). SIGHUP reloads it.")
    var keys: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// Everything the command line alone decides is refused here, as a usage error (exit 64, with
    /// the usage text), before any file is read: a restart cannot fix it (pumpd.service's
    /// RestartPreventExitStatus). Exit 2 stays what it says: a bad board or prescription file.
    func validate() throws {
        let paths = [("--board", board), ("--prescription", prescription), ("--journal", journal), ("--socket", socket),
                     ("--keys", keys), ("--simulated-balance", simulatedBalance)]
        if let empty = paths.first(where: { $0.1?.isEmpty == true }) {
            // An empty --journal became "./.lock" and SQLite's noise, exit 1 (restarted by systemd).
            throw ValidationError("\(empty.0): an empty path")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: unknown level '\(logLevel)' (trace, debug, info, notice, warning, error, critical)")
        }
        if checkBoard && holdSafe { throw ValidationError("--check-board and --hold-safe are separate modes: give one") }
        if checkBoard || holdSafe {
            // Each reads the board file only; anything else given would look used.
            let mode = checkBoard ? "--check-board checks the board file against the rig only" : "--hold-safe holds the board's safe levels only"
            let others = [("--prescription", prescription != nil), ("--journal", journal != nil),
                          ("--new-journal", newJournal), ("--socket", socket != nil), ("--keys", keys != nil),
                          ("--simulated-balance", simulatedBalance != nil)]
            if let given = others.first(where: \.1) {
                throw ValidationError("\(mode); it takes no \(given.0)")
            }
            return
        }
        if prescription == nil { throw ValidationError("Missing expected argument '--prescription <prescription>'") }
        if journal == nil { throw ValidationError("Missing expected argument '--journal <journal>'") }
        // No default key anywhere: a socket needs a provisioned key folder.
        if socket != nil && keys == nil { throw ValidationError("--socket needs --keys (run `pumpctl keys init --dir DIR` first; there is no default key)") }
        if keys != nil && socket == nil { throw ValidationError("--keys needs --socket") }
    }

    /// Signals first: the constructor caught them before main (CSignalMask); the intake thread
    /// acts on them from here on, before anything is parsed, opened or touched.
    static func main() async {
        // Everything pumpd creates (journal and its -journal, evidence copies, the socket) is
        // owner-only: the journal is health data (it was created 0644).
        umask(0o077)
        if !SignalIntake.caughtBeforeMain {
            FileHandle.standardError.write(Data("pumpd: signal handlers could not be installed: a stray signal may end pumpd without its safe stop\n".utf8))
        }
        SignalIntake.shared.start()
        await main(nil)
    }

    func run() async throws {
        // Modes that drive nothing a stop must undo end at once on one: the check as the signal
        // would have ended it (128 + its number), the holder with 0 (its lines are released with
        // the process, which is what stopping it asks).
        if checkBoard { SignalIntake.shared.setMode(.exitOnStop(clean: false)) }
        if holdSafe { SignalIntake.shared.setMode(.exitOnStop(clean: true)) }   // FailSafeHold adds the watchdog's disarming
        if checkBoard { await runBoardCheck() }
        if holdSafe {
            // Only the holder's own fields must be good: a board file pumpd refuses is one reason it runs.
            do throws(ValidationErrors) { FailSafeHold.run(board: try Board.safeHold(readFile(self.board))) } catch { fail(error.description, status: 2) }
        }
        guard let prescription, let journal else { fail("--prescription and --journal are required", status: 2) }
        // Everything from outside is checked before any hardware is touched.
        let board: Board, therapy: Therapy, therapyText: String
        do throws(ValidationErrors) {
            board = try Board.load(path: self.board)
            let data = try readFile(prescription)
            therapy = try Therapy.parse(data)
            therapyText = String(decoding: data, as: UTF8.self)
        } catch {
            fail(error.description, status: 2)
        }
        if simulatedBalance != nil, board.kind != .simulated { fail("--simulated-balance: only for the simulated board", status: 2) }
        let level = Logger.Level(rawValue: logLevel) ?? .info   // checked in validate()
        var ring: KeyRing?
        if let folder = keys {
            do { ring = try KeyRing.load(folder: folder) } catch { fail("--keys: \(error)", status: 2) }
        }
        LoggingSystem.bootstrap { label in
            var h = EscapingLogHandler(inner: StreamLogHandler.standardError(label: label))
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "pumpd")
        logger[metadataKey: "board"] = "\(board.name)"
        // One owner: the journal's lock first, then the socket, before anything is written or any
        // hardware touched. A second pumpd stops here and changes nothing.
        do {
            try JournalStorage.takeOwnership(of: journal)
            if newJournal {
                if FileManager.default.fileExists(atPath: journal) {
                    // Left on a restart's command line: never a reason to stop, never a replacement.
                    logger.warning("--new-journal: \(journal) exists; it is used as it is (a journal is never replaced)")
                } else {
                    try JournalStorage.provision(path: journal, utcNanoseconds: SystemWallClock().utcNanoseconds())
                }
            }
        } catch {
            fail(error.description, status: 1)
        }
        var commandSocket: CommandSocket?
        if let socket {
            do { commandSocket = try CommandSocket(path: socket) } catch { fail(error.message, status: 1) }
        }
        let start: SQLiteJournal.Start
        do {
            start = try SQLiteJournal.open(path: journal, board: board.name, therapy: therapyText, reservoirFill: therapy.reservoirFill,
                                           utcNanoseconds: SystemWallClock().utcNanoseconds(), mode: .daemon, provisioning: .required, boot: .system)
        } catch {
            commandSocket?.remove()
            fail(error.description, status: 1)
        }
        if let loss = start.loss {
            logger.critical("journal \(journal): LOST (\(loss.reason)); \(loss.evidence.map { "remains kept at \($0); " } ?? "")a new journal is started: basal continues from the prescription file, boluses wait for a clinician (journal_lost)")
        } else {
            if let r = start.restored {
                logger.notice("journal \(journal): restoring from stroke=\(r.intendedStrokes) programmed_nl=\(r.programmed.value) (line \(r.lineMemory == nil ? "not learned" : "learned"))")
            } else {
                logger.notice("journal \(journal): first start")
            }
        }
        var commands: CommandInterface?
        if let commandSocket, let keys, let ring {
            commands = CommandInterface(socket: commandSocket, keysFolder: keys, ring: KeyRingBox(ring), counters: CounterFloor(durable: JournalCounters(journal: start.journal)))
        }
        do {
            switch board.kind {
            case .simulated:
                try await SimulatedRig.serve(board: board, therapy: therapy, journal: start, balance: simulatedBalance, commands: commands, logger: logger)
            case .linux:
                try await LinuxRig.serve(board: board, therapy: therapy, journal: start, commands: commands, logger: logger)
            }
        } catch let e as RigError {
            start.journal.close(confirmedStrokes: nil, utcNanoseconds: SystemWallClock().utcNanoseconds())
            fail(e.message, status: 1)
        }
    }

    /// `--check-board`: one line per item to stdout, a summary, and exit 1 if anything failed.
    private func runBoardCheck() async -> Never {
        let board: Board
        do throws(ValidationErrors) { board = try Board.load(path: self.board) } catch { fail(error.description, status: 2) }
        let items = await BoardCheck.run(board: board)
        for item in items { print(item.line) }
        let failed = items.filter { !$0.ok }.count
        print("board check \(board.name): \(items.count - failed) ok, \(failed) failed")
        Foundation.exit(failed == 0 ? 0 : 1)
    }

    private func readFile(_ path: String) throws(ValidationErrors) -> Data {
        guard let d = FileManager.default.contents(atPath: path) else { throw ValidationErrors([FieldError(path, "cannot read the file")]) }
        return d
    }

    private func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("pumpd: \(message)\n".utf8))
        Foundation.exit(status)
    }
}

/// A rig could not be brought up (a line or bus missing): one line, and nothing left half-open.
struct RigError: Error {
    var message: String
}
