import ArgumentParser
import Foundation
import PumpConfig
import PumpCore
import PumpJournal
import PumpSimulation

@main
struct PumpCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Bench tool for the intrathecal pump controller.",
        subcommands: [Simulate.self, SwarmCommand.self, Faults.self, LogCommand.self, AuditCommand.self, JournalCommand.self, KeysCommand.self, StatusCommand.self,
                      PatientBolusCommand.self, ClinicianBolusCommand.self, SuspendCommand.self, ResumeCommand.self,
                      AcknowledgeCommand.self, ClearAlarmsCommand.self, SetLowReservoirCommand.self, ProgramCommand.self,
                      RefillCommand.self, SendRawCommand.self, CampaignPlanCommand.self])

    /// Everything pumpctl creates (journals, keys, counters, saved requests, reports) is
    /// owner-only: journals and saved requests are health data (they were created 0644).
    static func main() async {
        umask(0o077)
        await main(nil)
    }
}

/// `pumpctl simulate [SCENARIO.json] [--report REPORT.json] [--seed N]` (docs/scenarios.md).
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario in virtual time on the simulated board and print a summary.",
        discussion: "Without a scenario file, runs the built-in demo (baclofen, a patient bolus, a kink on day 3).")

    @Argument(help: "Scenario file (JSON, docs/scenarios.md v1), or '-' for standard input. Default: the built-in demo.")
    var scenario: String?

    @Option(help: "Write the JSON report to this file ('-' for standard output).")
    var report: String?

    @Option(help: "Override the scenario's seed.")
    var seed: UInt64?

    @Flag(help: "No progress line and no summary.")
    var quiet = false

    @Option(help: "Write a CSV trace (t_s, pressure_mmhg, plant_strokes, commanded_strokes, delivered_ul, state) to this file.")
    var trace: String?

    @Option(help: "Trace from this time (e.g. 71h; default 0).") var traceFrom: String?
    @Option(help: "Trace until this time (default: the end).") var traceTo: String?
    @Option(help: "One trace row per this period (default 250ms: every watchdog tick; e.g. 30s).") var traceEvery: String?

    @Option(help: "Keep the run's journal here (provisioned now; refused if anything is there). pumpd started on it continues from it, the learned line included.")
    var journalOut: String?

    @Flag(help: "Bench mode: after our occlusion halt the motor keeps stroking as a conventional pump until the fixed +100 mmHg baseline alarms (compares both detectors in one run).")
    var conventionalAfterHalt = false

    func validate() throws {
        // The scenario file's own `seed` is held to the same range (Scenario.Defaults.maximumSeed).
        if let seed, seed > Scenario.Defaults.maximumSeed {
            throw ValidationError("--seed must be a whole number from 0 to 2^53-1 (\(Scenario.Defaults.maximumSeed)), got \(seed): the report carries it as a JSON number")
        }
    }

    func run() async throws {
        let data: Data
        if let path = scenario {
            let handle = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path)
            guard let handle, let d = try? handle.readToEnd() ?? Data() else {
                fail("\(path): cannot read the scenario file")
            }
            data = d
        } else {
            data = Data(BuiltInScenarios.demo.utf8)
        }
        let parsed: Scenario
        do { parsed = try Scenario.parse(data) } catch { fail(error.description) }

        var options = SimulationOptions()
        options.conventionalAfterHalt = conventionalAfterHalt
        if let journalOut {
            do { try JournalStorage.provision(path: journalOut, utcNanoseconds: parsed.startUTCSeconds * 1_000_000_000) } catch {
                fail("--journal-out: \(error)")
            }
            options.journalOut = journalOut
        }
        func duration(_ text: String?, _ name: String) -> Nanoseconds? {
            guard let text else { return nil }
            // As in scenario files (seconds, or "90m"), plus milliseconds ("250ms").
            let value: JSONValue = text.hasSuffix("ms") ? .number((Double(text.dropLast(2)) ?? .nan) / 1000)
                : Double(text).map { .number($0) } ?? .string(text)
            switch DurationText.parse(value, max: .days(3650)) {
            case .success(let d): return d
            case .failure(let e): fail("--\(name): \(e.message)")
            }
        }
        if let d = duration(traceFrom, "trace-from") { options.traceFrom = d }
        if let d = duration(traceTo, "trace-to") { options.traceTo = d }
        if let d = duration(traceEvery, "trace-every") { options.traceEvery = d }
        var traceFile: FileHandle?
        if let trace {
            guard FileManager.default.createFile(atPath: trace, contents: Data("t_s,pressure_mmhg,plant_strokes,commanded_strokes,delivered_ul,state\n".utf8)),
                  let h = FileHandle(forWritingAtPath: trace) else { fail("--trace \(trace): cannot write") }
            h.seekToEndOfFile()
            traceFile = h
        }
        var buffer = ""
        let sink: ((TraceRow) -> Void)? = traceFile.map { h in
            { row in
                buffer += "\(Double(row.at.value) / 1e9),\(row.pressure.map { String(Double($0.value) / 100) } ?? ""),\(row.plantStrokes),\(row.commandedStrokes),\(Double(row.delivered.value) / 1000),\(row.state.rawValue)\n"
                if buffer.utf8.count > 1 << 16 { h.write(Data(buffer.utf8)); buffer = "" }
            }
        }

        let tty = isatty(2) == 1 && !quiet
        let started = Date()
        let result = await Simulator.run(parsed, seed: seed, progressEvery: .hours(2), progress: { p in
            guard tty else { return }
            let pct = Double(p.simulated.value) / Double(p.duration.value) * 100
            let line = String(format: "\r  %5.1f%%  day %.2f of %.2f  delivered %.3f mL  %@  alarms %d   ",
                              pct, p.simulated.seconds / 86_400, p.duration.seconds / 86_400,
                              p.delivered.millilitres, p.state.rawValue, p.alarms)
            FileHandle.standardError.write(Data(line.utf8))
        }, options: options, trace: sink)
        if let traceFile {
            traceFile.write(Data(buffer.utf8))
            traceFile.closeFile()
        }
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        let wall = Date().timeIntervalSince(started)
        if let out = report {
            let json = result.report.json() + Data("\n".utf8)
            if out == "-" {
                FileHandle.standardOutput.write(json)
            } else if !FileManager.default.createFile(atPath: out, contents: json) {
                fail("\(out): cannot write the report")
            }
        }
        if !quiet, report != "-" { print(ReportSummary.text(result.report, wallSeconds: wall)) }
    }

    private func fail(_ message: String) -> Never { exitBadInput(message) }
}

