import Foundation

/// Scenarios shipped with the simulator.
public enum BuiltInScenarios {
    /// The default of `pumpctl simulate`: the docs/scenarios.md example. Baclofen 500 µg/mL at
    /// 250 µg/day (0.5 mL/day), a patient bolus at 10 h, a catheter kink on day 3 that the watchdog
    /// catches and halts; the kink releases an hour later, but nothing restarts by itself.
    public static let demo = """
    {
      "name": "kink on day 3",
      "seed": 7,
      "duration": "4d",
      "drug": { "name": "baclofen", "concentration_ug_per_ml": 500 },
      "reservoir": { "capacity_ml": 20, "fill_ml": 20 },
      "prescription": {
        "mode": "continuous",
        "daily_dose_ug": 250,
        "steps": [ { "start": "00:00", "daily_dose_ug": 200 },
                   { "start": "08:00", "daily_dose_ug": 300 } ],
        "patient_bolus": { "dose_ug": 10, "lockout": "1h", "max_per_day": 4 }
      },
      "plant": { "stroke_volume_nl": 250 },
      "events": [
        { "at": "10h", "type": "patient_bolus" },
        { "at": "72h", "type": "occlusion" },
        { "at": "73h", "type": "clear_occlusion" }
      ]
    }
    """
}

/// The human-readable end-of-run summary.
public enum ReportSummary {
    public static func text(_ r: Report, wallSeconds: Double? = nil) -> String {
        func when(_ s: Double) -> String {
            let t = Int64(s.rounded(.down))
            let d = t / 86_400, h = (t % 86_400) / 3600, m = (t % 3600) / 60, sec = t % 60
            return String(format: "day %lld %02lld:%02lld:%02lld", d, h, m, sec)
        }
        func ul(_ v: Double) -> String { String(format: "%.2f µL", v) }
        func ug(_ v: Double) -> String { String(format: "%.2f µg", v) }
        var lines: [String] = []
        var head = "Scenario '\(r.scenario)' (seed \(r.seed)): \(String(format: "%.2f", r.duration_s / 86_400)) days simulated"
        if let w = wallSeconds { head += String(format: " in %.2f s", w) }
        lines.append(head)
        lines.append("Dose:      delivered \(ug(r.delivered_ug)) (\(ul(r.delivered_ul))) of \(ug(r.programmed_ug)) programmed (\(ul(r.programmed_ul)))")
        lines.append("Motor:     commanded \(ul(r.commanded_ul)) in \(Int((r.commanded_ul / r.stroke_volume_ul).rounded())) strokes of \(ul(r.stroke_volume_ul))")
        let accepted = r.boluses.filter(\.accepted)
        lines.append("Boluses:   \(accepted.count) accepted (\(ug(accepted.reduce(0) { $0 + $1.dose_ug }))), \(r.boluses.count - accepted.count) refused")
        for b in r.boluses where !b.accepted {
            lines.append("           \(when(b.requested_at_s))  \(b.kind) bolus refused: \(b.reason ?? "")")
        }
        lines.append(r.alarms.isEmpty ? "Alarms:    none" : "Alarms:")
        for a in r.alarms {
            lines.append("           \(when(a.at_s))  \(a.priority.uppercased().padding(toLength: 6, withPad: " ", startingAt: 0)) \(a.type)"
                         + (a.cleared_at_s.map { "  (cleared \(when($0)))" } ?? ""))
        }
        for h in r.halts { lines.append("Halted:    \(when(h.at_s))  \(h.reason)") }
        for f in r.faults {
            if let d = f.detected_at_s, let l = f.latency_s {
                lines.append("Fault:     \(f.type) at \(when(f.at_s)) -> \(f.alarm ?? "") after \(String(format: "%.1f", l)) s, \(f.strokes_since_fault) strokes (\(ul(f.volume_since_fault_ul))), at \(when(d))")
            } else {
                lines.append("Fault:     \(f.type) at \(when(f.at_s)) -> no alarm")
            }
        }
        let fixed = Int(r.baseline.fixed_threshold_mmhg)
        if let b = r.baseline.alarm_at_s {
            lines.append("Baseline:  a fixed +\(fixed) mmHg detector alarmed at \(when(b))")
        } else if r.faults.contains(where: { $0.type == "occlusion" }), let rise = r.learned.stroke_rise_mmhg, rise > 0 {
            lines.append("Baseline:  a fixed +\(fixed) mmHg detector had not alarmed; on this line it needs about "
                         + "\(Int((Double(fixed) / rise).rounded(.up))) blocked strokes (learned rise \(rise) mmHg per stroke)")
        }
        lines.append("Final:     \(r.final_state)")
        return lines.joined(separator: "\n")
    }
}
