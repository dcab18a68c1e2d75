import PumpCore

/// The pattern of the alarm output (buzzer or LED) for the loudest unacknowledged alarm, after
/// IEC 60601-1-8's idea that priority is audible: high is continuous, medium pulses once a
/// second, low gives a short pulse every 4 seconds, nothing is silent.
public enum AlarmAnnunciator {
    public static func isOn(_ priority: AlarmPriority?, at t: MonotonicInstant) -> Bool {
        let ms = t.nanoseconds / 1_000_000
        switch priority {
        case .high?: return true
        case .medium?: return ms % 1000 < 500
        case .low?: return ms % 4000 < 250
        case nil: return false
        }
    }
}
