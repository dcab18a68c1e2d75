import Testing
import PumpCore
@testable import Controller

/// Clinician programming, refills and forecasts, on the pure core driven as the dose loop drives it.
@Suite("Programming and refills")
struct ProgrammingTests {
    static let utc0: Int64 = 1_767_225_600 * 1_000_000_000    // 2026-01-01T00:00Z

    func core(_ p: Prescription = prescription(.continuous(.microgramsPerDay(250))), fill: Nanolitres = .millilitres(20)) -> ControllerCore {
        ControllerCore(configuration: ControllerConfiguration(prescription: p, strokeVolume: Nanolitres(250),
                                                              reservoirCapacity: .millilitres(20), reservoirFill: fill),
                       now: .zero, utcNanoseconds: Self.utc0)
    }

    /// The dose loop without hardware: every planned stroke completes.
    func run(_ c: inout ControllerCore, from t: inout MonotonicInstant, until end: MonotonicInstant) {
        while t < end {
            let n = c.planStrokes(at: t, utcNanoseconds: Self.utc0 + t.nanoseconds)
            if n > 0 { c.strokesCompleted(n, at: t) }
            t = min(end, c.nextDoseDeadline(after: t))
        }
        let n = c.planStrokes(at: end, utcNanoseconds: Self.utc0 + end.nanoseconds)
        if n > 0 { c.strokesCompleted(n, at: end) }
    }

    func command(_ c: inout ControllerCore, _ cmd: OperatorCommand, at t: MonotonicInstant) -> CommandOutcome {
        c.handle(cmd, at: t, utcNanoseconds: Self.utc0 + t.nanoseconds)
    }

