import Foundation

/// Elapsed time that no wall-clock step can move, and the boot it belongs to. Bolus limits are
/// measured on the journal's timeline, which runs on this clock (docs/journal.md, "Time across a
/// restart"): within one boot, a restart sees exactly the time that passed whatever the wall
/// clock did; after a reboot, whose length no trustworthy clock measured, the time the pump was
/// down counts as none (limits last longer, never shorter).
public struct BootClock: Sendable {
    /// Which boot (`/proc/sys/kernel/random/boot_id`); a different one means the clock restarted.
    public var id: String
    /// Nanoseconds since the boot; nil: the wall clock stands in (a virtual clock that never
    /// steps, as the simulator's: the timeline is then the wall clock).
    public var nanoseconds: (@Sendable () -> Int64)?

    public init(id: String, nanoseconds: (@Sendable () -> Int64)?) {
        self.id = id
        self.nanoseconds = nanoseconds
    }

    /// The kernel's: CLOCK_BOOTTIME (counts suspend too) and this boot's id (a random one if the
    /// id cannot be read: then every start counts as after a reboot, the cautious side).
    public static var system: BootClock {
        let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
        let id = text.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown-\(UUID().uuidString)"
        return BootClock(id: id, nanoseconds: {
            var ts = timespec()
            clock_gettime(CLOCK_BOOTTIME, &ts)
            return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        })
    }

    /// The wall clock as the boot clock (the simulator's virtual time; tests that move the wall clock).
    public static let wallClock = BootClock(id: "wall-clock", nanoseconds: nil)

    /// This clock's reading now, given the wall clock's reading now.
    func now(utcNanoseconds: Int64) -> Int64 { nanoseconds?() ?? utcNanoseconds }
}
