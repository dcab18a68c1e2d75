import Controller
import PumpCore
import PumpPlant
import PumpReference

/// Judges dosing by physics against an independent reference, never by the controller's books.
///
/// The truth is the plant's: the drug the pump pushed past the catheter's dead space, each volume
/// at the concentration it really had (`Plant.Totals.committedMicrograms`; what the compliance
/// still holds reaches the patient a few τ later, so the judge uses this figure, free of that
/// lag). The expectation is `PumpReference`: what the prescription asks for in local time under
/// the documented DST rule, plus the accepted boluses, over the time the pump was meant to
/// deliver. The controller contributes only its decisions (when it delivered, which boluses it
/// accepted), which other checks judge.
public struct DosingRecord: Sendable {
    /// The plant's committed drug, sampled every `grid` of the run (and at its end).
    public var samples: [(atSeconds: Double, committedMicrograms: Double)]
    /// What the prescription asked for over the same run (UTC seconds).
    public var reference: ReferenceRun
    public var startUTCSeconds: Double
    public var endUTCSeconds: Double

    /// The reference's cumulative micrograms at each sample, from the run's start.
    public func referenceCumulative() -> [Double] {
        // The reference is linear between its breakpoints: evaluate it there once, interpolate.
        let points = reference.breakpoints(fromUTCSeconds: startUTCSeconds, toUTCSeconds: endUTCSeconds)
        var cumulative = [0.0]
        for i in 1..<max(1, points.count) {
            cumulative.append(cumulative[i - 1] + reference.micrograms(fromUTCSeconds: points[i - 1], toUTCSeconds: points[i]))
        }
        var j = 0
        return samples.map { s in
            let u = startUTCSeconds + s.atSeconds
            while j + 1 < points.count, points[j + 1] <= u { j += 1 }
            guard j + 1 < points.count else { return cumulative[j] }
            let span = points[j + 1] - points[j]
            return cumulative[j] + (span > 0 ? (cumulative[j + 1] - cumulative[j]) * (u - points[j]) / span : 0)
        }
    }

    /// The worst excess of the plant over the reference (positive: more than asked) and the worst
    /// shortfall (negative), cumulative from the start and over every window of `windowSeconds`
    /// whose ends fall on the sample grid (nil: cumulative only).
    public func extremes(windowSeconds: Double? = nil) -> (excess: Double, excessAtSeconds: Double, shortfall: Double, shortfallAtSeconds: Double) {
        let r = referenceCumulative()
        let d = zip(samples, r).map { $0.committedMicrograms - $1 }
        var result = (excess: -Double.infinity, excessAtSeconds: 0.0, shortfall: Double.infinity, shortfallAtSeconds: 0.0)
        var from = 0
        for (k, s) in samples.enumerated() {
            var value = d[k]
            if let w = windowSeconds {
                while samples[from].atSeconds < s.atSeconds - w - 1e-9 { from += 1 }
                value -= d[from]
            }
            if value > result.excess { result.excess = value; result.excessAtSeconds = s.atSeconds }
            if value < result.shortfall { result.shortfall = value; result.shortfallAtSeconds = s.atSeconds }
        }
        return result
    }

    /// The most the plant committed in any window of `windowSeconds` ending on the grid.
    public func mostCommitted(inWindowOfSeconds w: Double) -> Double {
        var best = 0.0, from = 0
        for s in samples {
            while samples[from].atSeconds < s.atSeconds - w - 1e-9 { from += 1 }
            best = max(best, s.committedMicrograms - samples[from].committedMicrograms)
        }
        return best
    }
}

/// What the simulator records for the judge while a run goes on.
struct DosingRecorder {
    /// Samples of the plant every minute: the reference is exact at any instant, the plant moves
    /// in strokes; a minute grid sees any systematic excess and costs one read a minute.
    static let gridNanoseconds: Int64 = 60_000_000_000
    private(set) var samples: [(atSeconds: Double, committedMicrograms: Double)] = []
    private var changes: [(at: Int64, delivering: Bool)] = [(0, true)]
    private var minimumRate: [(at: Int64, on: Bool)] = [(0, false)]
    private var cuts: [Int64] = []
    private var nextGrid: Int64 = 0

    /// A step at `t` left the therapy `delivering` or not; `committed` reads the plant (only on the grid).
    mutating func observe(at t: Int64, delivering: Bool, minimumRate minimum: Bool, committed: () -> Double) {
        if changes.last?.delivering != delivering { changes.append((t, delivering)) }
        if minimumRate.last?.on != minimum { minimumRate.append((t, minimum)) }
        if t >= nextGrid {
            samples.append((Double(t) / 1e9, committed()))
            nextGrid = (t / Self.gridNanoseconds + 1) * Self.gridNanoseconds
        }
    }

    /// A power loss at `t`: a running bolus ends here, and the state is judged afresh after it.
    mutating func powerLoss(at t: Int64) { cuts.append(t) }

    func record(scenario: Scenario, boluses: [BolusRecord], end: Int64, committed: Double) -> DosingRecord {
        let start = Double(scenario.startUTCSeconds)
        var samples = self.samples
        if samples.last.map({ $0.atSeconds < Double(end) / 1e9 }) ?? true { samples.append((Double(end) / 1e9, committed)) }
        // Delivering intervals from the state's change points, split at every power loss.
        var intervals: [(fromUTCSeconds: Double, toUTCSeconds: Double)] = []
        for (i, c) in changes.enumerated() where c.delivering {
            let to = i + 1 < changes.count ? changes[i + 1].at : end
            var from = c.at
            for cut in cuts where cut > from && cut < to {
                intervals.append((start + Double(from) / 1e9, start + Double(cut) / 1e9))
                from = cut
            }
            if to > from { intervals.append((start + Double(from) / 1e9, start + Double(to) / 1e9)) }
        }
        let bolusList = boluses.filter(\.accepted).map {
            ReferenceBolus(startUTCSeconds: start + $0.requestedAt.seconds, durationSeconds: $0.duration.seconds, micrograms: $0.dose.micrograms)
        }
        var minimumIntervals: [(fromUTCSeconds: Double, toUTCSeconds: Double)] = []
        for (i, m) in minimumRate.enumerated() where m.on {
            let to = i + 1 < minimumRate.count ? minimumRate[i + 1].at : end
            minimumIntervals.append((start + Double(m.at) / 1e9, start + Double(to) / 1e9))
        }
        let run = ReferenceRun(prescription: ReferencePrescription(scenario.prescription, zone: scenario.zone.identifier),
                               delivering: intervals, minimumRate: minimumIntervals, boluses: bolusList)
        return DosingRecord(samples: samples, reference: run, startUTCSeconds: start, endUTCSeconds: start + Double(end) / 1e9)
    }
}

extension ReferencePrescription {
    /// The scenario's prescription as the reference reads it: µg/day and local times of day.
    init(_ p: Prescription, zone: String) {
        switch p.basal {
        case .continuous(let d): self.init(basal: .continuous(microgramsPerDay: Double(d.value) / 1000), zoneIdentifier: zone)
        case .flex(let steps):
            self.init(basal: .flex(steps.map { Step(startMinuteOfDay: $0.start.minutes, microgramsPerDay: Double($0.dailyDose.value) / 1000) }),
                      zoneIdentifier: zone)
        }
    }
}
