import Foundation

/// What a prescription asks for, independently of the controller: the basal rate in force at any
/// UTC instant, and its integral in micrograms.
///
/// Units: instants are `Double` seconds since the Unix epoch (UTC); rates are micrograms per day
/// (86 400 s); amounts are micrograms.
///
/// # The DST rule for flex steps
///
/// Flex steps follow local (wall-clock) time in `zoneIdentifier`. Write `L(t)` for the local date
/// and time the zone's wall clock shows at UTC instant `t`. On each local calendar day `D`, the step
/// with start time `hh:mm` starts exactly once, at
///
///     start(D, hh:mm) = the first instant t with L(t) ≥ D hh:mm
///
/// (comparing full local date-times), i.e. the first instant local time reaches or passes it:
///
/// - a start time skipped by a spring-forward change (it does not exist that day) is reached AT
///   the change itself. Europe/Berlin, 2026-03-29: the clock jumps from 01:59:59 CET to 03:00:00
///   CEST at 01:00:00 UTC; steps at 02:00 and 02:30 (and 03:00) all start at 01:00:00 UTC.
/// - a start time repeated by a fall-back change is reached at its FIRST occurrence only.
///   Europe/Berlin, 2026-10-25: local 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET);
///   the 02:30 step starts at 00:30 UTC and does not start again.
/// - the step in force at an instant is the one whose start happened most recently; when several
///   steps start at the same instant (several start times inside one gap, or even a whole skipped
///   day, as Pacific/Apia on 2011-12-30), the one with the later local date and time wins and the
///   others run for zero time. Berlin 2026-03-29 with 00:00 → 200, 02:00 → 1000, 03:00 → 200 µg/day:
///   the 02:00 step never runs that day; 200 µg/day all day.
/// - a step runs until the next step's start.
///
/// Since `start` is non-decreasing in the local date-time (a later local time is reached no
/// earlier), ordering the starts by local date-time orders them by instant too, and "the later
/// local time wins a tie" is "the last of equal instants wins". That is exactly how the rate is
/// computed here: list every step start of every local day around the interval in local order,
/// and at each instant take the last start not after it.
///
/// The first instant is computed from the zone's UTC offset function alone
/// (`TimeZone.secondsFromGMT(for:)`); see `UTCOffsetTimeline`. Foundation's
/// `Calendar.nextDate(after:matching:matchingPolicy: .nextTime, ...)` is NOT used: for a start time
/// inside Australia/Lord_Howe's 30-minute spring-forward gap it returns the next day's occurrence
/// (and with a `day` component, a month later), and `Calendar.date(from:)` moves a gap time
/// forward by the gap's length instead of to the transition instant.
public struct ReferencePrescription: Sendable {
    public struct Step: Sendable {
        /// Local time of day, minutes `0..<1440`.
        public var startMinuteOfDay: Int
        public var microgramsPerDay: Double

        public init(startMinuteOfDay: Int, microgramsPerDay: Double) {
            self.startMinuteOfDay = startMinuteOfDay
            self.microgramsPerDay = microgramsPerDay
        }
    }

    public enum Basal: Sendable {
        case continuous(microgramsPerDay: Double)
        /// Sorted by start time, strictly increasing, the first at minute 0.
        case flex([Step])
    }

    public var basal: Basal
    /// IANA zone identifier, e.g. "Europe/Berlin", "Australia/Lord_Howe", "UTC".
    public var zoneIdentifier: String

    public init(basal: Basal, zoneIdentifier: String) {
        self.basal = basal
        self.zoneIdentifier = zoneIdentifier
    }

    /// The lowest basal rate (the rate a minimum-rate period runs at).
    public var minimumMicrogramsPerDay: Double {
        switch basal {
        case .continuous(let rate): rate
        case .flex(let steps): steps.map(\.microgramsPerDay).min() ?? 0
        }
    }

    /// The highest basal rate.
    public var maximumMicrogramsPerDay: Double {
        switch basal {
        case .continuous(let rate): rate
        case .flex(let steps): steps.map(\.microgramsPerDay).max() ?? 0
        }
    }

