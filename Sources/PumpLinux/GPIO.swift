#if LinuxBackend && os(Linux)
import CGPIOD
import Glibc
import PumpHAL
import SystemPackage
import PumpSync

/// The libgpiod API this build was compiled against (1 or 2) and the library's version string.
public enum GPIOLibrary {
    public static var api: Int { Int(PUMP_GPIO_API) }
    public static var version: String { String(cString: pump_gpio_library_version()) }
}

/// A GPIO chip found by its label. Lines are requested by *name*, never by number; outputs are
/// requested with their safe value, so the motor is disabled from the first instant. Works over
/// libgpiod 1.6 and 2.x through one C shim (Sources/CGPIOD), chosen when the package is built.
public final class GPIOChip: @unchecked Sendable {
    // The chip pointer is only used under `lock`; lines keep the chip alive until they are closed.
    private let chip: UnsafeMutablePointer<pump_gpio_chip>
    private let lock = Locked(())
    public let label: String
    /// The name the kernel shows as the holder of the lines requested through this chip.
    public let consumer: String

    public init(label: String, consumer: String = "pumpd") throws(HALError) {
        guard let c = pump_gpio_chip_open_by_label(label) else {
            let e = Errno.last
            switch e {
            case .notUnique: throw HALError(e, "more than one GPIO chip labelled '\(label)': which one the board means is unknown")
            case .permissionDenied, .notPermitted:
                throw HALError(e, "no GPIO chip labelled '\(label)' among those this user may open (permission denied on a /dev/gpiochip*: the gpio group?)")
            default: throw HALError(e, "no GPIO chip labelled '\(label)'")
            }
        }
        chip = c
        self.label = label
        self.consumer = consumer
    }

    deinit { pump_gpio_chip_close(chip) }

    private func requested(_ name: String, _ what: String,
                           _ request: (UnsafeMutablePointer<pump_gpio_chip>) -> UnsafeMutablePointer<pump_gpio_line>?) throws(HALError) -> RequestedLine {
        let (line, error) = lock.withLock { _ -> (UnsafeMutablePointer<pump_gpio_line>?, Errno) in
            errno = 0
            let l = request(chip)
            return (l, l == nil ? Errno.last : Errno(rawValue: 0))
        }
        guard let line else {
            if error == .noSuchFileOrDirectory { throw HALError(.notFound, errno: error.rawValue, "no line '\(name)' on chip '\(label)'") }
            throw HALError(error, "cannot request \(what) '\(name)'")
        }
        return RequestedLine(chip: self, line: line, name: name)
    }

    /// Requests an output line, at `initial` (its safe level) from the moment of the request.
    public func output(named name: String, initial: Bool) throws(HALError) -> GPIOOutputLine {
        GPIOOutputLine(try requested(name, "output") { pump_gpio_request_output($0, name, consumer, initial ? 1 : 0) })
    }

    /// Who holds a line and how, without requesting it (a bench tool's view of the controller's
    /// lines). Returns nil if there is no line of that name.
    public func info(named name: String) -> GPIOLineInfo? {
        lock.withLock { _ -> GPIOLineInfo? in
            var info = pump_gpio_line_info()
            guard pump_gpio_line_info(chip, name, &info) == 0 else { return nil }
            let consumer = withUnsafeBytes(of: info.consumer) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return GPIOLineInfo(used: info.used != 0, consumer: consumer.isEmpty ? nil : consumer, isOutput: info.is_output != 0)
        }
    }

    /// Which edges an input line reports.
    public enum Edges: Sendable {
        case rising, falling, both
    }

    /// The bias an input asks the pin for: a button wired to ground with no resistor of its own
    /// needs `.pullUp`, or it floats.
    public enum Bias: Sendable {
        case asIs, pullUp, pullDown, disabled
    }

