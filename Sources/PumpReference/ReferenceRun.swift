import Foundation

/// A bolus as accepted: `micrograms` at a constant rate from `startUTCSeconds` for `durationSeconds`.
public struct ReferenceBolus: Sendable {
    public var startUTCSeconds: Double
    /// Must be positive (see `ReferenceRun.inputProblems`); a bolus without a positive duration
    /// delivers nothing here.
    public var durationSeconds: Double
    public var micrograms: Double

    public init(startUTCSeconds: Double, durationSeconds: Double, micrograms: Double) {
        self.startUTCSeconds = startUTCSeconds
        self.durationSeconds = durationSeconds
        self.micrograms = micrograms
    }
}

/// What a whole run should have delivered: the prescription's basal while the pump was meant to
/// deliver, the lowest basal rate where the controller was told to run it, and the accepted
/// boluses, each cut at the end of the delivering interval it started in.
public struct ReferenceRun: Sendable {
    public var prescription: ReferencePrescription
    /// Intervals `[from, to)` in UTC seconds during which the pump was meant to deliver basal,
    /// sorted, non-overlapping. A power loss is a boundary between two adjacent intervals
    /// (`[a, p)` and `[p, b)`): it cuts a running bolus.
    public var delivering: [(fromUTCSeconds: Double, toUTCSeconds: Double)]
    /// Intervals in which the controller was (legitimately) told to run the prescription's lowest
    /// basal rate instead of the step in force. Only their parts inside `delivering` count.
    /// Need not be sorted; overlaps are harmless.
    public var minimumRate: [(fromUTCSeconds: Double, toUTCSeconds: Double)]
    /// Accepted boluses. A bolus runs at a constant rate from its start for its duration, but only
    /// within the delivering interval that contains its start (`from ≤ start < to`): it is cut
    /// (never resumed) at that interval's end. A bolus starting outside every delivering interval
    /// delivers nothing.
    public var boluses: [ReferenceBolus]

    public init(
        prescription: ReferencePrescription,
        delivering: [(fromUTCSeconds: Double, toUTCSeconds: Double)],
        minimumRate: [(fromUTCSeconds: Double, toUTCSeconds: Double)] = [],
        boluses: [ReferenceBolus] = []
    ) {
        self.prescription = prescription
        self.delivering = delivering
        self.minimumRate = minimumRate
        self.boluses = boluses
    }

    /// What is wrong with this run as input to the reference; empty when it is usable.
    public var inputProblems: [String] {
        var problems = prescription.inputProblems
        for (i, d) in delivering.enumerated() {
            if !(d.fromUTCSeconds.isFinite && d.toUTCSeconds.isFinite && d.fromUTCSeconds <= d.toUTCSeconds) {
                problems.append("delivering interval \(i) [\(d.fromUTCSeconds), \(d.toUTCSeconds)) is not a finite interval")
            }
            if i > 0, delivering[i - 1].toUTCSeconds > d.fromUTCSeconds {
                problems.append("delivering interval \(i) starts before interval \(i - 1) ends (must be sorted, non-overlapping)")
            }
        }
        for (i, m) in minimumRate.enumerated()
        where !(m.fromUTCSeconds.isFinite && m.toUTCSeconds.isFinite && m.fromUTCSeconds <= m.toUTCSeconds) {
            problems.append("minimum-rate interval \(i) [\(m.fromUTCSeconds), \(m.toUTCSeconds)) is not a finite interval")
        }
        for (i, b) in boluses.enumerated() {
            if !b.startUTCSeconds.isFinite { problems.append("bolus \(i) start is not finite") }
            if !(b.durationSeconds.isFinite && b.durationSeconds > 0) { problems.append("bolus \(i) duration \(b.durationSeconds) is not a finite positive number") }
            if !(b.micrograms.isFinite && b.micrograms >= 0) { problems.append("bolus \(i) amount \(b.micrograms) is not a finite non-negative number") }
        }
        return problems
    }

