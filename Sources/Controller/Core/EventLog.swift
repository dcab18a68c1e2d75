/// The controller's recent events, bounded in memory. The journal and the daemon's log take
/// them as they come (by sequence number); what stays here is only the recent past, so a pump
/// that runs for months, or a flood of requests, cannot grow it without bound.
public struct EventLog: Sendable, RandomAccessCollection {
    /// Events kept at least; the oldest are dropped in blocks of this size once twice as many are held.
    public static let retained = 4096

    private var entries: [ControllerEvent] = []
    /// The sequence number of `entries[0]`: events dropped so far.
    public private(set) var firstSequence = 0
    /// The sequence number the next event will get (events recorded so far).
    public var endSequence: Int { firstSequence + entries.count }

    public init() {}

    mutating func append(_ e: ControllerEvent) {
        entries.append(e)
        if entries.count >= 2 * Self.retained {
            entries.removeFirst(Self.retained)
            firstSequence += Self.retained
        }
    }

    /// The events from sequence number `sequence` on, and how many after it were already dropped
    /// (a reader that fell more than `retained` events behind).
    public func since(_ sequence: Int) -> (events: ArraySlice<ControllerEvent>, lost: Int) {
        let from = Swift.max(sequence, firstSequence)
        return (entries[(from - firstSequence)...], from - sequence)
    }

    public var startIndex: Int { entries.startIndex }
    public var endIndex: Int { entries.endIndex }
    public subscript(i: Int) -> ControllerEvent { entries[i] }
}
