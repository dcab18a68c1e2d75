/// How late the loops woke after their deadlines, summarised at shutdown.
import Controller
import Foundation
import Logging
import PumpCore
import PumpSync

/// How late the loops woke after their deadlines (the benchmark reads the shutdown line).
final class WakeLateness: Sendable {
    private let samples = Locked<[WakeLoop: [Int64]]>([:])
    func add(_ loop: WakeLoop, _ late: Nanoseconds) {
        samples.withLock { s in
            if s[loop, default: []].count < 2_000_000 { s[loop, default: []].append(late.value) }
        }
    }
    func summary(_ loop: WakeLoop) -> Logger.Metadata {
        let v = samples.withLock { $0[loop] ?? [] }.sorted()
        func p(_ q: Double) -> String { v.isEmpty ? "-" : String(format: "%.3f", Double(v[min(v.count - 1, Int(Double(v.count) * q))]) / 1e6) }
        return ["loop": "\(loop.rawValue)", "wakes": "\(v.count)", "p50_ms": "\(p(0.5))", "p99_ms": "\(p(0.99))",
                "p999_ms": "\(p(0.999))", "max_ms": "\(v.last.map { String(format: "%.3f", Double($0) / 1e6) } ?? "-")"]
    }
}