/// Bad input to a command: one line on standard error, exit status 2.
func exitBadInput(_ message: String) -> Never {
    FileHandle.standardError.write(Data("pumpctl: \(message)\n".utf8))
    Foundation.exit(2)
}

/// `pumpctl swarm --seeds N [--from S]`: random plants, prescriptions and hazards, each run checked
/// against the invariants. A failure prints its seed and writes the scenario that replays it.
struct SwarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm", abstract: "Run a swarm of random fault plans and check the controller's invariants.")

    @Option(help: "How many seeds.")
    var seeds: Int = 100

    @Option(help: "First seed.")
    var from: UInt64 = 1

    @Option(help: "Seeds run in parallel (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Folder for the scenario files of failing seeds.")
    var failures: String = "."

    @Flag(help: "Write every seed's scenario file, not only failing ones (to keep a regression scenario).")
    var keepAll = false

    @Option(parsing: .upToNextOption, help: "Check these scenario files (kept failures) against the invariants instead of generating seeds.")
    var replay: [String] = []

    /// Usage errors (exit 64) before anything runs: an empty run would pass having checked
    /// nothing, seeds past 2^64 − 1 do not exist, and a failing seed's file must have somewhere
    /// to go (outside attack, 2026-12-05: all three went silently).
    func validate() throws {
        guard replay.isEmpty else { return }
        // At most ten million (about two weeks at 10 seeds/s): a count past that is a typo, and
        // 2^63 - 1 crashed (outside attack).
        guard (1...10_000_000).contains(seeds) else { throw ValidationError("--seeds must be from 1 to 10000000, got \(seeds)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be 1 or more, got \(jobs)") }
        guard UInt64(seeds - 1) <= UInt64.max - from else { throw ValidationError("--from \(from) with --seeds \(seeds) runs past seed 2^64 - 1") }
        var folder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: failures, isDirectory: &folder), folder.boolValue,
              FileManager.default.isWritableFile(atPath: failures) else {
            throw ValidationError("--failures: '\(failures)' is not a writable folder (a failing seed's scenario file goes there)")
        }
    }

    func run() async throws {
        if !replay.isEmpty {
            var failing = 0
            for path in replay {
                guard let data = FileManager.default.contents(atPath: path) else { exitBadInput("\(path): cannot read the scenario file") }
                let outcome = await Swarm.run(scenarioJSON: data, seed: 0)
                if !outcome.violations.isEmpty { failing += 1 }
                print("\(path): " + (outcome.violations.isEmpty ? "ok" : outcome.violations.map(\.what).joined(separator: "; ")))
            }
            print("swarm replay: \(replay.count) files, \(failing) with violations")
            if failing > 0 { throw ExitCode(1) }
            return
        }
        let started = Date()
        var failed: [Swarm.Outcome] = []
        var simulated = 0.0, done = 0
        let all = (0..<UInt64(seeds)).map { from + $0 }
        await withTaskGroup(of: Swarm.Outcome.self) { group in
            var next = 0
            for _ in 0..<max(1, jobs) where next < all.count {
                let s = all[next]; next += 1
                group.addTask { await Swarm.run(seed: s) }
            }
            for await outcome in group {
                done += 1
                simulated += outcome.simulatedSeconds
                if !outcome.violations.isEmpty || keepAll { failed.append(outcome) }
                if next < all.count {
                    let s = all[next]; next += 1
                    group.addTask { await Swarm.run(seed: s) }
                }
            }
        }
        let wall = Date().timeIntervalSince(started)
        for f in failed.sorted(by: { $0.seed < $1.seed }) {
            if keepAll, f.violations.isEmpty {
                _ = FileManager.default.createFile(atPath: (failures as NSString).appendingPathComponent("swarm-seed-\(f.seed).json"), contents: f.scenarioJSON)
                continue
            }
            let path = (failures as NSString).appendingPathComponent("swarm-seed-\(f.seed).json")
            if !FileManager.default.createFile(atPath: path, contents: f.scenarioJSON) { print("swarm: could not write \(path)") }
            for v in f.violations { print("VIOLATION \(v) (replay: pumpctl simulate \(path))") }
        }
        failed.removeAll { $0.violations.isEmpty }
        print(String(format: "swarm: %d seeds from %llu, %d with violations; %.1f seeds/s, %.1f simulated days/s (%.1f s wall)",
                     done, from, failed.count, Double(done) / max(wall, 1e-9), simulated / 86_400 / max(wall, 1e-9), wall))
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// Prints the fault table: every fault, its delivery policy, alarm priority and clear rule.
struct Faults: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the fault policy table (Markdown).")
    func run() {
        print("| alarm | delivery | priority | cleared by | blocks patient bolus | why |")
        print("|---|---|---|---|---|---|")
        for a in AlarmType.allCases {
            let p = FaultTable.policy(for: a)
            print("| `\(a.rawValue)` | \(p.delivery.rawValue) | \(p.priority.rawValue) | \(p.clear.rawValue) | \(p.blocksClinicianBolus ? "yes, and clinician boluses" : p.blocksPatientBolus ? "yes" : "no") | \(p.rationale) |")
        }
    }
}
