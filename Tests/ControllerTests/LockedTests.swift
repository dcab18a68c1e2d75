import Foundation
import PumpSync
import Testing

/// `Locked` is the one lock every shared value sits behind (the controller's core, the plant, the
/// journal's queue). Its accesses are not checked by the runtime (`@exclusivity(unchecked)`), so
/// these tests are what says the mutex alone keeps them exclusive.
@Suite struct LockedTests {
    /// Four threads adding 1 a hundred thousand times each: a lost update would show as a total
    /// under 400 000.
    /// Threads of their own (not the task pool the other tests share).
    @Test func concurrentUpdatesAreNotLost() {
        let counter = Locked(0)
        let threads = 4, increments = 100_000
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            Thread.detachNewThread {
                for _ in 0..<increments { counter.withLock { $0 += 1 } }
                finished.signal()
            }
        }
        for _ in 0..<threads { finished.wait() }
        #expect(counter.withLock { $0 } == threads * increments)
    }

    /// A `withLock` inside another on the same value would deadlock a plain mutex (and was a
    /// runtime exclusivity trap before the check was lifted): the error-checking mutex makes it a
    /// trap with a message instead.
    @Test func aReentrantCallTrapsInsteadOfHanging() async {
        await #expect(processExitsWith: .failure) {
            let value = Locked(0)
            value.withLock { _ in value.withLock { $0 += 1 } }
        }
    }
}
