#if LinuxBackend && os(Linux)
import CGPIOD
import PumpHAL
import Synchronization

/// A GPIO chip found by its label (libgpiod v1). Lines are requested by *name*, never by number;
/// outputs are requested with their safe value, so the motor is disabled from the first instant.
public final class GPIOChip: @unchecked Sendable {
    // The chip pointer is only used under `lock`; lines keep the chip alive until they are closed.
    private let chip: OpaquePointer
    private let lock = Mutex(())
    public let label: String
    public static let consumer = "pumpd"

    public init(label: String) throws(HALError) {
        guard let c = gpiod_chip_open_by_label(label) else {
            throw LinuxErrno.error(pump_gpio_errno(), "no GPIO chip labelled '\(label)'")
        }
        chip = c
        self.label = label
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
        guard gpiod_line_request_output(line, Self.consumer, initial ? 1 : 0) == 0 else {
            throw LinuxErrno.error(pump_gpio_errno(), "cannot request output '\(name)'")
        }
        return GPIOOutputLine(chip: self, line: line, name: name)
    }

    /// Requests an input line with edge events on both edges.
    public func input(named name: String) throws(HALError) -> GPIOInputLine {
        let line = try find(name)
        guard gpiod_line_request_both_edges_events(line, Self.consumer) == 0 else {
            throw LinuxErrno.error(pump_gpio_errno(), "cannot request input '\(name)'")
        }
        return GPIOInputLine(chip: self, line: line, name: name)
    }
}

/// A requested libgpiod line; only touched under its owner's lock.
struct LineHandle: @unchecked Sendable { let pointer: OpaquePointer }

/// An output line. Released on `close()` or when dropped.
public final class GPIOOutputLine: OutputLine, @unchecked Sendable {
    private let chip: GPIOChip
    private let line: Mutex<LineHandle?>
    public let name: String

    init(chip: GPIOChip, line: OpaquePointer, name: String) {
        self.chip = chip
        self.line = Mutex(LineHandle(pointer: line))
        self.name = name
    }

    nonisolated(nonsending) public func set(_ high: Bool) async throws(HALError) {
        let r: Int32? = line.withLock { l in l.map { gpiod_line_set_value($0.pointer, high ? 1 : 0) } }
        guard let r else { throw HALError(.notFound, "line '\(name)' is closed") }
        if r != 0 { throw LinuxErrno.error(pump_gpio_errno(), "cannot set '\(name)'") }
    }

    public func close() { line.withLock { l in if let h = l { gpiod_line_release(h.pointer) }; l = nil } }
    deinit { close() }
}

/// An input line with edge events. `waitForEdge` blocks its thread for at most the timeout; the
/// drivers and the daemon only ever pass 0 and poll, so no thread of the cooperative pool is held.
public final class GPIOInputLine: InputLine, @unchecked Sendable {
    private let chip: GPIOChip
    private let line: Mutex<LineHandle?>
    public let name: String

    init(chip: GPIOChip, line: OpaquePointer, name: String) {
        self.chip = chip
        self.line = Mutex(LineHandle(pointer: line))
        self.name = name
    }

    nonisolated(nonsending) public func get() async throws(HALError) -> Bool {
        let r: Int32? = line.withLock { l in l.map { gpiod_line_get_value($0.pointer) } }
        guard let r else { throw HALError(.notFound, "line '\(name)' is closed") }
        if r < 0 { throw LinuxErrno.error(pump_gpio_errno(), "cannot read '\(name)'") }
        return r == 1
    }

    nonisolated(nonsending) public func waitForEdge(timeoutNanoseconds: Int64) async throws(HALError) -> Edge? {
        let result: (Int32, Int32) = line.withLock { l in
            guard let l = l?.pointer else { return (-2, 0) }
            var ts = timespec(tv_sec: Int(timeoutNanoseconds / 1_000_000_000), tv_nsec: Int(timeoutNanoseconds % 1_000_000_000))
            let w = gpiod_line_event_wait(l, &ts)
            guard w == 1 else { return (w, 0) }
            var event = gpiod_line_event()
            guard gpiod_line_event_read(l, &event) == 0 else { return (-1, 0) }
            return (1, event.event_type)
        }
        switch result.0 {
        case 0: return nil
        case 1: return result.1 == Int32(GPIOD_LINE_EVENT_RISING_EDGE) ? .rising : .falling
        case -2: throw HALError(.notFound, "line '\(name)' is closed")
        default: throw LinuxErrno.error(pump_gpio_errno(), "cannot read edges of '\(name)'")
        }
    }

    public func close() { line.withLock { l in if let h = l { gpiod_line_release(h.pointer) }; l = nil } }
    deinit { close() }
}
#endif
