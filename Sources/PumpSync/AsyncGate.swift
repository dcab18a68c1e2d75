/// A lock for async code: one holder at a time across awaits, waiters served in arrival order.
/// The controller writes its motor's ENABLE line only under one (a disable decided before a
/// resume must not land after the enable that followed it).
public final class AsyncGate: Sendable {
    private let state = Locked<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Waits until the gate is free and takes it. Uncontended, it takes it without suspending.
    public func acquire() async {
        let taken = state.withLock { s in
            if s.held { return false }
            s.held = true
            return true
        }
        if taken { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                if !s.held { s.held = true; return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Hands the gate to the longest waiter, or frees it.
    public func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty { s.held = false; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    /// Tasks waiting for it (tests).
    public var waiting: Int { state.withLock { $0.waiters.count } }
}
