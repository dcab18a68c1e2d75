import PumpCore

/// A time zone with one offset change, for testing DST behaviour without a tz database.
public struct OneChangeZone: TimeZoneRules {
    public var before: Int64
    public var after: Int64
    public var transition: UTCSeconds
    public var identifier: String { "one-change" }
    public func utcOffsetSeconds(at instant: UTCSeconds) -> Int64 { instant < transition ? before : after }
    public func nextTransition(after instant: UTCSeconds) -> UTCSeconds? { instant < transition ? transition : nil }

    /// Europe/Berlin's spring-forward of 2026-03-29 (01:00 UTC: 02:00 CET → 03:00 CEST).
    public static let berlinSpring2026 = OneChangeZone(before: 3600, after: 7200, transition: UTCSeconds(1_774_746_000))
    /// Europe/Berlin's fall-back of 2026-10-25 (01:00 UTC: 03:00 CEST → 02:00 CET).
    public static let berlinFall2026 = OneChangeZone(before: 7200, after: 3600, transition: UTCSeconds(1_792_890_000))
}
