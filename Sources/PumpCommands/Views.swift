import Controller
import Foundation
import PumpCore

/// What the daemon answers, as JSON objects (docs/commands.md), made from the controller's own
/// types so pumpctl shows exactly what the controller holds.
public enum Views {
    static func ug(_ v: Int64) -> Double { Double(v) / 1000 }
    static func ml(_ v: Nanolitres) -> Double { Double(v.value) / 1_000_000 }
    static func iso(_ utcNanoseconds: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: Double(utcNanoseconds) / 1e9))
    }
    /// A duration from now as a date, or nil.
    static func date(_ d: Nanoseconds?, from utc: Int64) -> Any { d.map { iso(utc + $0.value) } ?? NSNull() }

    public static func prescription(_ p: Prescription) -> [String: Any] {
        var o: [String: Any] = ["drug": p.drug.name, "concentration_ug_per_ml": ug(p.drug.concentration.value), "daily_cap_ug": ug(p.dailyCap.value)]
        switch p.basal {
        case .continuous(let d): o["mode"] = "continuous"; o["daily_dose_ug"] = ug(d.value)
        case .flex(let s):
            o["mode"] = "flex"
            o["steps"] = s.map { ["start": $0.start.description, "daily_dose_ug": ug($0.dailyDose.value)] as [String: Any] }
        }
        if let b = p.patientBolus {
            o["patient_bolus"] = ["dose_ug": ug(b.dose.value), "lockout_s": b.lockout.seconds, "max_per_day": b.maxPerDay, "over_s": b.duration.seconds]
        }
        return o
    }

    /// Old and new, one row per setting: [setting, old, new, changed].
    public static func comparison(old: Prescription, new: Prescription) -> [[Any]] {
        func lines(_ p: Prescription) -> [(String, String)] {
            var l: [(String, String)] = [("drug", "\(p.drug.name) \(p.drug.concentration)")]
            switch p.basal {
            case .continuous(let d): l.append(("mode", "continuous")); l.append(("daily dose", "\(d)"))
            case .flex(let steps):
                l.append(("mode", "flex"))
                for s in steps { l.append(("from \(s.start)", "\(s.dailyDose)")) }
            }
            l.append(("volume per day", String(format: "%.3f mL", p.nanolitresPerDay(p.basal.nominalDailyDose) / 1e6)))
            if let b = p.patientBolus {
                l.append(("patient bolus", "\(b.dose) over \(Int64(b.duration.seconds)) s"))
                l.append(("lockout", "\(Int64(b.lockout.seconds / 60)) min"))
                l.append(("boluses per day", "\(b.maxPerDay)"))
            } else {
                l.append(("patient bolus", "none"))
            }
            l.append(("24-hour cap", "\(p.dailyCap)"))
            return l
        }
        let a = lines(old), b = lines(new)
        var keys: [String] = []
        for (k, _) in a + b where !keys.contains(k) { keys.append(k) }
        return keys.map { k in
            let o = a.first { $0.0 == k }?.1 ?? "—", n = b.first { $0.0 == k }?.1 ?? "—"
            return [k, o, n, o != n]
        }
    }

    public static func refill(_ r: RefillRecord) -> [String: Any] {
        var o: [String: Any] = [
            "expected_ml": ml(r.expected), "withdrawn_ml": ml(r.withdrawn), "discrepancy_ml": ml(r.discrepancy),
            "tolerance_ml": ml(r.tolerance), "beyond_tolerance": r.beyondTolerance, "verdict": r.verdict,
            "relative_discrepancy": (r.relativeDiscrepancy * 1000).rounded() / 1000, "added_ml": ml(r.added),
            "old_concentration_ug_per_ml": ug(r.oldConcentration.value), "new_concentration_ug_per_ml": ug(r.newConcentration.value),
        ]
        if let b = r.bridge {
            o["bridge"] = ["volume_ml": ml(b.volume), "concentration_ug_per_ml": ug(b.concentration.value), "duration_s": b.duration.seconds]
        }
        return o
    }

    public static func status(_ s: ControllerStatus, utcNanoseconds utc: Int64, device: String) -> [String: Any] {
        let f = s.forecast
        var o: [String: Any] = [
            "device": device, "at": iso(utc), "state": s.state.rawValue, "prescription": prescription(s.prescription),
            "basal_rate_ug_per_day": ug(s.basalRate.value), "concentration_in_force_ug_per_ml": ug(s.concentrationInForce.value),
            "bridge_remaining_s": s.bridgeRemaining.map { $0.seconds as Any } ?? NSNull(),
            "bridge_remaining_ml": s.bridgeRemainingVolume.map { ml($0) as Any } ?? NSNull(),
            "reservoir": [
                "expected_ml": ml(s.reservoirExpected), "known": s.reservoirKnown, "capacity_ml": ml(s.reservoirCapacity), "low_alarm_ml": ml(s.lowReservoirLevel),
            ] as [String: Any],
            "forecast": [
                "expected_ml_per_day": ml(f.expectedPerDay), "worst_ml_per_day": ml(f.worstPerDay),
                "refill_by_expected": date(f.expectedToLow, from: utc), "refill_by_worst": date(f.worstToLow, from: utc),
                "empty_expected": date(f.expectedToEmpty, from: utc), "empty_worst": date(f.worstToEmpty, from: utc),
            ] as [String: Any],
            "battery": [
                "percent": s.batteryStateOfCharge.map { $0.percent as Any } ?? NSNull(),
                "elective_replacement_by": date(s.batteryToElectiveReplacement, from: utc),
            ] as [String: Any],
            "alarms": s.activeAlarms.map {
                ["type": $0.type.rawValue, "priority": $0.policy.priority.rawValue, "acknowledged": $0.acknowledgedAt != nil,
                 "cause_present": $0.causePresent, "clear": $0.policy.clear.rawValue] as [String: Any]
            },
            "commanded_strokes": s.commandedStrokes, "programmed_ml": ml(s.programmed),
            "refills": s.refills.suffix(10).map(refill),
        ]
        var bolus: [String: Any] = ["prescribed": s.prescription.patientBolus != nil]
        if let next = s.nextPatientBolusIn {
            bolus["next_allowed_in_s"] = next.seconds
            bolus["next_allowed_at"] = iso(utc + next.value)
        }
        bolus["blocked_by"] = s.patientBolusBlocker ?? NSNull()
        o["patient_bolus"] = bolus
        return o
    }
}
