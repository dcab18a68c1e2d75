import Controller
import Foundation
import PumpCore
import PumpFakes
import PumpPlant
import PumpJournal
import Testing

/// Program changes, refills and the bridge are in the journal before the command answers, so a
/// crash right after one continues with it.
@Suite("Journal: programs and refills")
struct ProgramJournalTests {
    @Test func aRefillWithABridgeSurvivesACrash() async throws {
        let bench = try CrashBench(microgramsPerDay: 1000)    // 0.5 mL/day at 2000 µg/mL
        let (rig, _, _) = try bench.start(utc: CrashBench.utc0)
        var t = await bench.run(rig, seconds: 600, utcAtZero: CrashBench.utc0)
        // 2000 → 1000 µg/mL: the plan doubles after a bridge of 0.25 mL (12 h at 0.5 mL/day).
        let o = await rig.handle(.refill(RefillRequest(withdrawn: Nanolitres(19_990_000), added: .millilitres(18),
                                                        concentration: .microgramsPerMillilitre(1000))),
                                 now: MonotonicInstant(nanoseconds: t), utcNanoseconds: CrashBench.utc0 + t)
        #expect(o.accepted)
        #expect(await rig.handle(.setLowReservoir(.millilitres(3)), now: MonotonicInstant(nanoseconds: t), utcNanoseconds: CrashBench.utc0 + t).accepted)
        t = await bench.run(rig, from: t, seconds: 3600, utcAtZero: CrashBench.utc0)
        let before = rig.snapshot()
        // Crash: the controller is dropped without closing the journal.
        let (rig2, _, restored) = try bench.start(utc: CrashBench.utc0 + t)
        let r = try #require(restored)
        #expect(r.prescription?.drug.concentration == .microgramsPerMillilitre(1000))
        #expect(r.lowReservoir == .millilitres(3))
        #expect(r.reservoirFilled == .millilitres(18) && r.refills.count == 1)
        #expect(r.refills[0].withdrawn == Nanolitres(19_990_000))
        let left = try #require(r.bridge)
        #expect(left.concentration == .microgramsPerMillilitre(2000))
        // The old drug still to push: 0.25 mL less the hour at 0.5 mL/day (20 833 nL), as of the
        // last checkpoint (the dose loop's last wake: at most 5 s, 29 nL, before the crash).
        #expect(left.remaining.value >= 250_000 - 20_834 && left.remaining.value <= 250_000 - 20_833 + 30, "\(left.remaining)")
        let after = rig2.snapshot()
        #expect(after.prescription.drug.concentration == .microgramsPerMillilitre(1000) && after.lowReservoirLevel == .millilitres(3))
        #expect(after.scheduler.bridge?.concentration == .microgramsPerMillilitre(2000))
        // The ledger continues from the new fill: what the crash may have counted as delivered at most.
        let uncertain = Nanolitres(250) * r.uncertainStrokes
        #expect(after.ledger.expected == before.ledger.expected - uncertain)
    }

    @Test func theLastAcceptedCounterIsDurable() throws {
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "t", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 5, utcNanoseconds: CrashBench.utc0) == .advanced)
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 5, utcNanoseconds: CrashBench.utc0) == .stale(last: 5))
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 4, utcNanoseconds: CrashBench.utc0) == .stale(last: 5))
        #expect(s.journal.advanceCommandCounter(role: "patient", to: 1, utcNanoseconds: CrashBench.utc0) == .advanced)
        s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0)
        let again = try SQLiteJournal.open(path: bench.path, board: "t", therapy: "rx", reservoirFill: .millilitres(20),
                                           utcNanoseconds: CrashBench.utc0 + 1, mode: .daemon)
        #expect(again.journal.lastCommandCounter(role: "clinician") == 5 && again.journal.lastCommandCounter(role: "patient") == 1)
        again.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0 + 2)
    }

    /// The store's repair (the command interface passes CounterRule.repaired) is written in the same
    /// transaction, so a stored 2^53−1 is gone for good even when the request in hand is refused.
    @Test func aRepairedCounterIsDurable() throws {
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "t", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 9_007_199_254_740_991, utcNanoseconds: CrashBench.utc0) == .advanced)
        let clock: Int64 = 1_000
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 999, utcNanoseconds: CrashBench.utc0,
                                                repair: { $0 > 1_000_000 ? clock : $0 }) == .stale(last: clock))
        #expect(s.journal.lastCommandCounter(role: "clinician") == clock)
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 1_001, utcNanoseconds: CrashBench.utc0,
                                                repair: { $0 > 1_000_000 ? clock : $0 }) == .advanced)
        s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0)
    }
}
