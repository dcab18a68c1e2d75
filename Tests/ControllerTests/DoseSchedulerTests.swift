import Testing
@testable import PumpCore
import PumpFakes
import PumpPlant
@testable import Controller

let baclofen500 = Drug(limits: DrugLibrary.baclofen, concentration: .microgramsPerMillilitre(500))

func flex(_ steps: [(String, Int64)]) -> BasalProgram {
    .flex(steps.map { FlexStep(start: TimeOfDay(parsing: $0.0)!, dailyDose: .microgramsPerDay($0.1)) })
}

func prescription(_ basal: BasalProgram, drug: Drug = baclofen500) -> Prescription {
    Prescription(drug: drug, basal: basal,
                 patientBolus: PatientBolusRule(dose: .micrograms(10), lockout: .hours(1), maxPerDay: 4, duration: .minutes(10)),
                 dailyCap: DrugLibrary.baclofen.maxDailyDose)
}

@Suite("Dose scheduler")
struct DoseSchedulerTests {
    static let stroke = Nanolitres(250)
    static let day: Int64 = 86_400_000_000_000
    static let epoch: Int64 = 1_767_225_600 * 1_000_000_000    // 2026-01-01T00:00Z

    /// Drives the scheduler as the dose loop does, for `days`, checking at every wake and halfway
    /// between wakes that commanded volume trails programmed volume by less than one stroke.
    func drive(_ s: inout DoseScheduler, days: Int64, bolusEvery: Int64? = nil, utc: (Int64) -> Int64 = { epoch + $0 }) -> (wakes: Int, worstLagNl: Int64) {
        var t: Int64 = 0, wakes = 0, worst: Int64 = 0
        var nextBolus = bolusEvery ?? .max
        while t < days * Self.day {
            s.advance(to: MonotonicInstant(nanoseconds: t), utcNanoseconds: utc(t))
            if t >= nextBolus, !s.bolusInProgress {
                s.startBolus(dose: .micrograms(10), duration: .minutes(10), at: MonotonicInstant(nanoseconds: t))
                nextBolus += bolusEvery!
            }
            let lagBefore = (s.programmedVolume - s.commandedVolume).value
            #expect(lagBefore <= Self.stroke.value, "at \(t): programmed leads by more than a stroke")
            s.recordStrokes(s.strokesDue)
            let lag = (s.programmedVolume - s.commandedVolume).value
            #expect(lag >= 0 && lag < Self.stroke.value, "at \(t): lag \(lag) nL")
            worst = max(worst, lagBefore)
            let next = s.nextDeadline(after: MonotonicInstant(nanoseconds: t), maximumSleep: .hours(1)).nanoseconds
            #expect(next > t || s.strokesDue > 0)
            // Halfway to the next wake, nothing may have fallen due yet.
            var probe = s
            let mid = t + (next - t) / 2
            if mid > t {
                probe.advance(to: MonotonicInstant(nanoseconds: mid), utcNanoseconds: utc(mid))
                #expect(probe.strokesDue == 0, "a stroke fell due before the deadline at \(mid)")
            }
            t = max(next, t + 1)
            wakes += 1
        }
        s.advance(to: MonotonicInstant(nanoseconds: days * Self.day), utcNanoseconds: utc(days * Self.day))
        return (wakes, worst)
    }

    @Test func yearOfFlexWithBolusesStaysWithinOneStroke() {
        let p = prescription(flex([("00:00", 200), ("08:00", 300)]))
        var s = DoseScheduler(prescription: p, strokeVolume: Self.stroke, zone: FixedOffsetZone(), now: .zero, utcNanoseconds: Self.epoch)
        let (wakes, worst) = drive(&s, days: 365, bolusEvery: 3 * Self.day + 3_600_000_000_000)
        // Basal: (200 × 8 + 300 × 16) / 24 µg/day at 500 µg/mL = 533 333.3 nL/day, exactly, no drift.
        #expect(s.programmedBasal.value == 533_333_333 * 365 / 1000)
        let boluses = Int64((365 * Self.day - 1) / (3 * Self.day + 3_600_000_000_000))   // started before the end
        #expect(s.programmedVolume.value == s.programmedBasal.value + boluses * 20_000)
        #expect(worst == Self.stroke.value)        // a stroke is issued exactly when it falls due
        #expect(wakes > 365 * 2000)
    }

