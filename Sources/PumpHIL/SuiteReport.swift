import Foundation

/// The suite's results: each check as it is recorded (its line in the log and, on a failure, the
/// last output and threads of the case's processes) and the numbers the closing report quotes.
/// Its own type because it is the suite's only state that outlives a case.
final class SuiteReport {
    let log: (String) -> Void
    private(set) var checks: [Suite.Check] = []
    /// Numbers the closing report quotes (hazard → enable low at the pin, and so on).
    var measurements: [(String, String)] = []
    /// Halt decision (pumpd's `halt decision monotonic_ns=`) → ENABLE low seen at the pin (the
    /// plant's `enable 0 … t=`), ms, one per hazard that halted.
    var haltToPin: [Double] = []

    init(log: @escaping (String) -> Void) {
        self.log = log
    }

    /// `processes`: the case's, whose last output a failed check prints.
    func record(_ name: String, _ passed: Bool?, _ detail: String, processes: [ChildProcess]) {
        let c = Suite.Check(name: name, outcome: passed.map { $0 ? .passed : .failed } ?? .skipped, detail: detail)
        checks.append(c)
        log("\(c.outcome == .passed ? "✔" : c.outcome == .failed ? "✘" : "–") hil \(name): \(detail)")
        if c.outcome == .failed {
            for p in processes {
                log("   last output of \(p.name):")
                for l in p.lines.suffix(25) { log("   | \(l.text)") }
                // Where each of its threads is (a silent process: blocked, or not scheduled).
                if p.isRunning { for t in ThreadDump.threads(of: p.pid) { log("   thread \(t)") } }
            }
        }
    }

    /// "n=3 p50=12 p99=30 max=30" (ms) of the halt decision → pin times.
    var haltToPinSummary: String? {
        guard !haltToPin.isEmpty else { return nil }
        let sorted = haltToPin.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)] }
        return String(format: "n=%d p50=%.1f p99=%.1f max=%.1f", sorted.count, quantile(0.5), quantile(0.99), sorted.last ?? 0)
    }
}