    /// What is wrong with this prescription as input to the reference; empty when it is usable.
    /// The computations below assume (and, where cheap, require) an empty list.
    public var inputProblems: [String] {
        var problems: [String] = []
        if TimeZone(identifier: zoneIdentifier) == nil { problems.append("unknown time zone \"\(zoneIdentifier)\"") }
        switch basal {
        case .continuous(let rate):
            if !(rate.isFinite && rate >= 0) { problems.append("continuous rate \(rate) is not a finite non-negative number") }
        case .flex(let steps):
            if steps.isEmpty { problems.append("flex basal has no steps") }
            if let first = steps.first, first.startMinuteOfDay != 0 { problems.append("first flex step starts at minute \(first.startMinuteOfDay), not 0") }
            for (i, step) in steps.enumerated() {
                if !(0..<1440).contains(step.startMinuteOfDay) { problems.append("step \(i) starts at minute \(step.startMinuteOfDay), outside 0..<1440") }
                if !(step.microgramsPerDay.isFinite && step.microgramsPerDay >= 0) { problems.append("step \(i) rate \(step.microgramsPerDay) is not a finite non-negative number") }
                if i > 0, steps[i - 1].startMinuteOfDay >= step.startMinuteOfDay { problems.append("step \(i) does not start after step \(i - 1)") }
            }
        }
        return problems
    }

    /// One start of a flex step on one local day.
    public struct StepStart: Sendable, Equatable {
        /// The local calendar day, as days since 1970-01-01 on the zone's wall calendar.
        public var localDayNumber: Int
        public var startMinuteOfDay: Int
        public var microgramsPerDay: Double
        /// `start(D, hh:mm)` of the DST rule.
        public var atUTCSeconds: Double
    }

