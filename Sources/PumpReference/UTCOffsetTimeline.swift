import Foundation

/// A zone's UTC offset as a step function of UTC time, over a bounded range, and the first
/// instant the zone's wall clock reaches a given local date and time.
///
/// Everything here rests on one Foundation primitive, `TimeZone.secondsFromGMT(for:)` (the zone's
/// offset at an instant, from the tz database). Calendar arithmetic is not used: Foundation's
/// `Calendar.nextDate(after:matching:...)` and `Calendar.date(from:)` do not do what the DST rule
/// asks inside a gap (see `ReferencePrescription`), so local wall-clock time is handled here as
/// plain "local seconds": `L(t) = t + offset(t)`, the seconds since 1970-01-01T00:00 that a wall
/// clock in the zone shows at UTC instant `t`. Local day `D` (days since 1970-01-01 on the wall
/// calendar) begins at local second `86400 × D`; the proleptic Gregorian wall calendar has exactly
/// 86 400 local seconds per day, so no calendar is needed to name local dates.
///
/// The offset changes are found by sampling the offset on a whole-hour UTC grid and, where two
/// neighbouring samples differ, bisecting over whole seconds to the exact second of the change.
/// Assumption (true of the tz database, and cross-checked in the tests against
/// `TimeZone.nextDaylightSavingTimeTransition(after:)`): offset changes happen on whole UTC
/// seconds, and a change is never undone within the same grid hour.
struct UTCOffsetTimeline: Sendable {
    /// Segment `i` covers UTC `[segmentStarts[i], segmentStarts[i + 1])` (the last one is open-ended)
    /// at offset `offsetSeconds[i]`. `segmentStarts[0]` is where the known range begins.
    let segmentStarts: [Double]
    let offsetSeconds: [Double]

    static let samplingStepSeconds: Double = 3600

    /// The offset function over at least `[fromUTCSeconds, toUTCSeconds]`. Beyond `toUTCSeconds` the
    /// last offset is assumed to continue: callers ask for a range that covers every instant they need.
    init(zone: TimeZone, fromUTCSeconds: Double, toUTCSeconds: Double) {
        precondition(fromUTCSeconds.isFinite && toUTCSeconds.isFinite && fromUTCSeconds <= toUTCSeconds)
        func offset(_ t: Double) -> Double { Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: t))) }
        let step = Self.samplingStepSeconds
        var t = (fromUTCSeconds / step).rounded(.down) * step  // a whole second
        var current = offset(t)
        var starts = [t]
        var offsets = [current]
        while t < toUTCSeconds {
            let next = t + step
            let nextOffset = offset(next)
            // Invariant: offset(lo) == current. Each pass finds the first whole second in (lo, next]
            // whose offset differs from `current` (bisection keeps offset(lo) == current and
            // offset(hi) != current), records it, and goes on from there while the offset at
            // `next` is still not reached.
            var lo = t
            while current != nextOffset {
                var hi = next
                while hi - lo > 1 {
                    let mid = ((lo + hi) / 2).rounded(.down)
                    if offset(mid) == current { lo = mid } else { hi = mid }
                }
                current = offset(hi)
                starts.append(hi)
                offsets.append(current)
                lo = hi
            }
            t = next
        }
        segmentStarts = starts
        offsetSeconds = offsets
    }

    /// The UTC offset at `t` (within the covered range).
    func offsetSeconds(atUTCSeconds t: Double) -> Double {
        precondition(t >= segmentStarts[0], "instant before the covered range")
        var result = offsetSeconds[0]
        for i in segmentStarts.indices where segmentStarts[i] <= t { result = offsetSeconds[i] }
        return result
    }

    /// The first UTC instant `t` at which the wall clock shows local second `w` or later:
    /// `min { t : t + offset(t) ≥ w }`.
    ///
    /// Within a segment `L(t) = t + o` rises one second per second; between segments it jumps by
    /// the change of offset. Scanning the segments in time order, the first one in which `L`
    /// reaches `w` gives the answer: at its start if `L` is already at or past `w` there (a
    /// spring-forward jump over `w`: the transition instant), otherwise where `t + o == w`.
    /// A time repeated by a fall-back is thus found at its first occurrence, and a time skipped
    /// by a spring-forward at the jump itself.
    func firstInstant(reachingLocalSeconds w: Double) -> Double {
        precondition(segmentStarts[0] + offsetSeconds[0] < w, "local time reached before the covered range")
        for i in segmentStarts.indices {
            let start = segmentStarts[i]
            let o = offsetSeconds[i]
            if start + o >= w { return start }
            let t = w - o
            if i + 1 == segmentStarts.count || t < segmentStarts[i + 1] { return t }
        }
        preconditionFailure("unreachable: the last segment is open-ended")
    }
}
