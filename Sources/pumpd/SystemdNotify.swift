#if Systemd && canImport(CSystemd)
import CSystemd
#endif

/// systemd's service notification through libsystemd (`Type=notify` in Scripts/pumpd.service):
/// READY once the loops run, WATCHDOG while both are healthy, STOPPING when the safe stop begins.
/// Without NOTIFY_SOCKET (not under systemd) libsystemd sends nothing; a build without the
/// `Systemd` trait (the static HIL build) has no notification at all.
enum SystemdNotify {
    static func send(_ state: String) {
        #if Systemd && canImport(CSystemd)
        _ = sd_notify(0, state)
        #endif
    }

    /// The interval systemd expects WATCHDOG=1 within (`WatchdogSec=`), or nil when it watches
    /// nothing (no WATCHDOG_USEC, or it is for another process).
    static var watchdogInterval: Duration? {
        #if Systemd && canImport(CSystemd)
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
        #else
        return nil
        #endif
    }
}
