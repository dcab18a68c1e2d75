import Foundation

/// Reading the plant's and pumpd's log lines: `key=value` numbers, the plant's event time, a line
/// without its timestamp. Its own file because every case reads lines the same way.
extension Suite {
    static func time(_ event: String) -> Int64? { field("t", in: event).map(Int64.init) }

    static func field(_ key: String, in line: String) -> Int? {
        for w in line.split(separator: " ") where w.hasPrefix(key + "=") { return Int(w.dropFirst(key.count + 1)) }
        return nil
    }

    /// A log line without its timestamp and level.
    static func message(_ line: String) -> String { String(line.split(separator: "]").last ?? Substring(line)).trimmingCharacters(in: .whitespaces) }
}
