import Foundation
import PumpReference
import Testing

/// Whole runs: delivering intervals, minimum-rate periods, boluses, rolling windows.
@Suite struct RunTests {
    typealias Step = ReferencePrescription.Step

    // 5.
    @Test func bolusesAreCutByPowerLossAndProrated() {
        // 24 µg/day = 1 µg/h of basal, in UTC. Power loss at +10 h: delivering [0, 10 h) and [10 h, 20 h).
        let t0 = utc("2026-06-01T00:00:00Z")
        let run = ReferenceRun(
            prescription: ReferencePrescription(basal: .continuous(microgramsPerDay: 24), zoneIdentifier: "UTC"),
            delivering: [(t0, t0 + 10 * hour), (t0 + 10 * hour, t0 + 20 * hour)],
            boluses: [
                // A: 100 µg over 1 h from 9.5 h; cut at 10 h after half its time → 50 µg, not resumed.
                ReferenceBolus(startUTCSeconds: t0 + 9.5 * hour, durationSeconds: hour, micrograms: 100),
                // B: 100 µg over 1 h from 12 h, fully inside → 100 µg.
                ReferenceBolus(startUTCSeconds: t0 + 12 * hour, durationSeconds: hour, micrograms: 100),
                // C: starts at 21 h, outside every delivering interval → nothing.
                ReferenceBolus(startUTCSeconds: t0 + 21 * hour, durationSeconds: hour, micrograms: 100),
            ])
        #expect(run.inputProblems.isEmpty)
        // Whole day: basal 20 h × 1 µg/h = 20; boluses 50 + 100 + 0 = 150; total 170 µg.
        #expect(close(run.bolusMicrograms(fromUTCSeconds: t0, toUTCSeconds: t0 + 24 * hour), 150))
        #expect(close(run.micrograms(fromUTCSeconds: t0, toUTCSeconds: t0 + 24 * hour), 170))
        // Around A: [9 h, 11 h): basal 2 µg + A's 50 µg (it ran 9.5–10 h only) = 52 µg.
        #expect(close(run.micrograms(fromUTCSeconds: t0 + 9 * hour, toUTCSeconds: t0 + 11 * hour), 52))
        // [10 h, 11 h): A is not resumed after the power loss: basal only, 1 µg.
        #expect(close(run.micrograms(fromUTCSeconds: t0 + 10 * hour, toUTCSeconds: t0 + 11 * hour), 1))
        // [11 h, 14 h) holds all of B: 100 µg of bolus.
        #expect(close(run.bolusMicrograms(fromUTCSeconds: t0 + 11 * hour, toUTCSeconds: t0 + 14 * hour), 100))
        // [12 h, 12.5 h) holds half of B's running time: 100 × 0.5 = 50 µg of bolus, + 0.5 µg basal.
        #expect(close(run.bolusMicrograms(fromUTCSeconds: t0 + 12 * hour, toUTCSeconds: t0 + 12.5 * hour), 50))
        #expect(close(run.micrograms(fromUTCSeconds: t0 + 12 * hour, toUTCSeconds: t0 + 12.5 * hour), 50.5))
        // Running intervals: A [9.5 h, 10 h), B [12 h, 13 h), C none.
        #expect(run.runningInterval(of: run.boluses[0]).map { [$0.fromUTCSeconds, $0.toUTCSeconds] } == [t0 + 9.5 * hour, t0 + 10 * hour])
        #expect(run.runningInterval(of: run.boluses[1]).map { [$0.fromUTCSeconds, $0.toUTCSeconds] } == [t0 + 12 * hour, t0 + 13 * hour])
        #expect(run.runningInterval(of: run.boluses[2]) == nil)
        // The busiest hour is [12 h, 13 h): all of B plus 1 µg of basal = 101 µg.
        let best = run.maximumWindow(ofSeconds: hour, fromUTCSeconds: t0, toUTCSeconds: t0 + 24 * hour)
        #expect(best.startUTCSeconds == t0 + 12 * hour)
        #expect(close(best.micrograms, 101))
        // The busiest 2 h: [11.5 h, 13.5 h) or anything holding all of B inside [10 h, 20 h) and no
        // more: 100 + 2 = 102 µg. (A's 50 µg + 0.5 h of the next interval is less.)
        #expect(close(run.maximumMicrograms(inAnyWindowOfSeconds: 2 * hour, fromUTCSeconds: t0, toUTCSeconds: t0 + 24 * hour), 102))
        // A window longer than the range is the range: 170 µg.
        #expect(close(run.maximumMicrograms(inAnyWindowOfSeconds: 48 * hour, fromUTCSeconds: t0, toUTCSeconds: t0 + 24 * hour), 170))
    }

