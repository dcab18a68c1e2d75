import Testing
@testable import PumpCore
import PumpFakes
import PumpPlant

@Suite("Units")
struct UnitsTests {
    @Test func volumeConversions() {
        #expect(Nanolitres.millilitres(2).value == 2_000_000)
        #expect(Nanolitres.microlitres(250).value == 250_000)
        #expect(Nanolitres(1_997_750).microlitres == 1997.75)
        #expect(Nanolitres(250) + Nanolitres(250) == Nanolitres(500))
        #expect(Nanolitres(250) * 4 == Nanolitres(1000))
    }

    @Test func concentrationRoundsDownNeverUp() {
        let c = NanogramsPerMillilitre.microgramsPerMillilitre(500)   // 500 µg/mL = 500 ng/µL
        #expect(c.volume(of: .micrograms(10)) == .microlitres(20))
        #expect(c.dose(in: .microlitres(20)) == .micrograms(10))
        // 1 ng at 3 µg/mL is 333.33 nL: rounded down so the pump never holds more drug than asked.
        #expect(NanogramsPerMillilitre.microgramsPerMillilitre(3).volume(of: Nanograms(1)) == Nanolitres(333))
        // Morphine at its maximum concentration and a year of its maximum dose does not overflow.
        let morphine = NanogramsPerMillilitre.microgramsPerMillilitre(20_000)
        #expect(morphine.volume(of: Nanograms(15_000_000 * 365)).value == 273_750_000)
    }

    @Test func pressureAndBattery() {
        #expect(CentiMMHg(mmHg: 1.25).value == 125)
        #expect(CentiMMHg(125).mmHg == 1.25)
        #expect(PerMille(percent: 15).value == 150)
    }

    @Test func decimalFormatting() {
        #expect(Decimal3.format(1_997_750) == "1997.75")
        #expect(Decimal3.format(1_000) == "1")
        #expect(Decimal3.format(5) == "0.005")
        #expect(Decimal3.format(-1_500) == "-1.5")
    }

    @Test(arguments: [("00:00", 0), ("08:30", 510), ("23:59", 1439)])
    func timeOfDayParses(text: String, minutes: Int) {
        #expect(TimeOfDay(parsing: text)?.minutes == minutes)
        #expect(TimeOfDay(parsing: text)?.description == text)
    }

    @Test(arguments: ["24:00", "8:00", "08:60", "0800", "08:0a", "", " 08:00", "08:00:00"])
    func timeOfDayRefuses(text: String) {
        #expect(TimeOfDay(parsing: text) == nil)
    }
}

/// From the outside attack: `low_reservoir_ml`, `withdrawn_ml` and `dead_space_ml` of 1e-300 or
/// 5e-324 passed the three-decimals rule (as zero) where 0.0005 was refused.
@Suite("Decimal inputs")
struct DecimalInputTests {
    @Test(arguments: [1e-300, Double.leastNonzeroMagnitude, 1e-10, 0.0004])
    func aNonZeroAmountThatRoundsToZeroIsRefused(_ v: Double) {
        for allowZero in [true, false] {
            var problems: [FieldError] = []
            #expect(FixedPointInput.thousandths(v, path: "x_ml", max: 100, allowZero: allowZero, into: &problems) == nil)
            #expect(problems.first?.path == "x_ml", "\(v) allowZero \(allowZero): \(problems)")
        }
        var none: [FieldError] = []
        #expect(FixedPointInput.thousandths(0, path: "x_ml", max: 100, allowZero: true, into: &none) == 0 && none.isEmpty)
        #expect(FixedPointInput.thousandths(0.001, path: "x_ml", max: 100, allowZero: true, into: &none) == 1 && none.isEmpty)
    }
}

@Suite("Time of day across offset changes")
struct NextOccurrenceTests {
    // 2026-03-29: Europe/Berlin springs forward at 01:00 UTC (02:00 CET -> 03:00 CEST).
    static let springDay = UTCSeconds(1_774_742_400)            // 2026-03-29T00:00Z
    static let spring = OneChangeZone.berlinSpring2026
    // 2026-10-25: falls back at 01:00 UTC (03:00 CEST -> 02:00 CET).
    static let fall = OneChangeZone.berlinFall2026

    @Test func plainDay() {
        let z = FixedOffsetZone()
        let t = z.nextOccurrence(of: TimeOfDay(parsing: "08:00")!, after: Self.springDay)
        #expect(t.value == Self.springDay.value + 8 * 3600)
        // Strictly after: at 08:00 itself, the next one is tomorrow.
        #expect(z.nextOccurrence(of: TimeOfDay(parsing: "08:00")!, after: t).value == t.value + 86_400)
    }

    @Test func skippedTimeStartsAtTheJump() {
        // 02:30 local does not exist that day: it is reached when the clock jumps, at 01:00 UTC.
        let t = Self.spring.nextOccurrence(of: TimeOfDay(parsing: "02:30")!, after: UTCSeconds(Self.springDay.value - 3600))
        #expect(t == Self.spring.transition)
        // 08:00 CEST is 06:00 UTC.
        let e = Self.spring.nextOccurrence(of: TimeOfDay(parsing: "08:00")!, after: Self.spring.transition)
        #expect(e.value == Self.springDay.value + 6 * 3600)
    }

    @Test func repeatedTimeIsReachedOnceAtItsFirstOccurrence() {
        let midnightLocal = UTCSeconds(1_792_879_200)   // 2026-10-25T00:00 CEST = 2026-10-24T22:00Z
        let first = Self.fall.nextOccurrence(of: TimeOfDay(parsing: "02:30")!, after: midnightLocal)
        #expect(first.value == 1_792_888_200)            // 02:30 CEST = 00:30Z
        // From there, the next 08:00 is 08:00 CET (07:00Z), not the repeated 02:30.
        let next = Self.fall.nextOccurrence(of: TimeOfDay(parsing: "08:00")!, after: first)
        #expect(next.value == 1_792_911_600)
    }

    /// Swarm seed 55 (dosing): from 02:45 CEST, before the change, the next 02:30 is tomorrow's,
    /// not the repeated 02:30 CET of the same morning (which re-ran an earlier flex step).
    @Test func aRepeatedTimeAlreadyPassedDoesNotComeAgainAfterTheChange() {
        let quarterToThreeCEST = UTCSeconds(1_792_889_100)   // 00:45Z
        let next = Self.fall.nextOccurrence(of: TimeOfDay(parsing: "02:30")!, after: quarterToThreeCEST)
        #expect(next.value == 1_792_888_200 + 86_400 + 3600)   // tomorrow 02:30 CET = 01:30Z on the 26th
        // And looking back from inside the repeated hour finds the first 02:30, not a second one.
        let inRepeat = UTCSeconds(1_792_891_800)              // 01:30Z = 02:30 CET
        #expect(Self.fall.lastOccurrence(of: TimeOfDay(parsing: "02:30")!, atOrBefore: inRepeat).value == 1_792_888_200)
        // Spring: 02:00 and 03:00 both start at the jump.
        for text in ["02:00", "03:00"] {
            #expect(Self.spring.lastOccurrence(of: TimeOfDay(parsing: text)!, atOrBefore: Self.spring.transition) == Self.spring.transition)
        }
    }
}
