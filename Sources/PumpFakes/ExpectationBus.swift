import PumpHAL
import PumpSync

/// A failed expectation of an ordered-expectation fake, with what was expected and what came.
public struct ExpectationFailure: Error, CustomStringConvertible, Sendable {
    public var messages: [String]
    public var description: String { messages.joined(separator: "\n") }
}

/// Ordered expectations shared by the bus fakes (after embedded-hal-mock): every call must match
/// the next expectation exactly, and `done()` must be called to check that none is left over.
final class ExpectationQueue<T: Sendable & Equatable>: Sendable {
    private let state: Locked<(pending: [T], failures: [String])>
    init(_ expectations: [T]) { state = Locked((expectations, [])) }

    /// Pops the next expectation if `matches` accepts it; otherwise records the mismatch.
    func next(_ what: String, matches: (T) -> Bool) -> T? {
        state.withLock { s in
            guard let first = s.pending.first else {
                s.failures.append("unexpected \(what): no expectation left")
                return nil
            }
            guard matches(first) else {
                s.failures.append("unexpected \(what): expected \(first)")
                s.pending.removeFirst()
                return nil
            }
            return s.pending.removeFirst()
        }
    }

    /// Records a failure found after the match (a script that answers the wrong number of bytes).
    func fail(_ message: String) { state.withLock { $0.failures.append(message) } }

    func done() throws(ExpectationFailure) {
        let (pending, failures) = state.withLock { ($0.pending, $0.failures) }
        var all = failures
        for p in pending { all.append("expected but never happened: \(p)") }
        if !all.isEmpty { throw ExpectationFailure(messages: all) }
    }
}

/// One expected I²C transaction and its answer.
public enum I2CExpectation: Equatable, Sendable, CustomStringConvertible {
    case readByte(address: UInt8, register: UInt8, result: Result<UInt8, HALError>)
    case writeByte(address: UInt8, register: UInt8, value: UInt8, error: HALError? = nil)
    /// `result` is the word as SMBus returns it (first wire byte in the low half).
    case readWord(address: UInt8, register: UInt8, result: Result<UInt16, HALError>)
    case writeWord(address: UInt8, register: UInt8, value: UInt16, error: HALError? = nil)
    /// Raw transfers (`I2CTransfers`): the bytes written must match exactly; a read's `result`
    /// must hold exactly `count` bytes.
    case write(address: UInt8, bytes: [UInt8], error: HALError? = nil)
    case read(address: UInt8, count: Int, result: Result<[UInt8], HALError>)
    case writeRead(address: UInt8, bytes: [UInt8], count: Int, result: Result<[UInt8], HALError>)

    public var description: String {
        func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
        func hex(_ bytes: [UInt8]) -> String { "[" + bytes.map { hex($0) }.joined(separator: " ") + "]" }
        switch self {
        case .write(let a, let b, _): return "write(addr \(hex(a)), \(hex(b)))"
        case .read(let a, let n, _): return "read(addr \(hex(a)), \(n) bytes)"
        case .writeRead(let a, let b, let n, _): return "writeRead(addr \(hex(a)), \(hex(b)), \(n) bytes)"
        case .readByte(let a, let r, _): return "readByte(addr \(hex(a)), reg \(hex(r)))"
        case .writeByte(let a, let r, let v, _): return "writeByte(addr \(hex(a)), reg \(hex(r)), \(hex(v)))"
        case .readWord(let a, let r, _): return "readWord(addr \(hex(a)), reg \(hex(r)))"
        case .writeWord(let a, let r, let v, _): return "writeWord(addr \(hex(a)), reg \(hex(r)), \(hex(v)))"
        }
    }
}

/// An I²C bus that answers a fixed script of transactions, in order, and fails on anything else.
public final class ExpectationI2CBus: I2CBus, I2CTransfers {
    fileprivate let queue: ExpectationQueue<I2CExpectation>
    public init(_ expectations: [I2CExpectation]) { queue = ExpectationQueue(expectations) }

    /// Throws if a call did not match or an expectation was never used.
    public func done() throws(ExpectationFailure) { try queue.done() }

    fileprivate static let mismatch = HALError(.other, "transaction did not match the expectation")

    nonisolated(nonsending) public func readByte(address: UInt8, register: UInt8) async throws(HALError) -> UInt8 {
        try take(.readByte(address: address, register: register, result: .success(0))) {
            if case .readByte(address, register, let result) = $0 { result } else { nil }
        }
    }

    nonisolated(nonsending) public func writeByte(address: UInt8, register: UInt8, value: UInt8) async throws(HALError) {
        try take(.writeByte(address: address, register: register, value: value)) {
            if case .writeByte(address, register, value, let error) = $0 { Self.written(error) } else { nil }
        }
    }

    nonisolated(nonsending) public func readWord(address: UInt8, register: UInt8) async throws(HALError) -> UInt16 {
        try take(.readWord(address: address, register: register, result: .success(0))) {
            if case .readWord(address, register, let result) = $0 { result } else { nil }
        }
    }

