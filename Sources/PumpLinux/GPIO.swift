#if LinuxBackend && os(Linux)
import CGPIOD
import PumpHAL
import PumpSync

/// A GPIO chip found by its label (libgpiod v1). Lines are requested by *name*, never by number;
/// outputs are requested with their safe value, so the motor is disabled from the first instant.
public final class GPIOChip: @unchecked Sendable {
    // The chip pointer is only used under `lock`; lines keep the chip alive until they are closed.
    private let chip: OpaquePointer
    private let lock = Locked(())
    public let label: String
    /// The name the kernel shows as the holder of the lines requested through this chip.
    public let consumer: String

    public init(label: String, consumer: String = "pumpd") throws(HALError) {
        guard let c = gpiod_chip_open_by_label(label) else {
            throw LinuxErrno.error(pump_gpio_errno(), "no GPIO chip labelled '\(label)'")
        }
        chip = c
        self.label = label
        self.consumer = consumer
    }

    deinit { gpiod_chip_close(chip) }

    private func find(_ name: String) throws(HALError) -> OpaquePointer {
        let line: OpaquePointer? = lock.withLock { _ in gpiod_chip_find_line(chip, name) }
        guard let line else { throw HALError(.notFound, errno: pump_gpio_errno(), "no line '\(name)' on chip '\(label)'") }
        return line
    }

    /// Requests an output line, at `initial` (its safe level) from the moment of the request.
    public func output(named name: String, initial: Bool) throws(HALError) -> GPIOOutputLine {
        let line = try find(name)
        guard gpiod_line_request_output(line, consumer, initial ? 1 : 0) == 0 else {
            throw LinuxErrno.error(pump_gpio_errno(), "cannot request output '\(name)'")
        }
        return GPIOOutputLine(chip: self, line: line, name: name)
    }

    /// Who holds a line and how, without requesting it (a bench tool's view of the controller's
    /// lines). Returns nil if there is no line of that name.
    public func info(named name: String) -> GPIOLineInfo? {
        lock.withLock { _ -> GPIOLineInfo? in
            guard let line = gpiod_chip_find_line(chip, name) else { return nil }
            _ = gpiod_line_update(line)
            let consumer = gpiod_line_consumer(line).map { String(cString: $0) }
            return GPIOLineInfo(used: gpiod_line_is_used(line), consumer: consumer,
                                isOutput: gpiod_line_direction(line) == Int32(GPIOD_LINE_DIRECTION_OUTPUT))
        }
    }

    /// Which edges an input line reports.
    public enum Edges: Sendable {
        case rising, falling, both
    }

    /// Requests an input line with edge events. Request only the edges you count: with both
    /// edges, the kernel's v1 interface labels an event by reading the line's level when its
    /// interrupt thread runs, so a short pulse can come out as two falling edges (seen in the HIL
    /// VM); with one edge requested, every event is that edge.
    public func input(named name: String, edges: Edges) throws(HALError) -> GPIOInputLine {
        let line = try find(name)
        let r = switch edges {
        case .rising: gpiod_line_request_rising_edge_events(line, consumer)
        case .falling: gpiod_line_request_falling_edge_events(line, consumer)
        case .both: gpiod_line_request_both_edges_events(line, consumer)
        }
        guard r == 0 else { throw LinuxErrno.error(pump_gpio_errno(), "cannot request input '\(name)'") }
        return GPIOInputLine(chip: self, line: line, name: name)
    }
}

/// A line as the kernel reports it to anyone: requested or not, by whom, in which direction.
public struct GPIOLineInfo: Sendable, Equatable {
    public var used: Bool
    public var consumer: String?
    public var isOutput: Bool
}

/// A requested libgpiod line, released on `close()` or when dropped; it keeps its chip open.
final class RequestedLine: @unchecked Sendable {
    // The pointer is only touched under the lock.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
    private let chip: GPIOChip
    private let handle: Locked<Handle?>
    let name: String

    init(chip: GPIOChip, line: OpaquePointer, name: String) {
        self.chip = chip
        handle = Locked(Handle(pointer: line))
        self.name = name
    }

    /// Runs `body` on the line, or throws if it was closed.
    func with<R: Sendable>(_ body: (OpaquePointer) -> R) throws(HALError) -> R {
        let r: R? = handle.withLock { h -> R? in
            guard let p = h?.pointer else { return nil }
            return body(p)
        }
        guard let r else { throw HALError(.notFound, "line '\(name)' is closed") }
        return r
    }

    func close() { handle.withLock { h in if let p = h?.pointer { gpiod_line_release(p) }; h = nil } }
    deinit { close() }
}

/// An output line.
public final class GPIOOutputLine: OutputLine {
    private let line: RequestedLine
    public var name: String { line.name }
    init(chip: GPIOChip, line: OpaquePointer, name: String) { self.line = RequestedLine(chip: chip, line: line, name: name) }

    nonisolated(nonsending) public func set(_ high: Bool) async throws(HALError) {
        let r = try line.with { gpiod_line_set_value($0, high ? 1 : 0) }
        if r != 0 { throw LinuxErrno.error(pump_gpio_errno(), "cannot set '\(name)'") }
    }

    public func close() { line.close() }
}

/// An input line with edge events. `waitForEdge` blocks its thread for at most the timeout; the
/// drivers and the daemon only ever pass 0 and poll, so no thread of the cooperative pool is held.
public final class GPIOInputLine: InputLine {
    private let line: RequestedLine
    public var name: String { line.name }
    init(chip: GPIOChip, line: OpaquePointer, name: String) { self.line = RequestedLine(chip: chip, line: line, name: name) }

    nonisolated(nonsending) public func get() async throws(HALError) -> Bool {
        let r = try line.with { gpiod_line_get_value($0) }
        if r < 0 { throw LinuxErrno.error(pump_gpio_errno(), "cannot read '\(name)'") }
        return r == 1
    }

    nonisolated(nonsending) public func waitForEdge(timeoutNanoseconds: Int64) async throws(HALError) -> Edge? {
        let (status, type): (Int32, Int32) = try line.with { l in
            var ts = timespec(tv_sec: Int(timeoutNanoseconds / 1_000_000_000), tv_nsec: Int(timeoutNanoseconds % 1_000_000_000))
            let w = gpiod_line_event_wait(l, &ts)
            guard w == 1 else { return (w, 0) }
            var event = gpiod_line_event()
            return gpiod_line_event_read(l, &event) == 0 ? (1, event.event_type) : (-1, 0)
        }
        switch status {
        case 0: return nil
        case 1: return type == Int32(GPIOD_LINE_EVENT_RISING_EDGE) ? .rising : .falling
        default: throw LinuxErrno.error(pump_gpio_errno(), "cannot read edges of '\(name)'")
        }
    }

    public func close() { line.close() }
}
#endif
