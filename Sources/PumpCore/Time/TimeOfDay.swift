/// A local time of day to the minute, as flex steps are programmed ("08:00").
public struct TimeOfDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var minutes: Int
    public init?(minutes: Int) {
        guard (0..<1440).contains(minutes) else { return nil }
        self.minutes = minutes
    }
    /// Parses 24-hour `HH:MM` exactly (two digits each).
    public init?(parsing text: String) {
        let u = Array(text.utf8)
        guard u.count == 5, u[2] == UInt8(ascii: ":") else { return nil }
        func digit(_ c: UInt8) -> Int? { (48...57).contains(c) ? Int(c - 48) : nil }
        guard let h1 = digit(u[0]), let h2 = digit(u[1]), let m1 = digit(u[3]), let m2 = digit(u[4]) else { return nil }
        let h = h1 * 10 + h2, m = m1 * 10 + m2
        guard h < 24, m < 60 else { return nil }
        self.minutes = h * 60 + m
    }
    public var secondsOfDay: Int64 { Int64(minutes) * 60 }
    public static func < (a: Self, b: Self) -> Bool { a.minutes < b.minutes }
    public var description: String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }
}

/// The rules of a time zone: its offset from UTC at any instant and when it next changes.
/// The core stays free of Foundation; shells wrap the system's tz database.
public protocol TimeZoneRules: Sendable {
    var identifier: String { get }
    /// Seconds to add to UTC to get local time at `instant`.
    func utcOffsetSeconds(at instant: UTCSeconds) -> Int64
    /// The next instant after `instant` at which the offset changes, if any.
    func nextTransition(after instant: UTCSeconds) -> UTCSeconds?
}

/// A zone with a fixed offset (UTC by default): no transitions.
public struct FixedOffsetZone: TimeZoneRules {
    public var offsetSeconds: Int64
    public init(offsetSeconds: Int64 = 0) { self.offsetSeconds = offsetSeconds }
    public var identifier: String { offsetSeconds == 0 ? "UTC" : "UTC\(offsetSeconds >= 0 ? "+" : "")\(offsetSeconds)s" }
    public func utcOffsetSeconds(at instant: UTCSeconds) -> Int64 { offsetSeconds }
    public func nextTransition(after instant: UTCSeconds) -> UTCSeconds? { nil }
}

/// Floor division for negative-safe calendar arithmetic.
public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

extension TimeZoneRules {
    /// Local seconds since the epoch (UTC plus the offset in force).
    public func localSeconds(at instant: UTCSeconds) -> Int64 { instant.value + utcOffsetSeconds(at: instant) }

    /// When `time` starts on the local day `day` (days since 1970-01-01 in local time): the first
    /// instant at which the local date and time reach or pass that day's `time`. A time skipped by
    /// a spring-forward change is reached at the change itself; a time repeated by a fall-back
    /// change is reached at its first occurrence only (local time passes it once, going back
    /// does not reach it again).
    public func occurrence(of time: TimeOfDay, onLocalDay day: Int64) -> UTCSeconds {
        let target = day * 86_400 + time.secondsOfDay
        // Walk the stretches of constant offset from well before (offsets are within ±26 h).
        var a = UTCSeconds(target - 2 * 86_400)
        for _ in 0..<64 {
            let offset = utcOffsetSeconds(at: a)
            let first = max(a.value, target - offset)
            guard let change = nextTransition(after: a), change.value <= first else { return UTCSeconds(first) }
            a = change
        }
        return UTCSeconds(target - utcOffsetSeconds(at: UTCSeconds(target)))
    }

    /// The first start of `time` strictly after `instant` (see `occurrence(of:onLocalDay:)`).
    public func nextOccurrence(of time: TimeOfDay, after instant: UTCSeconds) -> UTCSeconds {
        let today = floorDiv(localSeconds(at: instant), 86_400)
        for day in (today - 1)...(today + 2) {
            let t = occurrence(of: time, onLocalDay: day)
            if t > instant { return t }
        }
        return occurrence(of: time, onLocalDay: today + 3)
    }

    /// The last start of `time` at or before `instant` (see `occurrence(of:onLocalDay:)`).
    public func lastOccurrence(of time: TimeOfDay, atOrBefore instant: UTCSeconds) -> UTCSeconds {
        let today = floorDiv(localSeconds(at: instant), 86_400)
        for day in stride(from: today + 1, through: today - 2, by: -1) {
            let t = occurrence(of: time, onLocalDay: day)
            if t <= instant { return t }
        }
        return occurrence(of: time, onLocalDay: today - 3)
    }
}
