import Foundation
import PumpCore

/// Any JSON value. Parsing is Foundation's (through `LenientValue`, below); this type only lets
/// us walk the result with field paths, so every error names the field.
public enum JSONValue: Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public static func parse(_ data: Data) throws(FieldError) -> JSONValue {
        let (value, unreadable) = try parseNotingUnreadable(data)
        if let first = unreadable.first { throw FieldError(first, unreadableMessage) }
        return value
    }

    /// For a reader that reads some fields and passes over the rest (the fail-safe holder): a value
    /// no JSON reader can hold is read as null (the strict reading of the same file names it).
    public static func parseLenient(_ data: Data) throws(FieldError) -> JSONValue {
        try parseNotingUnreadable(data).value
    }

    /// Valid JSON syntax holding a value Foundation cannot keep: a number past a double's range
    /// (1e999, 1e-999), a leading zero (0128), a lone surrogate or a raw control character.
    static let unreadableMessage = "is a number or string no JSON reader here can hold (out of range like 1e999, a leading zero like 0128, a lone surrogate or a raw control character)"

    private static func parseNotingUnreadable(_ data: Data) throws(FieldError) -> (value: JSONValue, unreadable: [String]) {
        // One encoding. Foundation also reads UTF-16 and UTF-32, which other tools (and the
        // ambiguity scan) read as bytes: a UTF-16 board file with an escaped duplicate key was
        // read one way by pumpd and another by Python.
        guard !data.contains(0), String(validating: data, as: UTF8.self) != nil else {
            throw FieldError("(file)", "not UTF-8 text (JSON is read as UTF-8 only: save the file as UTF-8)")
        }
        let sink = UnreadableValues()
        let decoder = JSONDecoder()
        decoder.userInfo[UnreadableValues.key] = sink
        do {
            let value = try decoder.decode(LenientValue.self, from: data).value
            return (value, sink.paths)
        } catch {
            throw FieldError("(file)", "not valid JSON (\(Self.summary(of: error)))")
        }
    }

    /// A file a person wrote (board, prescription, scenario, `pumpctl program`'s FILE): UTF-8
    /// JSON that reads one way only (`JSONAmbiguity`: no key given twice, no null member).
    public static func parseFile(_ data: Data) throws(ValidationErrors) -> JSONValue {
        let root: JSONValue
        do { root = try parse(data) } catch { throw ValidationErrors([error]) }
        let ambiguous = JSONAmbiguity.problems(in: data)
        guard ambiguous.isEmpty else { throw ValidationErrors(ambiguous) }
        return root
    }

    private static func summary(of error: any Error) -> String {
        if case DecodingError.dataCorrupted(let ctx) = error {
            return (ctx.underlyingError.map { "\($0.localizedDescription)" } ?? ctx.debugDescription)
                .replacingOccurrences(of: "\n", with: " ")
        }
        return "unreadable"
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Where a decode met values it could not hold (one per parse; the decoder's userInfo carries it).
private final class UnreadableValues: @unchecked Sendable {
    static let key = CodingUserInfoKey(rawValue: "pump.unreadable-values")!
    var paths: [String] = []
}

/// Decodes a `JSONValue`; a value none of JSON's kinds can be decoded as (valid syntax Foundation
/// cannot hold) becomes null and its path is noted, so the rest of the file is still read and the
/// error names that field (array elements included).
private struct LenientValue: Decodable {
    var value: JSONValue

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = .null; return }
        if let b = try? c.decode(Bool.self) { value = .bool(b); return }
        if let d = try? c.decode(Double.self) { value = .number(d); return }
        if let s = try? c.decode(String.self) { value = .string(s); return }
        if let a = try? c.decode([LenientValue].self) { value = .array(a.map(\.value)); return }
        do {
            value = .object(try c.decode([String: LenientValue].self).mapValues(\.value))
        } catch {
            (decoder.userInfo[UnreadableValues.key] as? UnreadableValues)?.paths.append(Self.path(decoder.codingPath))
            value = .null
        }
    }

    /// `a.b[0].c`, as the field readers write paths (`ObjectReader.child`); the whole document is "(file)".
    static func path(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let i = key.intValue, key.stringValue.hasPrefix("Index ") { path += "[\(i)]" }
            else { path = ObjectReader.child(path, key.stringValue) }
        }
        return path.isEmpty ? "(file)" : path
    }
}

extension ObjectReader {
    /// Parses `data` as one JSON object, lets `read` walk it, refuses unknown keys, and returns
    /// the result or every problem found (each with its field path).
    public static func document<T>(_ data: Data, read: (inout ObjectReader, inout [FieldError]) -> T?) throws(ValidationErrors) -> T {
        let root = try JSONValue.parseFile(data)
        var problems: [FieldError] = []
        guard case .object = root, var r = ObjectReader.open(root, path: "", problems: &problems) else {
            throw ValidationErrors([FieldError("(file)", "must be a JSON object, got \(root.typeName)")])
        }
        let value = read(&r, &problems)
        r.rejectUnknown(&problems)
        guard problems.isEmpty, let value else {
            throw ValidationErrors(problems.isEmpty ? [FieldError("(file)", "is incomplete")] : problems)
        }
        return value
    }
}

/// Walks a JSON object, collecting every problem with its path, and refusing unknown keys.
/// Shared by scenario files, prescription files and board files.
public struct ObjectReader {
    public let path: String
    private let fields: [String: JSONValue]
    private var used: Set<String> = []

