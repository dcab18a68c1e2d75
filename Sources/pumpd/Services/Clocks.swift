/// The daemon's two clocks: UTC from the wall clock, and CLOCK_MONOTONIC as the HIL stamps pins.
import Controller
import Foundation

struct SystemWallClock: WallClock {
    func utcNanoseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1e9).rounded()) }
}

/// CLOCK_MONOTONIC in nanoseconds, the time base the HIL's plant stamps pin changes with.
enum MonotonicClock {
    static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
