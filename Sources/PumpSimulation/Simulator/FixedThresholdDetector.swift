/// The conventional fixed-threshold occlusion detector the simulator runs in the shadow of ours.
import PumpCore

/// The conventional detector our occlusion detector is compared with: pressure more than
/// +100 mmHg above the average of the first minute of readings.
/// It counts every crossing (re-armed once the pressure is back 10 mmHg below the threshold), so
/// its false alarms over a long run can be counted too.
struct FixedThresholdDetector {
    static let thresholdMMHg = 100.0
    static let rearmMMHg = 10.0
    private var sum = 0.0, count = 0
    private var armed = true
    private(set) var alarmAt: MonotonicInstant?
    private(set) var alarms = 0
    /// Plant strokes from the first occlusion to the first alarm (set by the simulator).
    var strokesSinceOcclusion: Int64?
    mutating func observe(_ r: CentiMMHg, at now: MonotonicInstant) {
        if now.nanoseconds < 60_000_000_000 { sum += r.mmHg; count += 1; return }
        guard count > 0 else { return }
        let limit = sum / Double(count) + Self.thresholdMMHg
        if armed, r.mmHg >= limit {
            alarms += 1
            armed = false
            if alarmAt == nil { alarmAt = now }
        } else if !armed, r.mmHg < limit - Self.rearmMMHg {
            armed = true
        }
    }
}