    public static func open(_ value: JSONValue?, path: String, problems: inout [FieldError]) -> ObjectReader? {
        guard let value else { return nil }
        guard case .object(let o) = value else {
            problems.append(FieldError(path, "must be an object, got \(value.typeName)"))
            return nil
        }
        return ObjectReader(path: path, fields: o)
    }

    private init(path: String, fields: [String: JSONValue]) {
        self.path = path
        self.fields = fields
    }

    /// The path of `key` under this object. An empty key is shown as `""` so that every error
    /// still names a field (the input fuzzer found `: unknown field`).
    public func child(_ key: String) -> String { Self.child(path, key) }

    static func child(_ path: String, _ key: String) -> String {
        let k = key.isEmpty ? "\"\"" : key
        return path.isEmpty ? k : "\(path).\(k)"
    }

    public mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        if case .null? = fields[key] { return nil }
        return fields[key]
    }

    public mutating func number(_ key: String, _ problems: inout [FieldError]) -> Double? {
        typed(key, &problems, "must be a number") { if case .number(let d) = $0 { d } else { nil } }
    }

    public mutating func bool(_ key: String, _ problems: inout [FieldError]) -> Bool? {
        typed(key, &problems, "must be true or false") { if case .bool(let b) = $0 { b } else { nil } }
    }

    public mutating func string(_ key: String, _ problems: inout [FieldError]) -> String? {
        typed(key, &problems, "must be a string") { if case .string(let s) = $0 { s } else { nil } }
    }

    /// The value at `key` as `extract` takes it; nil when absent, and a problem (`rule`, and the
    /// kind of value found) when `extract` does not take it.
    private mutating func typed<T>(_ key: String, _ problems: inout [FieldError], _ rule: String, _ extract: (JSONValue) -> T?) -> T? {
        guard let v = value(key) else { return nil }
        guard let x = extract(v) else {
            problems.append(FieldError(child(key), "\(rule), got \(v.typeName)"))
            return nil
        }
        return x
    }

    public mutating func duration(_ key: String, _ problems: inout [FieldError], max: Nanoseconds = .days(3650)) -> Nanoseconds? {
        guard let v = value(key) else { return nil }
        switch DurationText.parse(v, max: max) {
        case .success(let d): return d
        case .failure(let why):
            problems.append(FieldError(child(key), why.message))
            return nil
        }
    }

    public mutating func object(_ key: String, _ problems: inout [FieldError]) -> ObjectReader? {
        ObjectReader.open(value(key), path: child(key), problems: &problems)
    }

    public mutating func array(_ key: String, _ problems: inout [FieldError]) -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else {
            problems.append(FieldError(child(key), "must be an array, got \(v.typeName)"))
            return nil
        }
        return a
    }

    /// The rest of this object cannot be judged: its discriminator (a `kind`, `model` or `type`)
    /// is missing or unknown, which is reported on its own. Its other fields are then not
    /// reported as unknown (outside attack: one bad model listed every field of its section).
    public mutating func skipRemaining() { used.formUnion(fields.keys) }

    /// Reports every key that was never asked for (typos must not pass silently).
    public func rejectUnknown(_ problems: inout [FieldError]) {
        for key in fields.keys.sorted() where !used.contains(key) {
            problems.append(FieldError(child(key), "unknown field"))
        }
    }
}

/// Durations in scenario files: a number of seconds, or a string with one unit (s, m, h, d).
public enum DurationText {
    public static func parse(_ value: JSONValue, max: Nanoseconds) -> Result<Nanoseconds, DurationError> {
        let ns: Double
        switch value {
        case .number(let d):
            guard d.isFinite else { return .failure(DurationError("must be a finite number of seconds")) }
            ns = d * 1e9
        case .string(let s):
            guard let unit = s.last, let scale = ["s": 1e9, "m": 60e9, "h": 3600e9, "d": 86400e9][String(unit)] else {
                return .failure(DurationError("must be seconds or a string like \"90m\" (units s, m, h, d), got '\(s)'"))
            }
            let digits = s.dropLast()
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                  digits.filter({ $0 == "." }).count <= 1, let d = Double(digits) else {
                return .failure(DurationError("must be seconds or a string like \"90m\" (units s, m, h, d), got '\(s)'"))
            }
            ns = d * scale
        default:
            return .failure(DurationError("must be seconds or a string like \"90m\", got \(value.typeName)"))
        }
        guard ns >= 0 else { return .failure(DurationError("must not be negative")) }
        guard ns <= Double(max.value) else { return .failure(DurationError("must be at most \(text(max))")) }
        return .success(Nanoseconds(Int64(ns.rounded())))
    }
}

extension DurationText {
    /// A limit as its largest whole unit ("1 days" read "0 days" for 3 s before 2026-12-05).
    static func text(_ d: Nanoseconds) -> String {
        let hour: Int64 = 3_600_000_000_000, second: Int64 = 1_000_000_000
        if d.value % Nanoseconds.perDay == 0 { return "\(d.value / Nanoseconds.perDay) days" }
        if d.value % hour == 0 { return "\(d.value / hour) h" }
        if d.value % second == 0 { return "\(d.value / second) s" }
        return "\(Double(d.value) / 1e9) s"
    }
}

public struct DurationError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
