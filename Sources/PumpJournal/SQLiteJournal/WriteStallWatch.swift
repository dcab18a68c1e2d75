import Foundation
import PumpSync

/// Times every journal write while it is under way, so a write the storage does not answer (a
/// frozen or hung card: nothing fails, nothing lands) is seen from another thread. Its own type
/// because it keeps its own clock and its own table of writes under way.
final class WriteStallWatch: @unchecked Sendable {
    /// The clock stalls are measured on (tests move it by hand).
    var uptimeNanoseconds: @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    /// Writes under way, by token, and when each began.
    private let writesUnderWay = Locked<(next: Int, started: [Int: UInt64])>((0, [:]))

    /// Runs `body` as one write under way.
    func timing<T>(_ body: () throws -> T) rethrows -> T {
        let started = uptimeNanoseconds()
        let token = writesUnderWay.withLock { w -> Int in
            w.next += 1
            w.started[w.next] = started
            return w.next
        }
        defer { _ = writesUnderWay.withLock { $0.started.removeValue(forKey: token) } }
        return try body()
    }

    /// How long the oldest write under way has waited for the storage (0: none under way).
    var stalledNanoseconds: Int64 {
        let now = uptimeNanoseconds()
        return writesUnderWay.withLock { w in w.started.values.min().map { Int64(bitPattern: now &- $0) } ?? 0 }
    }
    /// Writes under way now.
    var count: Int { writesUnderWay.withLock { $0.started.count } }
}
