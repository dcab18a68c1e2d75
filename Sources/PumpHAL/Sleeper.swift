/// How drivers wait for hardware (pulse widths, conversion times). Injected so that driver tests
/// record the waits instead of sleeping.
public protocol Sleeper: Sendable {
    nonisolated(nonsending) func sleep(nanoseconds: Int64) async
}

/// Real waiting, for the rig.
public struct TaskSleeper: Sleeper {
    public init() {}
    nonisolated(nonsending) public func sleep(nanoseconds: Int64) async {
        guard nanoseconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(nanoseconds))
    }
}
