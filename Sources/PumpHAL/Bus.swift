/// Bus primitives that chip drivers are written against (after embedded-hal): small, fallible,
/// and implemented both by the Linux backend and by ordered-expectation fakes.

/// An SMBus/I²C bus. Word transfers use the SMBus wire order (low byte first); drivers for
/// big-endian chips swap explicitly.
public protocol I2CBus: Sendable {
    nonisolated(nonsending) func readByte(address: UInt8, register: UInt8) async throws(HALError) -> UInt8
    nonisolated(nonsending) func writeByte(address: UInt8, register: UInt8, value: UInt8) async throws(HALError)
    /// The 16-bit value as SMBus returns it: first byte on the wire in the low half.
    nonisolated(nonsending) func readWord(address: UInt8, register: UInt8) async throws(HALError) -> UInt16
    nonisolated(nonsending) func writeWord(address: UInt8, register: UInt8, value: UInt16) async throws(HALError)
}

/// Raw I²C transfers, for chips that are not register maps (a command, then a plain read: the
/// Honeywell ABP2). After embedded-hal's `I2c` `write`, `read` and `write_read`; kept apart from
/// `I2CBus` so a driver asks only for what it uses. Errors are the same kinds as SMBus's.
public protocol I2CTransfers: Sendable {
    nonisolated(nonsending) func write(address: UInt8, bytes: [UInt8]) async throws(HALError)
    /// Exactly `count` bytes, in wire order.
    nonisolated(nonsending) func read(address: UInt8, count: Int) async throws(HALError) -> [UInt8]
    /// `bytes` then a read of `count`, joined by a repeated start: nothing else on the bus can
    /// come between them.
    nonisolated(nonsending) func writeRead(address: UInt8, bytes: [UInt8], count: Int) async throws(HALError) -> [UInt8]
}

/// A digital output line (STEP, DIR, ENABLE, buzzer). Levels are physical: `true` is high.
public protocol OutputLine: Sendable {
    nonisolated(nonsending) func set(_ high: Bool) async throws(HALError)
}

public enum Edge: Sendable, Hashable {
    case rising, falling
}

/// A digital input line (encoder, driver nFAULT, bolus button).
public protocol InputLine: Sendable {
    nonisolated(nonsending) func get() async throws(HALError) -> Bool
    /// Waits for the next edge, or returns nil after `timeoutNanoseconds`.
    nonisolated(nonsending) func waitForEdge(timeoutNanoseconds: Int64) async throws(HALError) -> Edge?
    /// Edges the kernel dropped before they were read, since the line was requested (from the
    /// events' sequence numbers). Lost edges are lost motion: the watchdog must see them.
    var droppedEdges: Int64 { get }
}

extension InputLine {
    /// Lines that cannot lose edges (fakes) or cannot tell (libgpiod 1.6 has no sequence numbers).
    public var droppedEdges: Int64 { 0 }
}

/// Counts the edges missing from a run of per-line event sequence numbers: the kernel numbers a
/// line's events 1, 2, 3, … from the request in a 32-bit counter that wraps, and a gap is edges
/// its buffer dropped. Events must be observed in the order they were read (under the line's lock).
public struct EdgeSequence: Sendable, Equatable {
    /// The last number seen; nil before the first numbered event.
    public private(set) var last: UInt32?
    public private(set) var dropped: Int64 = 0
    public init() {}
    /// Takes the next event's number (nil: the interface numbers nothing, as libgpiod 1.6);
    /// returns the edges dropped just before it.
    @discardableResult
    public mutating func observe(_ sequenceNumber: UInt32?) -> Int64 {
        guard let n = sequenceNumber else { return 0 }
        let gap = Int64(n &- (last ?? 0) &- 1)
        last = n
        dropped += gap
        return gap
    }
}
