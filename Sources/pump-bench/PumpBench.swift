import ArgumentParser
import Controller
import Foundation
import PumpCore
import PumpJournal
import PumpSimulation

/// `pump-bench`: measurements for `Scripts/bench` (medians and percentiles of real runs; never a
/// timed unit test).
@main
struct PumpBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pump-bench", abstract: "Benchmarks of the pump controller.",
                                                    subcommands: [JournalBench.self, SpeedBench.self])
}

/// The per-stroke journal cost: each stroke's intent is one synced commit (rollback journal, synchronous=FULL)
/// on the folder's file system, with a checkpoint riding along, as pumpd writes them.
struct JournalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal", abstract: "Commit time of stroke intents (p50/p99/max).")
    @Option(help: "Intents to commit, one per stroke.") var strokes = 2000
    @Option(help: "Folder for the journal file (on the storage to measure).") var folder = ".build/bench"
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/journal-bench-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let start = try SQLiteJournal.open(path: path, board: "bench", therapy: "bench", reservoirFill: .millilitres(20), utcNanoseconds: 0, mode: .daemon)
        let j = start.journal
        let wall = DispatchTime.now().uptimeNanoseconds
        for i in 1...Int64(strokes) {
            j.requestIntent(throughStroke: i, utcNanoseconds: i)
            guard await j.awaitIntent(throughStroke: i) else { throw ValidationError("journal failed at stroke \(i)") }
            j.record(JournalCheckpoint(confirmedStrokes: i, programmed: Nanolitres(250 * i), measuredSinceFill: Nanolitres(250 * i),
                                       state: .delivering, utcNanoseconds: i), events: [])
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e9
        j.close(confirmedStrokes: Int64(strokes), utcNanoseconds: Int64(strokes) + 1)
        let ns = j.commitStats.nanoseconds.sorted()
        func pct(_ p: Double) -> Double { Double(ns[min(ns.count - 1, Int(Double(ns.count) * p))]) / 1e6 }
        let result: [String: Any] = [
            "journal_commits": j.commitStats.count, "strokes": strokes,
            "commit_ms_p50": pct(0.5), "commit_ms_p99": pct(0.99), "commit_ms_max": pct(1.0),
            "strokes_per_second": Double(strokes) / seconds,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "journal: %d strokes, %d commits, commit p50 %.3f ms, p99 %.3f ms, max %.3f ms (%.0f strokes/s)",
                         strokes, j.commitStats.count, pct(0.5), pct(0.99), pct(1.0), Double(strokes) / seconds))
        }
    }
}

/// Simulator and swarm speed: simulated days per wall-clock second (a 30-day run at 0.5 mL/day
/// with 24 coughs a day, the default plant) and fault-swarm seeds per second, medians of runs.
struct SpeedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "speed", abstract: "Simulated days per second and swarm seeds per second.")
    @Option(help: "Repetitions (the median is reported).") var repeats = 3
    @Option(help: "Swarm seeds per repetition.") var seeds = 200
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() async throws {
        let scenario = try Scenario.parse(Data("""
            {"name": "bench 30 days", "duration": "30d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500},
             "prescription": {"mode": "continuous", "daily_dose_ug": 250},
             "reservoir": {"capacity_ml": 40, "fill_ml": 40}, "plant": {"coughs_per_day": 24}}
            """.utf8))
        var daysPerSecond: [Double] = [], seedsPerSecond: [Double] = []
        for r in 0..<repeats {
            var t0 = DispatchTime.now().uptimeNanoseconds
            _ = await Simulator.run(scenario)
            daysPerSecond.append(30 / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
            t0 = DispatchTime.now().uptimeNanoseconds
            for s in 0..<seeds { _ = await Swarm.run(seed: UInt64(r * seeds + s + 1)) }
            seedsPerSecond.append(Double(seeds) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
        }
        func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
        let result: [String: Any] = ["simulated_days_per_second": median(daysPerSecond), "swarm_seeds_per_second": median(seedsPerSecond),
                                     "repeats": repeats]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "simulator: %.1f simulated days/s; swarm: %.1f seeds/s (one core, median of %d)",
                         median(daysPerSecond), median(seedsPerSecond), repeats))
        }
    }
}