    @Test func stepsSwitchAtTheirExactInstant() {
        let p = prescription(flex([("00:00", 240), ("06:00", 480)]))
        var s = DoseScheduler(prescription: p, strokeVolume: Self.stroke, zone: FixedOffsetZone(), now: .zero, utcNanoseconds: Self.epoch)
        let six = MonotonicInstant(nanoseconds: 6 * 3_600_000_000_000)
        s.advance(to: six, utcNanoseconds: Self.epoch + six.nanoseconds)
        // 6 h at 240 µg/day = 60 µg = 120 µL.
        #expect(s.programmedVolume == .microlitres(120))
        #expect(s.basalRate == .microgramsPerDay(480))
        s.advance(to: six + .hours(1), utcNanoseconds: Self.epoch + six.nanoseconds + 3_600_000_000_000)
        #expect(s.programmedVolume == .microlitres(160))
    }

    /// Programmed volume over one local day, from local midnight to the next.
    func localDay(zone: OneChangeZone, midnightUTC: Int64, hours: Int64) -> Nanolitres {
        let p = prescription(flex([("00:00", 100), ("02:30", 200), ("08:00", 300)]))
        let start = midnightUTC * 1_000_000_000
        var s = DoseScheduler(prescription: p, strokeVolume: Self.stroke, zone: zone, now: .zero, utcNanoseconds: start)
        var t: Int64 = 0
        let end = hours * 3_600_000_000_000
        while t < end {
            t = min(end, s.nextDeadline(after: MonotonicInstant(nanoseconds: t), maximumSleep: .minutes(10)).nanoseconds)
            s.advance(to: MonotonicInstant(nanoseconds: t), utcNanoseconds: start + t)
            s.recordStrokes(s.strokesDue)
        }
        return s.programmedVolume
    }

    @Test func springForwardDayHas23HoursAndTheSkippedStepStartsAtTheJump() {
        // 2 h at 100 (00:00–02:00 CET), 5 h at 200 (03:00–08:00 CEST), 16 h at 300: 6000 µg·h/day.
        let v = localDay(zone: .berlinSpring2026, midnightUTC: 1_774_738_800, hours: 23)
        #expect(v == Nanolitres(500_000))   // 250 µg at 500 µg/mL
    }

    @Test func fallBackDayHas25HoursAndNoStepRepeats() {
        // 2.5 h at 100, 6.5 h at 200 (02:30 CEST through the repeated hour to 08:00 CET), 16 h at 300.
        let v = localDay(zone: .berlinFall2026, midnightUTC: 1_792_879_200, hours: 25)
        #expect(v == Nanolitres(529_166))   // 6350/24 µg at 500 µg/mL, rounded down
    }

    @Test func wallClockStepReReadsTheScheduleWithoutCatchingUp() {
        let p = prescription(flex([("00:00", 240), ("12:00", 480)]))
        var s = DoseScheduler(prescription: p, strokeVolume: Self.stroke, zone: FixedOffsetZone(), now: .zero, utcNanoseconds: Self.epoch)
        let hour: Int64 = 3_600_000_000_000
        s.advance(to: MonotonicInstant(nanoseconds: hour), utcNanoseconds: Self.epoch + hour)
        #expect(s.programmedVolume == .microlitres(20))        // 1 h at 240 µg/day
        // Someone sets the clock 12 h ahead: the 12:00 step is now in force...
        s.advance(to: MonotonicInstant(nanoseconds: 2 * hour), utcNanoseconds: Self.epoch + 14 * hour)
        #expect(s.basalRate == .microgramsPerDay(480))
        // ...but the hour that passed is dosed at the rate that was in force; nothing is caught up.
        #expect(s.programmedVolume == .microlitres(40))
        s.advance(to: MonotonicInstant(nanoseconds: 3 * hour), utcNanoseconds: Self.epoch + 15 * hour)
        #expect(s.programmedVolume == .microlitres(80))
    }

    @Test func haltCutsABolusShortAndNeverResumesIt() {
        var s = DoseScheduler(prescription: prescription(.continuous(.microgramsPerDay(250))), strokeVolume: Self.stroke,
                              zone: FixedOffsetZone(), now: .zero, utcNanoseconds: Self.epoch)
        s.startBolus(dose: .micrograms(10), duration: .minutes(10), at: .zero)
        s.setDelivering(false, at: MonotonicInstant(nanoseconds: 300_000_000_000), utcNanoseconds: nil)   // 5 min in
        let basal5min = Int64(500_000 * 300 / 86_400)          // 0.5 mL/day for 300 s, rounded down
        #expect(s.programmedVolume.value == 10_000 + basal5min)  // half the 20 µL bolus
        s.advance(to: MonotonicInstant(nanoseconds: 3_600_000_000_000), utcNanoseconds: nil)
        #expect(s.programmedVolume.value == 10_000 + basal5min)  // nothing accrues while stopped
        s.setDelivering(true, at: MonotonicInstant(nanoseconds: 3_600_000_000_000), utcNanoseconds: nil)
        #expect(!s.bolusInProgress)
    }
}
