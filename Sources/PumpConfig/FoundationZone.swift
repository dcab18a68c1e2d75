import Foundation
import PumpCore

/// An IANA time zone from the system's tz database, for the flex schedule.
public struct FoundationZone: TimeZoneRules {
    private let zone: TimeZone
    public var identifier: String { zone.identifier }

    public init?(identifier: String) {
        guard let z = TimeZone(identifier: identifier) else { return nil }
        zone = z
    }

    public func utcOffsetSeconds(at instant: UTCSeconds) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant.value))))
    }

    public func nextTransition(after instant: UTCSeconds) -> UTCSeconds? {
        zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: TimeInterval(instant.value)))
            .map { UTCSeconds(Int64($0.timeIntervalSince1970.rounded())) }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS` as local time in `zone` (a time in a spring-forward gap
    /// resolves as Foundation resolves it: moved forward by the gap).
    public static func utcSeconds(localISO text: String, zone: String) -> Int64? {
        let u = Array(text.utf8)
        guard u.count == 19, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
              u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard (48...57).contains(u[i]) else { return nil }; v = v * 10 + Int(u[i] - 48) }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
              let s = num(17..<19), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60,
              let tz = TimeZone(identifier: zone) else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let comps = DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
        guard cal.date(from: comps).map({ cal.component(.day, from: $0) == d || h == 2 }) == true,
              let date = cal.date(from: comps) else { return nil }
        return Int64(date.timeIntervalSince1970.rounded())
    }
}
