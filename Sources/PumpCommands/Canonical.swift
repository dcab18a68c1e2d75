import PumpConfig

/// The one byte form of a signed request's envelope and body (docs/commands.md, "Canonical form").
///
/// A body with a duplicate key (`"dose_ug":1,"dose_ug":5`) was accepted and its first value used,
/// where most tools read the last: two readers of one signed request could disagree on the dose.
/// pumpd refuses any envelope or body whose bytes are not exactly this encoding of what it parsed,
/// which refuses duplicate keys, whitespace, other number spellings (`1.0`, `1e0`) and escapes in
/// one rule. The form: objects with keys in ascending UTF-8 byte order, no whitespace; whole
/// numbers of magnitude below 2^53 as integers, other numbers as Swift prints a Double (shortest
/// round trip); strings escaping only `"`, `\`, and U+0000–U+001F (`\b \f \n \r \t`, else `\u00xx`).
extension JSONValue {
    public var canonicalText: String {
        var out = ""
        Self.write(self, to: &out)
        return out
    }

    private static func write(_ v: JSONValue, to out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { out += String(Int64(d)) } else { out += "\(d)" }
        case .string(let s): writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, e) in a.enumerated() {
                if i > 0 { out += "," }
                write(e, to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                writeString(k, to: &out)
                out += ":"
                write(o[k]!, to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