    /// The starts of every flex step on the local days numbered `floor(from / 86400) − 2` through
    /// `floor(to / 86400) + 2` (enough to include the step in force at `from` and every start up to
    /// `to`), in local date-time order, which is also non-decreasing instant order. Of starts at
    /// the same instant, the later entry is the one that runs. Empty for a continuous basal.
    /// Useful for diagnostics: a step that runs for zero time shows up here with the same instant
    /// as the step that displaces it.
    public func stepStarts(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> [StepStart] {
        precondition(from.isFinite && to.isFinite && from <= to, "need finite from <= to")
        guard case .flex(let unsortedSteps) = basal else { return [] }
        precondition(!unsortedSteps.isEmpty, "flex basal has no steps")
        guard let zone = TimeZone(identifier: zoneIdentifier) else { preconditionFailure("unknown time zone \(zoneIdentifier)") }
        // Stable sort by start time (the input should already be sorted).
        let steps = unsortedSteps.enumerated()
            .sorted { ($0.element.startMinuteOfDay, $0.offset) < ($1.element.startMinuteOfDay, $1.offset) }
            .map(\.element)
        precondition(steps.allSatisfy { (0..<1440).contains($0.startMinuteOfDay) }, "step start outside 0..<1440")

        let day = 86_400.0
        // Local days D with firstDay ≤ D ≤ lastDay. Every UTC offset is less than a day in size, so
        // start(D, m) lies within a day of local second 86400·D + 60·m. The step in force at `from`
        // started on local day ≥ floor(from/day) − 2 (the local day of `from` is at least
        // floor(from/day) − 1; the step in force is that day's or, at worst, the previous day's
        // last), and a start before `to` is on local day ≤ floor(to/day) + 1.
        let firstDay = Int((from / day).rounded(.down)) - 2
        let lastDay = Int((to / day).rounded(.down)) + 2
        // Local seconds in [firstDay·day, (lastDay+1)·day) are reached within a day of themselves.
        let timeline = UTCOffsetTimeline(
            zone: zone,
            fromUTCSeconds: Double(firstDay - 1) * day - 3600,
            toUTCSeconds: Double(lastDay + 2) * day + 3600)

        var starts: [StepStart] = []
        starts.reserveCapacity((lastDay - firstDay + 1) * steps.count)
        for localDay in firstDay...lastDay {
            for step in steps {
                let localSeconds = Double(localDay) * day + Double(step.startMinuteOfDay) * 60
                starts.append(StepStart(
                    localDayNumber: localDay, startMinuteOfDay: step.startMinuteOfDay,
                    microgramsPerDay: step.microgramsPerDay,
                    atUTCSeconds: timeline.firstInstant(reachingLocalSeconds: localSeconds)))
            }
        }
        // The rule's monotonicity, checked rather than trusted.
        for i in starts.indices.dropFirst() {
            precondition(starts[i - 1].atUTCSeconds <= starts[i].atUTCSeconds, "step starts out of order")
        }
        return starts
    }

    /// The basal rate in force at `from` (first element, at `from`) and every change of rate at an
    /// instant inside `(from, to)`, in order. Consecutive elements always differ in rate (a step
    /// start that does not change the rate, or that runs for zero time, is not listed).
    public func rateChanges(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> [(atUTCSeconds: Double, microgramsPerDay: Double)] {
        precondition(from.isFinite && to.isFinite && from <= to, "need finite from <= to")
        switch basal {
        case .continuous(let rate):
            return [(from, rate)]
        case .flex:
            let starts = stepStarts(fromUTCSeconds: from, toUTCSeconds: to)
            // The step in force at `from`: the last start not after it.
            guard let inForce = starts.lastIndex(where: { $0.atUTCSeconds <= from }) else {
                preconditionFailure("no step start before the interval")
            }
            var changes: [(atUTCSeconds: Double, microgramsPerDay: Double)] = [(from, starts[inForce].microgramsPerDay)]
            var i = inForce + 1
            while i < starts.count, starts[i].atUTCSeconds < to {
                // Of the starts at this same instant, the last (latest local time) is the one that runs.
                var last = i
                while last + 1 < starts.count, starts[last + 1].atUTCSeconds == starts[i].atUTCSeconds { last += 1 }
                if starts[last].microgramsPerDay != changes[changes.count - 1].microgramsPerDay {
                    changes.append((starts[last].atUTCSeconds, starts[last].microgramsPerDay))
                }
                i = last + 1
            }
            return changes
        }
    }

    /// The basal rate in force at the instant `t`.
    public func microgramsPerDay(atUTCSeconds t: Double) -> Double {
        rateChanges(fromUTCSeconds: t, toUTCSeconds: t)[0].microgramsPerDay
    }

    /// The integral of the basal rate over `[from, to)`, in micrograms.
    public func basalMicrograms(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> Double {
        let changes = rateChanges(fromUTCSeconds: from, toUTCSeconds: to)
        return Self.integrate(changes, scheduleEnd: to, fromUTCSeconds: from, toUTCSeconds: to)
    }

    /// The integral over `[lo, hi)` of a rate schedule as returned by `rateChanges`, which holds
    /// from its first element's instant up to `scheduleEnd`. `[lo, hi)` must lie inside that.
    static func integrate(
        _ changes: [(atUTCSeconds: Double, microgramsPerDay: Double)], scheduleEnd: Double,
        fromUTCSeconds lo: Double, toUTCSeconds hi: Double
    ) -> Double {
        precondition(!changes.isEmpty && changes[0].atUTCSeconds <= lo && hi <= scheduleEnd, "outside the schedule")
        var microgramDaysPerDay = 0.0  // Σ rate × seconds
        for (i, change) in changes.enumerated() {
            let segmentEnd = i + 1 < changes.count ? changes[i + 1].atUTCSeconds : scheduleEnd
            let a = max(change.atUTCSeconds, lo)
            let b = min(segmentEnd, hi)
            if b > a { microgramDaysPerDay += change.microgramsPerDay * (b - a) }
        }
        return microgramDaysPerDay / 86_400
    }
}