    // MARK: - Amounts

    /// Everything the run should have delivered in `[from, to)`: `basalMicrograms + bolusMicrograms`.
    public func micrograms(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> Double {
        basalMicrograms(fromUTCSeconds: from, toUTCSeconds: to) + bolusMicrograms(fromUTCSeconds: from, toUTCSeconds: to)
    }

    /// The basal part: the prescription's rate over the parts of `[from, to)` inside `delivering`,
    /// except that inside `minimumRate` the prescription's lowest rate applies instead.
    public func basalMicrograms(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> Double {
        precondition(from.isFinite && to.isFinite && from <= to, "need finite from <= to")
        let schedule = prescription.rateChanges(fromUTCSeconds: from, toUTCSeconds: to)
        let minimumRatePerDay = prescription.minimumMicrogramsPerDay
        let minimumIntervals = minimumRate.sorted { $0.fromUTCSeconds < $1.fromUTCSeconds }
        var total = 0.0
        for d in delivering {
            let lo = max(d.fromUTCSeconds, from)
            let hi = min(d.toUTCSeconds, to)
            guard lo < hi else { continue }
            for piece in Self.split(lo, hi, by: minimumIntervals) {
                if piece.atMinimum {
                    total += minimumRatePerDay * (piece.to - piece.from) / 86_400
                } else {
                    total += ReferencePrescription.integrate(schedule, scheduleEnd: to, fromUTCSeconds: piece.from, toUTCSeconds: piece.to)
                }
            }
        }
        return total
    }

    /// The bolus part: each bolus's micrograms prorated by the overlap of its actual running
    /// interval (`runningInterval(of:)`) with `[from, to)`.
    public func bolusMicrograms(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> Double {
        precondition(from.isFinite && to.isFinite && from <= to, "need finite from <= to")
        var total = 0.0
        for bolus in boluses {
            // A bolus runs, if at all, inside [start, start + duration): skip the ones that cannot
            // overlap [from, to) before looking for their delivering interval.
            guard bolus.startUTCSeconds < to, bolus.startUTCSeconds + bolus.durationSeconds > from,
                  let run = runningInterval(of: bolus) else { continue }
            let overlap = min(run.toUTCSeconds, to) - max(run.fromUTCSeconds, from)
            if overlap > 0 { total += bolus.micrograms * overlap / bolus.durationSeconds }
        }
        return total
    }

    /// When the bolus actually runs: from its start to the earlier of its planned end and the end
    /// of the delivering interval containing its start; `nil` if no delivering interval contains
    /// its start.
    public func runningInterval(of bolus: ReferenceBolus) -> (fromUTCSeconds: Double, toUTCSeconds: Double)? {
        guard let home = delivering.first(where: { $0.fromUTCSeconds <= bolus.startUTCSeconds && bolus.startUTCSeconds < $0.toUTCSeconds }) else {
            return nil
        }
        return (bolus.startUTCSeconds, min(bolus.startUTCSeconds + bolus.durationSeconds, home.toUTCSeconds))
    }

    /// `[lo, hi)` cut into consecutive pieces, each entirely inside or entirely outside the union
    /// of `intervals` (sorted by start).
    static func split(
        _ lo: Double, _ hi: Double, by intervals: [(fromUTCSeconds: Double, toUTCSeconds: Double)]
    ) -> [(from: Double, to: Double, atMinimum: Bool)] {
        var pieces: [(from: Double, to: Double, atMinimum: Bool)] = []
        var cursor = lo
        for m in intervals where m.toUTCSeconds > cursor && m.fromUTCSeconds < hi {
            let a = max(m.fromUTCSeconds, cursor)
            let b = min(m.toUTCSeconds, hi)
            if a > cursor { pieces.append((cursor, a, false)) }
            if b > a { pieces.append((a, b, true)) }
            cursor = max(cursor, b)
        }
        if cursor < hi { pieces.append((cursor, hi, false)) }
        return pieces
    }

    // MARK: - Rolling windows

    /// The instants in `[from, to]` where the delivery rate can change: `from`, `to`, every basal
    /// rate change, every edge of a delivering or minimum-rate interval, and every bolus's start and
    /// actual end. Between two consecutive points the run delivers at a constant rate, so the
    /// cumulative amount is linear there. Sorted, without duplicates.
    public func breakpoints(fromUTCSeconds from: Double, toUTCSeconds to: Double) -> [Double] {
        precondition(from.isFinite && to.isFinite && from <= to, "need finite from <= to")
        var points = [from, to]
        points += prescription.rateChanges(fromUTCSeconds: from, toUTCSeconds: to).map(\.atUTCSeconds)
        for d in delivering { points += [d.fromUTCSeconds, d.toUTCSeconds] }
        for m in minimumRate { points += [m.fromUTCSeconds, m.toUTCSeconds] }
        for bolus in boluses {
            if let run = runningInterval(of: bolus) { points += [run.fromUTCSeconds, run.toUTCSeconds] }
        }
        return Self.sortedUnique(points.filter { from <= $0 && $0 <= to })
    }

    /// The window starts `s` (windows `[s, s + w)` inside `[from, to)`) at which the amount
    /// delivered in the window can be at its largest (or smallest): `from`, `to − w`, every
    /// breakpoint `b` and every `b − w` that lie in `[from, to − w]`.
    ///
    /// Why this is enough: the cumulative amount `C(t)` is continuous and linear between
    /// breakpoints (bolus durations are positive), so the window amount `C(s + w) − C(s)` is
    /// linear in `s` except where `s` or `s + w` is a breakpoint, and a function linear between
    /// such points takes its extremes at them or at the ends. If `to − from ≤ w`, the only window
    /// is `[from, to)` itself and the answer is `[from]`.
    public func windowStartCandidates(windowSeconds w: Double, fromUTCSeconds from: Double, toUTCSeconds to: Double) -> [Double] {
        precondition(w.isFinite && w > 0, "window must be positive")
        precondition(from.isFinite && to.isFinite && from <= to, "need finite from <= to")
        guard to - from > w else { return [from] }
        let lastStart = to - w
        var starts = [from, lastStart]
        for b in breakpoints(fromUTCSeconds: from, toUTCSeconds: to) {
            if b <= lastStart { starts.append(b) }
            if b - w >= from { starts.append(b - w) }
        }
        return Self.sortedUnique(starts.filter { from <= $0 && $0 <= lastStart })
    }

    /// The window `[s, s + w)` inside `[from, to)` with the most micrograms, and that amount
    /// (the earliest such window on a tie). If `to − from ≤ w`, the window is `[from, to)`.
    public func maximumWindow(
        ofSeconds w: Double, fromUTCSeconds from: Double, toUTCSeconds to: Double
    ) -> (startUTCSeconds: Double, micrograms: Double) {
        let starts = windowStartCandidates(windowSeconds: w, fromUTCSeconds: from, toUTCSeconds: to)
        var best = (startUTCSeconds: from, micrograms: -Double.infinity)
        for s in starts {
            let amount = micrograms(fromUTCSeconds: s, toUTCSeconds: min(s + w, to))
            if amount > best.micrograms { best = (s, amount) }
        }
        return best
    }

    /// The most micrograms the run should deliver in any window of `w` seconds inside `[from, to)`.
    public func maximumMicrograms(inAnyWindowOfSeconds w: Double, fromUTCSeconds from: Double, toUTCSeconds to: Double) -> Double {
        maximumWindow(ofSeconds: w, fromUTCSeconds: from, toUTCSeconds: to).micrograms
    }

    static func sortedUnique(_ values: [Double]) -> [Double] {
        var result: [Double] = []
        for v in values.sorted() where result.last != v { result.append(v) }
        return result
    }
}
