import ArgumentParser
import Foundation
import PumpCore
import PumpSimulation

@main
struct PumpCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Bench tool for the intrathecal pump controller.",
        subcommands: [Simulate.self, Faults.self])
}

/// `pumpctl simulate [SCENARIO.json] [--report REPORT.json] [--seed N]` (SCENARIOS.md).
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario in virtual time on the simulated board and print a summary.",
        discussion: "Without a scenario file, runs the built-in demo (baclofen, a patient bolus, a kink on day 3).")

    @Argument(help: "Scenario file (JSON, SCENARIOS.md v1), or '-' for standard input. Default: the built-in demo.")
    var scenario: String?

    @Option(help: "Write the JSON report to this file ('-' for standard output).")
    var report: String?

    @Option(help: "Override the scenario's seed.")
    var seed: UInt64?

    @Flag(help: "No progress line and no summary.")
    var quiet = false

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

        let tty = isatty(2) == 1 && !quiet
        let started = Date()
        let result = await Simulator.run(parsed, seed: seed, progressEvery: .hours(2)) { p in
            guard tty else { return }
            let pct = Double(p.simulated.value) / Double(p.duration.value) * 100
            let line = String(format: "\r  %5.1f%%  day %.2f of %.2f  delivered %.3f mL  %@  alarms %d   ",
                              pct, p.simulated.seconds / 86_400, p.duration.seconds / 86_400,
                              p.delivered.millilitres, p.state.rawValue, p.alarms)
            FileHandle.standardError.write(Data(line.utf8))
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

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("pumpctl: \(message)\n".utf8))
        Foundation.exit(2)
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
            print("| `\(a.rawValue)` | \(p.delivery.rawValue) | \(p.priority.rawValue) | \(p.clear.rawValue) | \(p.blocksPatientBolus ? "yes" : "no") | \(p.rationale) |")
        }
    }
}
