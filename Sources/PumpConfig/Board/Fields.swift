/// Typed readers of board-file fields (text, numbers, lines, levels, I²C addresses) that record
/// each problem with the field's path.
import PumpCore

/// Typed field readers that append problems with the field's path.
struct Fields {
    var problems: [FieldError]

    mutating func fail(_ path: String, _ message: String) { problems.append(FieldError(path, message)) }

    mutating func number(_ r: inout ObjectReader, _ key: String) -> Double? { r.number(key, &problems) }

    mutating func text(_ r: inout ObjectReader, _ key: String, required: Bool) -> String? {
        guard let s = r.string(key, &problems) else {
            if required, r.value(key) == nil { fail(r.child(key), "is required") }
            return nil
        }
        if s.isEmpty { fail(r.child(key), "must not be empty"); return nil }
        // Names and paths go to C (a NUL would cut them short) and to terminals and logs.
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            fail(r.child(key), "must not contain control characters")
            return nil
        }
        if s.utf8.count > 255 { fail(r.child(key), "is longer than 255 bytes"); return nil }
        return s
    }

    mutating func object(_ r: inout ObjectReader, _ key: String, required: Bool) -> ObjectReader? {
        let o = r.object(key, &problems)
        if o == nil, required, r.value(key) == nil { fail(r.child(key), "is required") }
        return o
    }

    mutating func integer(_ r: inout ObjectReader, _ key: String, _ range: ClosedRange<Int>, required: Bool) -> Int? {
        guard let v = r.number(key, &problems) else {
            if required, r.value(key) == nil { fail(r.child(key), "is required") }
            return nil
        }
        guard v.isFinite, v.rounded() == v, v >= Double(range.lowerBound), v <= Double(range.upperBound) else {
            fail(r.child(key), "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(v)
    }

    mutating func real(_ r: inout ObjectReader, _ key: String, _ range: ClosedRange<Double>) -> Double? {
        guard let v = r.number(key, &problems) else {
            if r.value(key) == nil { fail(r.child(key), "is required") }
            return nil
        }
        guard v.isFinite, range.contains(v) else {
            fail(r.child(key), "must be from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return v
    }

    /// A GPIO line name: lines are found by name, never by number.
    mutating func line(_ r: inout ObjectReader, _ key: String) -> String? {
        guard let s = text(&r, key, required: true) else { return nil }
        if s.allSatisfy(\.isNumber) { fail(r.child(key), "must be a line name, not a number ('\(s)'): lines are found by name") }
        return s
    }

    mutating func level(_ r: inout ObjectReader, _ key: String) -> Board.Level? {
        guard let s = text(&r, key, required: true) else { return nil }
        guard let l = Board.Level(rawValue: s) else { fail(r.child(key), "must be high or low, got '\(s)'"); return nil }
        return l
    }

    /// A 7-bit I²C address, as a number or a "0x48" string; 0x03–0x77 (the rest are reserved).
    mutating func address(_ r: inout ObjectReader, _ key: String) -> UInt8? {
        var value: Int?
        switch r.value(key) {
        case .number(let d)?: value = d.isFinite && d.rounded() == d && abs(d) < 1000 ? Int(d) : -1
        case .string(let s)?:
            let hex = s.lowercased().hasPrefix("0x") ? String(s.dropFirst(2)) : nil
            value = hex.flatMap { Int($0, radix: 16) } ?? -1
        case nil:
            fail(r.child(key), "is required")
            return nil
        case let other?:
            fail(r.child(key), "must be a number or a \"0x48\" string, got \(other.typeName)")
            return nil
        }
        guard let v = value, (0x03...0x77).contains(v) else {
            fail(r.child(key), "must be a 7-bit address from 0x03 to 0x77")
            return nil
        }
        return UInt8(v)
    }
}
