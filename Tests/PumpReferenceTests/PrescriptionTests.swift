import Foundation
import PumpReference
import Testing

/// The basal rate over intervals, against hand-computed numbers (the arithmetic is in the comments).
@Suite struct PrescriptionTests {
    typealias Step = ReferencePrescription.Step

    func flex(_ zone: String, _ steps: [(Int, Double)]) -> ReferencePrescription {
        ReferencePrescription(
            basal: .flex(steps.map { Step(startMinuteOfDay: $0.0, microgramsPerDay: $0.1) }), zoneIdentifier: zone)
    }

    /// The changes as plain pairs, for comparing with `==`.
    func changes(_ p: ReferencePrescription, _ from: Double, _ to: Double) -> [[Double]] {
        p.rateChanges(fromUTCSeconds: from, toUTCSeconds: to).map { [$0.atUTCSeconds, $0.microgramsPerDay] }
    }

    // 1.
    @Test func continuousRate() {
        let from = utc("2026-06-01T00:00:00Z")
        for zone in ["UTC", "Europe/Berlin"] {
            let p = ReferencePrescription(basal: .continuous(microgramsPerDay: 240), zoneIdentifier: zone)
            #expect(p.inputProblems.isEmpty)
            // 240 µg/day × 6 h / 24 h = 60 µg.
            #expect(close(p.basalMicrograms(fromUTCSeconds: from, toUTCSeconds: from + 6 * hour), 60))
            #expect(changes(p, from, from + 6 * hour) == [[from, 240]])
            #expect(p.minimumMicrogramsPerDay == 240 && p.maximumMicrogramsPerDay == 240)
        }
        // Across Berlin's spring-forward night a continuous rate does not care: 24 h of UTC is 240 µg.
        let p = ReferencePrescription(basal: .continuous(microgramsPerDay: 240), zoneIdentifier: "Europe/Berlin")
        #expect(close(p.basalMicrograms(fromUTCSeconds: utc("2026-03-28T12:00:00Z"), toUTCSeconds: utc("2026-03-29T12:00:00Z")), 240))
    }

