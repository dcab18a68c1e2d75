/// Text from outside (a request's field names, a refusal reason quoting them, a journal row) as it
/// may reach a log line or a terminal: every control character written as `\u{XX}`, so a newline
/// cannot forge a log line and an escape sequence cannot rewrite a terminal. C0 (U+0000–U+001F),
/// DEL, C1 (U+0080–U+009F), the Unicode line and paragraph separators and the bidirectional
/// overrides (which can make a terminal show text in another order than it is) are escaped.
public enum Printable {
    public static func escaped(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if needsEscape(u) {
                out.append(contentsOf: "\\u{\(String(u.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