    @Test func programChangesTheRateFromNowOnAndRefusesADrugChange() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(86_400))
        let day1 = c.scheduler.commandedStrokes            // 250 µg/day at 500 µg/mL = 0.5 mL = 2000 strokes
        #expect(day1 == 2000)
        let doubled = prescription(.continuous(.microgramsPerDay(500)))
        #expect(command(&c, .program(doubled), at: t).accepted)
        #expect(c.prescription == doubled)
        run(&c, from: &t, until: at(2 * 86_400))
        #expect(c.scheduler.commandedStrokes - day1 == 4000)
        // Another concentration is a refill, not a program: refused, and nothing changes.
        let other = prescription(.continuous(.microgramsPerDay(500)), drug: Drug(limits: DrugLibrary.baclofen, concentration: .microgramsPerMillilitre(1000)))
        let before = c.prescription
        let o = command(&c, .program(other), at: t)
        #expect(!o.accepted && o.reason!.hasPrefix("drug:"))
        #expect(c.prescription == before)
        #expect(!command(&c, .program(doubled), at: t).accepted)     // identical: nothing to do
        if case .command(_, false, _) = c.events.last!.kind {} else { Issue.record("refusal not recorded") }
    }

    @Test func lowReservoirLevelIsAClinicianSetting() {
        var c = core(fill: .millilitres(3))
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(60))
        #expect(!c.alarms.isActive(.reservoirLow))                  // 3 mL > 2 mL default
        #expect(!command(&c, .setLowReservoir(.millilitres(21)), at: t).accepted)
        #expect(c.lowReservoirLevel == .millilitres(2))
        #expect(command(&c, .setLowReservoir(.millilitres(4)), at: t).accepted)
        run(&c, from: &t, until: at(120))
        #expect(c.alarms.isActive(.reservoirLow))
    }

    @Test func refillWithinToleranceStartsANewFill() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(10 * 86_400))                 // 5 mL used: expected 15 mL
        #expect(c.ledger.expected == .millilitres(15))
        let o = command(&c, .refill(RefillRequest(withdrawn: Nanolitres(15_400_000), added: .millilitres(20))), at: t)
        #expect(o.accepted && o.reason == nil)
        let r = c.refills.last!
        #expect(r.expected == .millilitres(15) && r.consumed == .millilitres(5))
        #expect(r.tolerance == Nanolitres(500_000 + 750_000))        // 0.5 mL + 15 % of 5 mL
        #expect(!r.beyondTolerance && !c.alarms.isActive(.refillDiscrepancy))
        #expect(c.ledger.expected == .millilitres(20))
        run(&c, from: &t, until: at(11 * 86_400))
        #expect(c.ledger.expected == Nanolitres(19_500_000))
    }

    @Test func refillDiscrepancyAlarmsBlocksPatientBolusesAndNeedsAClinician() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(10 * 86_400))
        // 13 mL came out where 15 were expected: 2 mL more left the reservoir than commanded.
        let o = command(&c, .refill(RefillRequest(withdrawn: .millilitres(13), added: .millilitres(20))), at: t)
        #expect(o.accepted && o.reason!.contains("over-infusion"))
        #expect(c.refills.last!.discrepancy == Nanolitres(-2_000_000))
        #expect(c.alarms.isActive(.refillDiscrepancy) && c.state == .delivering)    // basal goes on
        #expect(command(&c, .patientBolus, at: t).reason == "blocked while the refill_discrepancy alarm is active")
        #expect(command(&c, .clinicianClear, at: t).accepted)
        #expect(!c.alarms.isActive(.refillDiscrepancy))
        // Too much came out: possible under-infusion.
        run(&c, from: &t, until: at(20 * 86_400))
        #expect(command(&c, .refill(RefillRequest(withdrawn: .millilitres(18), added: .millilitres(20))), at: t).reason!.contains("under-infusion"))
    }

    @Test func aDriftSmallerThanTheToleranceAlarmsOnTheThirdRefillInARow() {
        var c = core()
        var t = MonotonicInstant.zero
        for i in 1...3 {
            run(&c, from: &t, until: at(Double(i) * 10 * 86_400))
            // 0.8 mL short each time: tolerance 1.25 mL, more than half of it.
            let expected = c.ledger.expected
            _ = command(&c, .refill(RefillRequest(withdrawn: expected - Nanolitres(800_000), added: .millilitres(20))), at: t)
            #expect(!c.refills.last!.beyondTolerance)
            #expect(c.alarms.isActive(.refillDiscrepancy) == (i == 3))
        }
    }

    /// Finding (issue 18, floods): the event list grew with every request, ~450 B each, for as long
    /// as pumpd ran. Now the recent past only: a reader that keeps up sees every event once, in
    /// order; one that fell behind is told how many it missed.
    @Test func theEventListIsBoundedAndReadersSeeEveryEventOnce() {
        var c = core()
        let n = 50_000
        var read = 0, seen = 0, lastCounter: Int64 = -1, inOrder = true
        for i in 0..<n {
            c.recordRemote(RemoteCommandRecord(role: nil, command: nil, counter: Int64(i), accepted: false, reason: "frame: empty"), at: .zero)
            if i % 1000 == 999 {
                let (events, lost) = c.events.since(read)
                #expect(lost == 0)
                for e in events { if case .remoteCommand(let r) = e.kind { inOrder = inOrder && r.counter == lastCounter + 1; lastCounter = r.counter! } }
                seen += events.count
                read = c.events.endSequence
            }
            #expect(c.events.count < 2 * EventLog.retained)
        }
        #expect(seen == n && inOrder && c.events.endSequence == n)
        let (late, lost) = c.events.since(0)
        #expect(lost == n - c.events.count && late.count == c.events.count)
    }

    @Test func badRefillFieldsAreRefusedAndChangeNothing() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(86_400))
        let ledger = c.ledger, p = c.prescription, events = c.events.endSequence
        let bad: [(RefillRequest, String)] = [
            (RefillRequest(withdrawn: Nanolitres(-1), added: .millilitres(20)), "withdrawn_ml"),
            (RefillRequest(withdrawn: .millilitres(19), added: .millilitres(21)), "added_ml"),
            (RefillRequest(withdrawn: .millilitres(19), added: .zero), "added_ml"),
            (RefillRequest(withdrawn: .millilitres(19), added: .millilitres(20), deadSpace: .millilitres(3)), "dead_space_ml"),
            (RefillRequest(withdrawn: .millilitres(19), added: .millilitres(20), concentration: .microgramsPerMillilitre(100_000)), "refill.concentration_ug_per_ml"),
        ]
        for (r, field) in bad {
            let o = command(&c, .refill(r), at: t)
            #expect(!o.accepted && o.reason!.hasPrefix(field), "\(o.reason ?? "")")
        }
        #expect(c.ledger.expected == ledger.expected && c.prescription == p && c.refills.isEmpty)
        #expect(c.events.endSequence == events + bad.count)    // only the refusals were recorded
    }

    /// 500 → 2000 µg/mL at 250 µg/day: the stroke plan falls to a quarter, and the 0.25 mL of old
    /// drug in the dead space first runs at the old plan (0.5 mL/day: 12 h), so the dose stays
    /// 250 µg/day throughout.
    @Test func concentrationChangeKeepsTheDoseWithABridge() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(86_400))
        let o = command(&c, .refill(RefillRequest(withdrawn: Nanolitres(19_500_000), added: .millilitres(20),
                                                  concentration: .microgramsPerMillilitre(2000))), at: t)
        #expect(o.accepted)
        #expect(c.prescription.drug.concentration == .microgramsPerMillilitre(2000))
        let bridge = c.refills.last!.bridge!
        #expect(bridge.concentration == .microgramsPerMillilitre(500) && bridge.duration == .hours(12))
        let strokes0 = c.scheduler.commandedStrokes
        run(&c, from: &t, until: at(86_400 + 43_200))
        #expect(c.scheduler.commandedStrokes - strokes0 == 1000)     // 0.25 mL at the old plan
        #expect(c.scheduler.bridge == nil)
        run(&c, from: &t, until: at(2 * 86_400 + 43_200))
        #expect(c.scheduler.commandedStrokes - strokes0 == 1500)     // then 0.125 mL/day
        // The programme in micrograms: 250 µg/day on every day.
        let dose = c.scheduler.dose(inProgrammed: c.scheduler.programmedVolume)
        #expect(abs(dose.micrograms - 2.5 * 250) < 0.01)
    }

    /// During a bridge the dead space holds old drug: a refill at the same concentration keeps the
    /// bridge as it runs; another concentration change is refused until it ends.
    @Test func aRefillDuringABridge() throws {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(3600))
        _ = command(&c, .refill(RefillRequest(withdrawn: Nanolitres(19_979_000), added: .millilitres(20),
                                              concentration: .microgramsPerMillilitre(2000))), at: t)
        run(&c, from: &t, until: at(7200))
        // The bridge ends by volume: 0.25 mL less the hour at 0.5 mL/day (20 833 nL) is left, 11 h at that rate.
        let left = try #require(c.scheduler.bridgeRemainingVolume)
        #expect(abs(left.value - (250_000 - 20_833)) <= 1, "\(left)")
        #expect(abs(try #require(c.scheduler.bridgeRemaining(at: t)).seconds - 11 * 3600) < 1)
        #expect(command(&c, .refill(RefillRequest(withdrawn: c.ledger.expected, added: .millilitres(20))), at: t).accepted)
        #expect(c.scheduler.bridgeRemainingVolume == left && c.refills.last!.bridge == nil)
        let o = command(&c, .refill(RefillRequest(withdrawn: c.ledger.expected, added: .millilitres(20),
                                                  concentration: .microgramsPerMillilitre(1000))), at: t)
        #expect(!o.accepted && o.reason!.hasPrefix("refill.concentration_ug_per_ml: a bridge is still running"))
        #expect(c.prescription.drug.concentration == .microgramsPerMillilitre(2000) && c.refills.count == 2)
    }

    @Test func decliningTheBridgeSwitchesThePlanAtOnce() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(86_400))
        _ = command(&c, .refill(RefillRequest(withdrawn: Nanolitres(19_500_000), added: .millilitres(20),
                                              concentration: .microgramsPerMillilitre(2000), bridge: false)), at: t)
        #expect(c.refills.last!.bridge == nil && c.scheduler.bridge == nil)
        let s0 = c.scheduler.commandedStrokes
        run(&c, from: &t, until: at(2 * 86_400))
        #expect(c.scheduler.commandedStrokes - s0 == 500)
    }

    @Test func aSuspensionPausesTheBridge() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(3600))
        _ = command(&c, .refill(RefillRequest(withdrawn: Nanolitres(19_979_000), added: .millilitres(20),
                                              concentration: .microgramsPerMillilitre(2000))), at: t)
        run(&c, from: &t, until: at(3600 + 6 * 3600))
        #expect(command(&c, .suspend, at: t).accepted)
        run(&c, from: &t, until: at(3600 + 30 * 3600))
        // Half the old drug is still in the line: nothing moves it while suspended.
        #expect(c.scheduler.bridgeRemainingVolume == Nanolitres(125_000))
        #expect(c.scheduler.bridgeRemaining(at: t) == nil)             // no flow, no time estimate
        #expect(command(&c, .resume, at: t).accepted)
        let s0 = c.scheduler.commandedStrokes
        run(&c, from: &t, until: t + .hours(6))
        #expect(c.scheduler.commandedStrokes - s0 == 500)            // the rest of the bridge, old plan
        #expect(c.scheduler.bridge == nil)
    }

    @Test func forecastExpectedAndWorstCase() {
        var c = core()
        var t = MonotonicInstant.zero
        run(&c, from: &t, until: at(3600))
        #expect(command(&c, .patientBolus, at: t).accepted)
        let f = c.forecast(at: t)
        // Expected: 250 µg/day basal + the one 10 µg bolus of the last day = 0.52 mL/day.
        #expect(f.expectedPerDay == Nanolitres(520_000))
        // Worst: 250 + 4 × 10 µg = 0.58 mL/day.
        #expect(f.worstPerDay == Nanolitres(580_000))
        let v = c.ledger.expected
        #expect(f.expectedToEmpty == Nanoseconds(Int64(Int128(v.value) * Int128(Nanoseconds.perDay) / 520_000)))
        #expect(f.worstToLow! < f.expectedToLow! && f.expectedToLow! < f.expectedToEmpty!)
        let s = c.status(at: t)
        #expect(s.nextPatientBolusIn == .hours(1) && s.forecast == f)
    }

    @Test func batteryTrendGivesTheElectiveReplacementDate() {
        var trend = BatteryTrend()
        #expect(trend.slopePerMillePerDay == nil)
        // 1 % a day from 60 %: 15 % is 45 days after the start.
        for h in 0...(5 * 24) {
            let t = at(Double(h) * 3600)
            trend.observe(PerMille(Int32(600 - (10 * h) / 24)), at: t)
        }
        let slope = trend.slopePerMillePerDay!
        #expect(abs(slope + 10) < 0.3)
        let now = at(5 * 86_400)
        let eri = trend.reaching(PerMille(percent: 15), from: now, current: PerMille(550))
        #expect(abs(eri!.seconds / 86_400 - 45) < 1.5)
        // A flat or rising charge gives no date.
        var flat = BatteryTrend()
        for h in 0...48 { flat.observe(PerMille(800), at: at(Double(h) * 3600)) }
        #expect(flat.reaching(PerMille(150), from: at(48 * 3600), current: PerMille(800)) == nil)
    }
}