    // 2.
    @Test func berlinSpringForwardSkipsTheStepInTheGap() {
        // Europe/Berlin 2026-03-29: at 01:00:00 UTC the clock jumps from 01:59:59 CET (+1) to
        // 03:00:00 CEST (+2); local 02:00–02:59 does not exist that day.
        let p = flex("Europe/Berlin", [(0, 200), (120, 1000), (180, 200)])
        #expect(p.inputProblems.isEmpty)
        let localMidnight = utc("2026-03-28T23:00:00Z")  // 2026-03-29 00:00 CET
        let jump = utc("2026-03-29T01:00:00Z")
        // The 02:00 step (skipped) and the 03:00 step both start at the jump; 03:00 wins the tie, so
        // the 02:00 step runs for zero time: 200 µg/day for the whole 23-hour local day.
        // 200 × 23 / 24 = 191.666… µg.
        let amount = p.basalMicrograms(fromUTCSeconds: localMidnight, toUTCSeconds: localMidnight + 23 * hour)
        #expect(close(amount, 200.0 * 23 / 24))
        #expect(changes(p, localMidnight, localMidnight + 23 * hour) == [[localMidnight, 200]])
        #expect(p.microgramsPerDay(atUTCSeconds: jump) == 200)
        #expect(p.microgramsPerDay(atUTCSeconds: jump - 1) == 200)

        let day = Int(utc("2026-03-29T00:00:00Z") / 86_400)  // the local day's number
        let starts = p.stepStarts(fromUTCSeconds: localMidnight, toUTCSeconds: localMidnight + 23 * hour)
            .filter { $0.localDayNumber == day }
        #expect(starts.map(\.atUTCSeconds) == [localMidnight, jump, jump])

        // A step at 02:30 (also in the gap) starts at the jump too, not 30 min later.
        let q = flex("Europe/Berlin", [(0, 200), (150, 1000)])
        let qStarts = q.stepStarts(fromUTCSeconds: localMidnight, toUTCSeconds: localMidnight + 23 * hour)
            .filter { $0.localDayNumber == day }
        #expect(qStarts.map(\.atUTCSeconds) == [localMidnight, jump])
        // It runs from the jump to the next local midnight (2026-03-29T22:00Z): 21 h at 1000 after
        // 2 h at 200: (200 × 2 + 1000 × 21) / 24 = 21400 / 24 = 891.666… µg.
        #expect(close(q.basalMicrograms(fromUTCSeconds: localMidnight, toUTCSeconds: localMidnight + 23 * hour), 21_400.0 / 24))

        // The next day (an ordinary 24-hour day from 2026-03-29T22:00Z) the 02:00 step runs again:
        // 2 h at 200, 1 h at 1000, 21 h at 200: (200 × 23 + 1000) / 24 = 5600 / 24 = 233.333… µg.
        let nextMidnight = utc("2026-03-29T22:00:00Z")
        #expect(close(p.basalMicrograms(fromUTCSeconds: nextMidnight, toUTCSeconds: nextMidnight + 24 * hour), 5600.0 / 24))
        #expect(changes(p, nextMidnight, nextMidnight + 24 * hour)
            == [[nextMidnight, 200], [nextMidnight + 2 * hour, 1000], [nextMidnight + 3 * hour, 200]])
    }

    // 3.
    @Test func berlinFallBackStartsTheRepeatedTimeOnce() {
        // Europe/Berlin 2026-10-25: at 01:00:00 UTC the clock goes back from 02:59:59 CEST (+2) to
        // 02:00:00 CET (+1); local 02:00–02:59 happens twice (00:00–01:00 UTC and 01:00–02:00 UTC).
        let p = flex("Europe/Berlin", [(0, 100), (120, 2000), (150, 100)])
        let from = utc("2026-10-24T22:00:00Z")  // 2026-10-25 00:00 CEST
        // 00:00 step from 22:00Z; 02:00 step at 00:00Z; 02:30 step at 00:30Z; none restarts in the
        // repeated hour. Over 4 h from 22:00Z: 2 h at 100, 0.5 h at 2000, 1.5 h at 100:
        // (100 × 3.5 + 2000 × 0.5) / 24 = 1350 / 24 = 56.25 µg.
        #expect(close(p.basalMicrograms(fromUTCSeconds: from, toUTCSeconds: from + 4 * hour), 56.25))
        #expect(changes(p, from, from + 4 * hour)
            == [[from, 100], [utc("2026-10-25T00:00:00Z"), 2000], [utc("2026-10-25T00:30:00Z"), 100]])
        // At 01:15Z (02:15 CET, the second 02:15) the 02:30 step is still in force.
        #expect(p.microgramsPerDay(atUTCSeconds: utc("2026-10-25T01:15:00Z")) == 100)
        // The whole 25-hour local day: 2 h at 100, 0.5 h at 2000, 22.5 h at 100:
        // (100 × 24.5 + 2000 × 0.5) / 24 = 3450 / 24 = 143.75 µg.
        #expect(close(p.basalMicrograms(fromUTCSeconds: from, toUTCSeconds: from + 25 * hour), 143.75))

        // A step at 03:00 is first reached at 03:00 CET = 02:00Z (the clock went back before reaching 03:00 CEST).
        let q = flex("Europe/Berlin", [(0, 100), (180, 500)])
        #expect(changes(q, from, from + 6 * hour) == [[from, 100], [utc("2026-10-25T02:00:00Z"), 500]])
    }

    // 4.
    @Test func lordHoweHalfHourShift() {
        // Australia/Lord_Howe: standard +10:30, DST +11:00, the only zone with a 30-minute shift.
        // 2026 transitions, read from the tz database (Foundation and `zdump -v -c 2026,2027`):
        //   2026-04-04T15:00:00Z: 02:00 LHDT (+11) → 01:30 LHST (+10:30) on Sun 5 Apr; 01:30–02:00 repeats.
        //   2026-10-03T15:30:00Z: 02:00 LHST (+10:30) → 02:30 LHDT (+11) on Sun 4 Oct; 02:00–02:30 is skipped.
        let zone = TimeZone(identifier: "Australia/Lord_Howe")!
        let autumn = utc("2026-04-04T15:00:00Z")
        let spring = utc("2026-10-03T15:30:00Z")
        #expect(zone.secondsFromGMT(for: Date(timeIntervalSince1970: autumn - 1)) == 39_600)
        #expect(zone.secondsFromGMT(for: Date(timeIntervalSince1970: autumn)) == 37_800)
        #expect(zone.secondsFromGMT(for: Date(timeIntervalSince1970: spring - 1)) == 37_800)
        #expect(zone.secondsFromGMT(for: Date(timeIntervalSince1970: spring)) == 39_600)

        // Spring: steps 00:00 → 240, 02:15 → 2400 (inside the gap), 03:00 → 240.
        // Local midnight 4 Oct = 00:00 +10:30 = 2026-10-03T13:30Z; the local day lasts 23.5 h.
        // The 02:15 step starts at the jump 15:30Z (= 02:30 LHDT) and runs until 03:00 LHDT = 16:00Z.
        // 2 h at 240, 0.5 h at 2400, 21 h at 240: (240 × 23 + 2400 × 0.5) / 24 = 6720 / 24 = 280 µg.
        let p = flex("Australia/Lord_Howe", [(0, 240), (135, 2400), (180, 240)])
        let springMidnight = utc("2026-10-03T13:30:00Z")
        #expect(close(p.basalMicrograms(fromUTCSeconds: springMidnight, toUTCSeconds: springMidnight + 23.5 * hour), 280))
        #expect(changes(p, springMidnight, springMidnight + 23.5 * hour)
            == [[springMidnight, 240], [spring, 2400], [utc("2026-10-03T16:00:00Z"), 240]])

        // Autumn: steps 00:00 → 240, 01:45 → 2400 (inside the repeated half hour), 02:00 → 240.
        // Local midnight 5 Apr = 00:00 +11 = 2026-04-04T13:00Z; the local day lasts 24.5 h.
        // 01:45 is first reached at 01:45 LHDT = 14:45Z (not again at 01:45 LHST = 15:15Z); 02:00 is
        // first reached at 02:00 LHST = 15:30Z (the clock went back at 02:00 LHDT before showing it).
        // So 2400 runs 0.75 h: (240 × 23.75 + 2400 × 0.75) / 24 = 7500 / 24 = 312.5 µg.
        let q = flex("Australia/Lord_Howe", [(0, 240), (105, 2400), (120, 240)])
        let autumnMidnight = utc("2026-04-04T13:00:00Z")
        #expect(close(q.basalMicrograms(fromUTCSeconds: autumnMidnight, toUTCSeconds: autumnMidnight + 24.5 * hour), 312.5))
        #expect(changes(q, autumnMidnight, autumnMidnight + 24.5 * hour)
            == [[autumnMidnight, 240], [utc("2026-04-04T14:45:00Z"), 2400], [utc("2026-04-04T15:30:00Z"), 240]])
    }

    @Test func apiaSkippedWholeDay() {
        // Pacific/Apia skipped Friday 2011-12-30: at 2011-12-30T10:00:00Z the clock went from
        // Thu 29 Dec 23:59:59 (−10) to Sat 31 Dec 00:00:00 (+14) (zdump -v -c 2011,2012 Pacific/Apia).
        // Steps 00:00 → 100, 12:00 → 300. Thu 29 Dec 12:00 (−10) = 22:00Z on the 29th.
        // Fri 30 Dec 00:00 and 12:00 and Sat 31 Dec 00:00 all start at the jump; Sat 00:00 (the
        // latest local time) wins → 100. Sat 12:00 (+14) = 2011-12-30T22:00Z → 300.
        let p = flex("Pacific/Apia", [(0, 100), (720, 300)])
        let from = utc("2011-12-30T00:00:00Z")
        let jump = utc("2011-12-30T10:00:00Z")
        let to = utc("2011-12-31T00:00:00Z")
        #expect(changes(p, from, to) == [[from, 300], [jump, 100], [utc("2011-12-30T22:00:00Z"), 300]])
        // 10 h at 300, 12 h at 100, 2 h at 300: (300 × 12 + 100 × 12) / 24 = 4800 / 24 = 200 µg.
        #expect(close(p.basalMicrograms(fromUTCSeconds: from, toUTCSeconds: to), 200))
    }

    @Test func ordinaryDaysFollowLocalTimeOfDay() {
        // Away from any offset change, the step in force is simply the one for the local time of
        // day, read with Foundation's instant → local-components conversion (a different code path).
        let steps = [(0, 110.0), (150, 220), (420, 330), (1000, 440), (1439, 550)]
        for zoneName in ["Europe/Berlin", "Australia/Lord_Howe", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"] {
            let p = flex(zoneName, steps)
            let zone = TimeZone(identifier: zoneName)!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            var random = SplitMix64(seed: 0x5EED_0000 &+ UInt64(zoneName.utf8.count))
            var checked = 0
            for _ in 0..<400 {
                let t = (random.uniform(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"))).rounded(.down)
                // Skip instants with an offset change in the last two days.
                let nextChange = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: t - 2 * 86_400))
                if let nextChange, nextChange.timeIntervalSince1970 <= t { continue }
                let c = calendar.dateComponents([.hour, .minute], from: Date(timeIntervalSince1970: t))
                let minuteOfDay = c.hour! * 60 + c.minute!
                let expected = steps.last { $0.0 <= minuteOfDay }!.1
                #expect(p.microgramsPerDay(atUTCSeconds: t) == expected, "\(zoneName) at \(t)")
                checked += 1
            }
            #expect(checked > 300)
        }
    }

    @Test func inputProblemsAreReported() {
        #expect(!flex("Europe/Nowhere", [(0, 1)]).inputProblems.isEmpty)
        #expect(!flex("UTC", []).inputProblems.isEmpty)
        #expect(!flex("UTC", [(10, 1)]).inputProblems.isEmpty)
        #expect(!flex("UTC", [(0, 1), (60, 2), (60, 3)]).inputProblems.isEmpty)
        #expect(!flex("UTC", [(0, 1), (1440, 2)]).inputProblems.isEmpty)
        #expect(!flex("UTC", [(0, -1)]).inputProblems.isEmpty)
        #expect(flex("UTC", [(0, 1), (60, 2)]).inputProblems.isEmpty)
        let p = flex("UTC", [(0, 300), (360, 60), (720, 600)])
        #expect(p.minimumMicrogramsPerDay == 60 && p.maximumMicrogramsPerDay == 600)
    }
}
