/// How drivers wait for hardware (pulse widths, conversion times). Injected so that driver tests
/// record the waits instead of sleeping.
public protocol Sleeper: Sendable {
    nonisolated(nonsending) func sleep(nanoseconds: Int64) async
}

/// The monotonic time a driver measures its own timeouts against. A timeout counted as the sum
/// of the sleeps it asked for stretches when the system is loaded (every sleep overshoots: a 1 s
/// encoder timeout of 1 ms polls took about 5 s in the HIL guest under load); a deadline on this
/// clock does not.
public protocol MonotonicClock: Sendable {
    func monotonicNanoseconds() -> Int64
}

/// Real waiting, for the rig, and the real monotonic clock its deadlines are kept on.
public struct TaskSleeper: Sleeper, MonotonicClock {
    private static let epoch = ContinuousClock.now
    public init() {}
    nonisolated(nonsending) public func sleep(nanoseconds: Int64) async {
        guard nanoseconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(nanoseconds))
    }
    public func monotonicNanoseconds() -> Int64 {
        let d = Self.epoch.duration(to: .now).components
        return d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000
    }
}