    nonisolated(nonsending) public func writeWord(address: UInt8, register: UInt8, value: UInt16) async throws(HALError) {
        try take(.writeWord(address: address, register: register, value: value)) {
            if case .writeWord(address, register, value, let error) = $0 { Self.written(error) } else { nil }
        }
    }

    /// Takes the next expectation, which must be `call` but for its scripted answer (`answer`
    /// gives that answer, or nil for another call), and returns or throws what it scripts.
    fileprivate func take<Value>(_ call: I2CExpectation, _ answer: (I2CExpectation) -> Result<Value, HALError>?) throws(HALError) -> Value {
        guard let taken = queue.next(call.description, matches: { answer($0) != nil }), let result = answer(taken) else { throw Self.mismatch }
        return try result.get()
    }

    /// A scripted write's answer: its error, or success.
    fileprivate static func written(_ error: HALError?) -> Result<Void, HALError> { error.map { .failure($0) } ?? .success(()) }
}

extension ExpectationI2CBus {
    nonisolated(nonsending) public func write(address: UInt8, bytes: [UInt8]) async throws(HALError) {
        try take(.write(address: address, bytes: bytes)) {
            if case .write(address, bytes, let error) = $0 { Self.written(error) } else { nil }
        }
    }

    nonisolated(nonsending) public func read(address: UInt8, count: Int) async throws(HALError) -> [UInt8] {
        let call = I2CExpectation.read(address: address, count: count, result: .success([]))
        let bytes = try take(call) { if case .read(address, count, let result) = $0 { result } else { nil } }
        return try checked(bytes, count, call.description)
    }

    nonisolated(nonsending) public func writeRead(address: UInt8, bytes: [UInt8], count: Int) async throws(HALError) -> [UInt8] {
        let call = I2CExpectation.writeRead(address: address, bytes: bytes, count: count, result: .success([]))
        let answer = try take(call) { if case .writeRead(address, bytes, count, let result) = $0 { result } else { nil } }
        return try checked(answer, count, call.description)
    }

    /// A scripted answer of the wrong length is the script's mistake: failed, never passed on.
    private func checked(_ bytes: [UInt8], _ count: Int, _ what: String) throws(HALError) -> [UInt8] {
        guard bytes.count == count else {
            queue.fail("\(what): the expectation answers \(bytes.count) bytes")
            throw Self.mismatch
        }
        return bytes
    }
}

/// One expected change of an output line.
public enum LineExpectation: Equatable, Sendable, CustomStringConvertible {
    case set(Bool, error: HALError? = nil)
    public var description: String {
        if case .set(let v, _) = self { return "set(\(v ? "high" : "low"))" }
        return ""
    }
}

/// An output line that expects an exact sequence of levels.
public final class ExpectationOutputLine: OutputLine {
    private let queue: ExpectationQueue<LineExpectation>
    public let name: String
    public init(_ name: String, _ expectations: [LineExpectation]) {
        self.name = name
        queue = ExpectationQueue(expectations)
    }
    public func done() throws(ExpectationFailure) { try queue.done() }
    nonisolated(nonsending) public func set(_ high: Bool) async throws(HALError) {
        let expected = queue.next("\(name).set(\(high ? "high" : "low"))") { e in
            if case .set(let level, _) = e { return level == high }
            return false
        }
        guard case .set(_, let error)? = expected else { throw HALError(.other, "\(name): unexpected level") }
        if let error { throw error }
    }
}

/// An input line that replays a script of levels and edges.
public final class ScriptedInputLine: InputLine {
    public enum Step: Sendable, Equatable { case level(Bool), edge(Edge?), error(HALError) }
    private let steps: Locked<[Step]>
    public init(_ steps: [Step]) { self.steps = Locked(steps) }
    private func pop() -> Step? { steps.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
    nonisolated(nonsending) public func get() async throws(HALError) -> Bool {
        switch pop() {
        case .level(let v)?: return v
        case .error(let e)?: throw e
        default: throw HALError(.other, "unexpected get()")
        }
    }
    nonisolated(nonsending) public func waitForEdge(timeoutNanoseconds: Int64) async throws(HALError) -> Edge? {
        switch pop() {
        case .edge(let e)?: return e
        case .error(let e)?: throw e
        default: throw HALError(.other, "unexpected waitForEdge()")
        }
    }
    public var remaining: Int { steps.withLock { $0.count } }
}

/// Records the waits a driver asks for, and returns at once (tests never sleep). Its clock is
/// virtual: each wait moves it on by what was asked times `overshoot` (a loaded system, where
/// every sleep wakes late, is an overshoot above 1).
public final class RecordingSleeper: Sleeper, MonotonicClock {
    private let log = Locked<(waits: [Int64], now: Int64)>(([], 0))
    private let overshoot: Double
    public init(overshoot: Double = 1) { self.overshoot = overshoot }
    nonisolated(nonsending) public func sleep(nanoseconds: Int64) async {
        log.withLock { $0.waits.append(nanoseconds); $0.now += Int64((Double(nanoseconds) * overshoot).rounded()) }
    }
    public func monotonicNanoseconds() -> Int64 { log.withLock { $0.now } }
    public var waits: [Int64] { log.withLock { $0.waits } }
}