    // 6.
    @Test func minimumRateRunsTheLowestStep() {
        // Europe/Berlin in June (CEST, +2): local 00:00 on 1 Jun = 2026-05-31T22:00Z.
        // Steps 00:00 → 300, 06:00 → 60 (the lowest), 12:00 → 600 µg/day.
        let p = ReferencePrescription(
            basal: .flex([Step(startMinuteOfDay: 0, microgramsPerDay: 300),
                          Step(startMinuteOfDay: 360, microgramsPerDay: 60),
                          Step(startMinuteOfDay: 720, microgramsPerDay: 600)]),
            zoneIdentifier: "Europe/Berlin")
        #expect(p.minimumMicrogramsPerDay == 60)
        let midnight = utc("2026-05-31T22:00:00Z")

        // Delivering all day, minimum rate over local 11:00–13:00 (09:00Z–11:00Z).
        // Without it: 6 h × 300 + 6 h × 60 + 12 h × 600 = 9360 µg·h/day → 9360 / 24 = 390 µg.
        // With it, 12:00–13:00 runs at 60 instead of 600 (11:00–12:00 was 60 anyway):
        // 9360 − 600 + 60 = 8820 → 8820 / 24 = 367.5 µg.
        let allDay = ReferenceRun(prescription: p, delivering: [(midnight, midnight + 24 * hour)])
        #expect(close(allDay.micrograms(fromUTCSeconds: midnight, toUTCSeconds: midnight + 24 * hour), 390))
        var lowered = allDay
        lowered.minimumRate = [(midnight + 11 * hour, midnight + 13 * hour)]
        #expect(close(lowered.micrograms(fromUTCSeconds: midnight, toUTCSeconds: midnight + 24 * hour), 367.5))

        // Also over a 300 µg/day step (local 01:00–03:00): 2 h at 60 instead of 300:
        // 8820 − 2 × 300 + 2 × 60 = 8340 → 8340 / 24 = 347.5 µg. Overlapping minimum-rate
        // intervals do not count twice (the 11:30–12:30 one lies inside 11:00–13:00).
        lowered.minimumRate += [(midnight + 1 * hour, midnight + 3 * hour), (midnight + 11.5 * hour, midnight + 12.5 * hour)]
        #expect(close(lowered.micrograms(fromUTCSeconds: midnight, toUTCSeconds: midnight + 24 * hour), 347.5))

        // Minimum rate only inside delivering: delivering local 00:00–12:30, minimum 11:00–16:00.
        // 6 h × 300 + 5 h × 60 + 1.5 h × 60 (minimum; 0.5 h of it replacing 600) = 1800 + 300 + 90
        // = 2190 → 2190 / 24 = 91.25 µg; nothing after 12:30.
        let partial = ReferenceRun(
            prescription: p, delivering: [(midnight, midnight + 12.5 * hour)],
            minimumRate: [(midnight + 11 * hour, midnight + 16 * hour)])
        #expect(close(partial.micrograms(fromUTCSeconds: midnight, toUTCSeconds: midnight + 24 * hour), 91.25))
    }