    /// Requests an input line with edge events. Request only the edges you count: with both
    /// edges, the kernel (v1 and v2 interfaces alike) labels an event by reading the line's level
    /// when its interrupt thread runs, so a short pulse can come out as two falling edges (seen in the HIL
    /// VM); with one edge requested, every event is that edge.
    public func input(named name: String, edges: Edges, bias: Bias = .asIs) throws(HALError) -> GPIOInputLine {
        let e = switch edges {
        case .rising: PUMP_GPIO_EDGES_RISING
        case .falling: PUMP_GPIO_EDGES_FALLING
        case .both: PUMP_GPIO_EDGES_BOTH
        }
        let b = switch bias {
        case .asIs: PUMP_GPIO_BIAS_AS_IS
        case .pullUp: PUMP_GPIO_BIAS_PULL_UP
        case .pullDown: PUMP_GPIO_BIAS_PULL_DOWN
        case .disabled: PUMP_GPIO_BIAS_DISABLED
        }
        return GPIOInputLine(try requested(name, "input") { pump_gpio_request_input($0, name, consumer, e, b) })
    }
}

/// A line as the kernel reports it to anyone: requested or not, by whom, in which direction.
public struct GPIOLineInfo: Sendable, Equatable {
    public var used: Bool
    public var consumer: String?
    public var isOutput: Bool
}

/// A requested line, released on `close()` or when dropped; it keeps its chip open.
final class RequestedLine: @unchecked Sendable {
    // The pointer is only touched under the lock.
    private struct Handle: @unchecked Sendable { let pointer: UnsafeMutablePointer<pump_gpio_line> }
    private let chip: GPIOChip
    private let handle: Locked<Handle?>
    let name: String

    init(chip: GPIOChip, line: UnsafeMutablePointer<pump_gpio_line>, name: String) {
        self.chip = chip
        handle = Locked(Handle(pointer: line))
        self.name = name
    }

    /// Runs `body` on the line, or throws if it was closed. `body` returns its result and the
    /// errno it left, read before the lock is let go.
    func with<R: Sendable>(_ body: (UnsafeMutablePointer<pump_gpio_line>) -> R) throws(HALError) -> R {
        let r: R? = handle.withLock { h -> R? in
            guard let p = h?.pointer else { return nil }
            return body(p)
        }
        guard let r else { throw HALError(.notFound, "line '\(name)' is closed") }
        return r
    }

    func close() { handle.withLock { h in if let p = h?.pointer { pump_gpio_release(p) }; h = nil } }
    deinit { close() }
}

/// An output line.
public final class GPIOOutputLine: OutputLine {
    private let line: RequestedLine
    public var name: String { line.name }
    init(_ line: RequestedLine) { self.line = line }

    nonisolated(nonsending) public func set(_ high: Bool) async throws(HALError) {
        let (r, e) = try line.with { l in (pump_gpio_set(l, high ? 1 : 0), Errno.last) }
        if r != 0 { throw HALError(e, "cannot set '\(name)'") }
    }

    public func close() { line.close() }
}

/// An input line with edge events. `waitForEdge` blocks its thread for at most the timeout; the
/// drivers and the daemon only ever pass 0 and poll, so no thread of the cooperative pool is held.
/// Where the library numbers events (libgpiod 2), gaps in the numbers count dropped edges.
public final class GPIOInputLine: InputLine {
    private let line: RequestedLine
    private let sequence = Locked(EdgeSequence())
    public var name: String { line.name }
    init(_ line: RequestedLine) { self.line = line }

    nonisolated(nonsending) public func get() async throws(HALError) -> Bool {
        let (r, e) = try line.with { l in (pump_gpio_get(l), Errno.last) }
        if r < 0 { throw HALError(e, "cannot read '\(name)'") }
        return r == 1
    }

    nonisolated(nonsending) public func waitForEdge(timeoutNanoseconds: Int64) async throws(HALError) -> Edge? {
        let sequence = self.sequence
        let (status, edge, e): (Int32, pump_gpio_edge, Errno) = try line.with { l in
            var edge = pump_gpio_edge()
            let s = pump_gpio_next_edge(l, timeoutNanoseconds, &edge)
            let e = Errno.last
            // Numbers are taken in the order read, under the line's lock: two readers cannot
            // swap them into a false gap.
            if s == 1 { sequence.withLock { _ = $0.observe(edge.numbered != 0 ? edge.line_seqno : nil) } }
            return (s, edge, e)
        }
        switch status {
        case 0: return nil
        case 1:
            return edge.rising != 0 ? .rising : .falling
        default: throw HALError(e, "cannot read edges of '\(name)'")
        }
    }

    public var droppedEdges: Int64 { sequence.withLock { $0.dropped } }

    public func close() { line.close() }
}
#endif