    // 7.
    @Test(arguments: ["Australia/Lord_Howe", "Europe/Berlin", "America/Havana"])
    func additivityOverRandomIntervals(zone: String) {
        var random = SplitMix64(seed: 0xA11D_17E5 &+ UInt64(zone.utf8.count))
        // Steps inside both of Lord Howe's odd half hours (01:45, 02:15) and Berlin's (02:30), and
        // at Havana's midnight changes (00:00, 00:30).
        let steps = [(0, 150.0), (30, 90), (105, 700), (135, 1200), (150, 40), (180, 300), (600, 500), (1200, 80)]
        let prescription = ReferencePrescription(
            basal: .flex(steps.map { Step(startMinuteOfDay: $0.0, microgramsPerDay: $0.1) }), zoneIdentifier: zone)
        // 2026-03-01 … 2026-11-15 covers both 2026 transitions of all three zones.
        let start = utc("2026-03-01T00:00:00Z")
        let end = utc("2026-11-15T00:00:00Z")
        // Delivering: random pieces separated by short gaps or by power losses (adjacent intervals).
        var delivering: [(fromUTCSeconds: Double, toUTCSeconds: Double)] = []
        var cursor = start
        while cursor < end {
            let length = random.uniform(1 * hour, 20 * 86_400)
            let to = min(end, cursor + length)
            delivering.append((cursor, to))
            cursor = random.unit() < 0.5 ? to : to + random.uniform(60, 6 * hour)
        }
        var minimumRate: [(fromUTCSeconds: Double, toUTCSeconds: Double)] = []
        for _ in 0..<30 {
            let from = random.uniform(start, end)
            minimumRate.append((from, from + random.uniform(60, 3 * 86_400)))
        }
        var boluses: [ReferenceBolus] = []
        for _ in 0..<200 {
            boluses.append(ReferenceBolus(
                startUTCSeconds: random.uniform(start, end), durationSeconds: random.uniform(60, 8 * hour),
                micrograms: random.uniform(1, 500)))
        }
        let run = ReferenceRun(prescription: prescription, delivering: delivering, minimumRate: minimumRate, boluses: boluses)
        #expect(run.inputProblems.isEmpty)

        for trial in 0..<300 {
            // Mostly short spans (hours to days), some long ones (months).
            let span = trial % 10 == 0 ? random.uniform(0, end - start) : random.uniform(0, 4 * 86_400)
            let a = random.uniform(start, end - span)
            let c = a + span
            let b = random.uniform(a, c)
            let whole = run.micrograms(fromUTCSeconds: a, toUTCSeconds: c)
            let parts = run.micrograms(fromUTCSeconds: a, toUTCSeconds: b) + run.micrograms(fromUTCSeconds: b, toUTCSeconds: c)
            #expect(close(whole, parts), "\(zone) [\(a), \(b), \(c)): \(whole) vs \(parts)")
            let basalWhole = prescription.basalMicrograms(fromUTCSeconds: a, toUTCSeconds: c)
            let basalParts = prescription.basalMicrograms(fromUTCSeconds: a, toUTCSeconds: b)
                + prescription.basalMicrograms(fromUTCSeconds: b, toUTCSeconds: c)
            #expect(close(basalWhole, basalParts), "\(zone) basal [\(a), \(b), \(c))")
            // And everything is bounded by the rates: basal within [min, max] × time.
            #expect(basalWhole >= prescription.minimumMicrogramsPerDay * span / 86_400 * (1 - 1e-12))
            #expect(basalWhole <= prescription.maximumMicrogramsPerDay * span / 86_400 * (1 + 1e-12))
        }
    }

    @Test func windowMaximumMatchesADenseScan() {
        // The candidate window starts are exact: no window start on a fine grid does better.
        var random = SplitMix64(seed: 42)
        let t0 = utc("2026-10-24T12:00:00Z")  // over Berlin's fall-back night
        let prescription = ReferencePrescription(
            basal: .flex([Step(startMinuteOfDay: 0, microgramsPerDay: 100), Step(startMinuteOfDay: 150, microgramsPerDay: 2000),
                          Step(startMinuteOfDay: 200, microgramsPerDay: 50), Step(startMinuteOfDay: 900, microgramsPerDay: 400)]),
            zoneIdentifier: "Europe/Berlin")
        var boluses: [ReferenceBolus] = []
        for _ in 0..<6 {
            boluses.append(ReferenceBolus(
                startUTCSeconds: t0 + random.uniform(0, 40 * hour), durationSeconds: random.uniform(600, 3 * hour),
                micrograms: random.uniform(5, 60)))
        }
        let run = ReferenceRun(
            prescription: prescription,
            delivering: [(t0, t0 + 17 * hour), (t0 + 17 * hour, t0 + 30 * hour), (t0 + 31 * hour, t0 + 48 * hour)],
            minimumRate: [(t0 + 20 * hour, t0 + 22 * hour)], boluses: boluses)
        let w = 3 * hour
        let best = run.maximumWindow(ofSeconds: w, fromUTCSeconds: t0, toUTCSeconds: t0 + 48 * hour)
        var s = t0
        while s + w <= t0 + 48 * hour {
            let amount = run.micrograms(fromUTCSeconds: s, toUTCSeconds: s + w)
            #expect(amount <= best.micrograms * (1 + 1e-12), "window at \(s) has \(amount) > \(best.micrograms)")
            s += 60
        }
        #expect(close(run.micrograms(fromUTCSeconds: best.startUTCSeconds, toUTCSeconds: best.startUTCSeconds + w), best.micrograms))
    }
}
