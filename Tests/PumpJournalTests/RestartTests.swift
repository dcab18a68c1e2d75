import Controller
import Foundation
@testable import PumpCore
import PumpFakes
import PumpPlant
import PumpHAL
@testable import PumpJournal
import PumpSync
import Synchronization
import Testing

typealias Rig = PumpController<FakeMotorDriver, FakePressureSensor, FakeBatteryGauge>

/// A rig on the fakes with a real SQLite journal in a temporary folder, driven in virtual time.
/// "Crashing" drops the controller (and whatever the journal had not committed) at any point;
/// restarting opens the same file again. The plant is the physical truth that survives.
final class CrashBench {
    let folder: URL
    var path: String { folder.appendingPathComponent("journal.sqlite").path }
    let plant: Plant
    static let utc0: Int64 = 1_767_225_600_000_000_000   // 2026-01-01T00:00Z
    static let baclofen = Drug(limits: DrugLibrary.baclofen, concentration: .microgramsPerMillilitre(2000))
    let prescription: Prescription

    init(microgramsPerDay: Int64 = 2000, bolus: PatientBolusRule? = nil) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var p = PlantParameters()
        p.encoderCountsPerStroke = 4
        plant = Plant(parameters: p, seed: 5)
        prescription = Prescription(drug: Self.baclofen, basal: .continuous(.microgramsPerDay(microgramsPerDay)),
                                    patientBolus: bolus, dailyCap: DrugLibrary.baclofen.maxDailyDose)
    }
    deinit { try? FileManager.default.removeItem(at: folder) }

    var configuration: ControllerConfiguration {
        ControllerConfiguration(prescription: prescription, strokeVolume: Nanolitres(250), encoderCountsPerStroke: 4,
                                reservoirCapacity: .millilitres(20), reservoirFill: .millilitres(20))
    }

    /// Starts (or restarts) at `utc`; monotonic time starts at zero as in a new process.
    func start(utc: Int64, boot: BootClock = .wallClock) throws -> (Rig, SQLiteJournal, RestoredState?) {
        let s = try SQLiteJournal.open(path: path, board: "test", therapy: "rx", reservoirFill: .millilitres(20), utcNanoseconds: utc, mode: .inline,
                                       boot: boot)
        let rig = Rig(configuration: configuration, motor: FakeMotorDriver(plant: plant), pressure: FakePressureSensor(plant: plant),
                      battery: FakeBatteryGauge(plant: plant), now: .zero, utcNanoseconds: utc, journal: s.journal, restoring: s.restored)
        return (rig, s.journal, s.restored)
    }

    /// Runs the dose loop and the watchdog for `seconds` from monotonic `from`, as the simulator does.
    @discardableResult
    /// `plantOffset`: the plant's time at the rig's monotonic zero (a restarted rig starts at zero
    /// while the plant's physics went on).
    /// `boot`: a test boot clock kept at `bootAtZero + t` as the run goes.
    func run(_ rig: Rig, from: Int64 = 0, seconds: Int64, utcAtZero: Int64, plantOffset: Int64 = 0, boot: TestBootClock? = nil,
             bootAtZero: Int64 = 0) async -> Int64 {
        var t = from
        var deadline = Int64(0)
        let end = from + seconds * 1_000_000_000
        while t < end {
            boot?.set(bootAtZero + t)
            plant.advance(to: plantOffset + t)
            if t >= deadline {
                deadline = await rig.doseLoopStep(now: MonotonicInstant(nanoseconds: t), utcNanoseconds: utcAtZero + t).nanoseconds
            }
            if t % 250_000_000 == 0 { await rig.watchdogStep(now: MonotonicInstant(nanoseconds: t), utcNanoseconds: utcAtZero + t) }
            t += 50_000_000
        }
        return t
    }
}

/// A boot clock the test moves (CLOCK_BOOTTIME's stand-in).
final class TestBootClock: Sendable {
    private let value: Atomic<Int64>
    let id: String
    init(id: String, at: Int64) {
        self.id = id
        value = Atomic(at)
    }
    func set(_ v: Int64) { value.store(v, ordering: .relaxed) }
    var clock: BootClock { BootClock(id: id, nanoseconds: { [self] in value.load(ordering: .relaxed) }) }
}

@Suite("Journal and restart rule")
struct RestartTests {
    /// Finding (issue 18, clock across a restart): past boluses were restored by the wall clock, so
    /// a clock stepped forward across a restart erased their lockout, count and 24 h cap, and one
    /// stepped back stretched them by the step. Now they are aged on the journal's timeline
    /// (`BootClock`) and on the wall clock, the shorter age counting: a patient bolus at t = 60 s,
    /// the session ends at 120 s, the restart comes 30 s later on the same boot: 90 s have passed
    /// on the timeline, so the 1 h lockout has 3 510 s left with the wall clock stepped forward.
    /// After a reboot the time down counts as none: 60 s have passed (bolus to last record), 3 540 s
    /// left. A wall clock stepped back makes the bolus look newer than that: the full 3 600 s.
    @Test func bolusLimitsSurviveAWallClockSteppedAcrossARestart() async throws {
        let s = Int64(1_000_000_000)
        let cases: [(name: String, wallStep: Int64, sameBoot: Bool, left: Int64)] = [
            ("forward 2 days", 2 * 86_400 * s, true, 3_510), ("back 1 day", -86_400 * s, true, 3_600),
            ("none", 0, true, 3_510), ("forward 3 days across a reboot", 3 * 86_400 * s, false, 3_540),
            ("back 1 day across a reboot", -86_400 * s, false, 3_600),
        ]
        for c in cases {
            let bench = try CrashBench(microgramsPerDay: 500,
                                       bolus: PatientBolusRule(dose: .micrograms(20), lockout: .hours(1), maxPerDay: 4, duration: .minutes(10)))
            let boot = TestBootClock(id: "boot-a", at: 5_000 * s)
            let (rig, journal, _) = try bench.start(utc: CrashBench.utc0, boot: boot.clock)
            await bench.run(rig, seconds: 60, utcAtZero: CrashBench.utc0, boot: boot, bootAtZero: 5_000 * s)
            boot.set(5_060 * s)
            #expect(await rig.handle(.patientBolus, now: MonotonicInstant(nanoseconds: 60 * s), utcNanoseconds: CrashBench.utc0 + 60 * s).accepted)
            await bench.run(rig, from: 60 * s, seconds: 60, utcAtZero: CrashBench.utc0, boot: boot, bootAtZero: 5_000 * s)
            boot.set(5_120 * s)
            _ = await rig.safeStop()
            rig.flushJournal(now: MonotonicInstant(nanoseconds: 120 * s), utcNanoseconds: CrashBench.utc0 + 120 * s)
            journal.close(confirmedStrokes: rig.snapshot().scheduler.commandedStrokes, utcNanoseconds: CrashBench.utc0 + 120 * s)

            let after = c.sameBoot ? TestBootClock(id: "boot-a", at: 5_150 * s) : TestBootClock(id: "boot-b", at: 20 * s)
            let restartUTC = CrashBench.utc0 + 150 * s + c.wallStep
            let (rig2, journal2, restored) = try bench.start(utc: restartUTC, boot: after.clock)
            defer { journal2.close(confirmedStrokes: nil, utcNanoseconds: restartUTC) }
            #expect(restored?.boluses.count == 1, "\(c.name)")
            let status = rig2.snapshot().status(at: .zero)
            #expect(status.nextPatientBolusIn == .seconds(c.left), "\(c.name): \(status.nextPatientBolusIn.map { "\($0.seconds) s" } ?? "no lockout")")
            let again = await rig2.handle(.patientBolus, now: .zero, utcNanoseconds: restartUTC)
            #expect(!again.accepted && again.reason?.contains("lockout") == true, "\(c.name): \(again.reason ?? "accepted")")
        }
    }

    /// From the outside attack on the timeline: editing `session.timeline_ns` moved a bolus hours
    /// into the past (its lockout gone, no warning), and values near Int64.max, or text, made
    /// pumpd trap at every start. Now the shorter of the timeline's and the wall clock's age
    /// counts, overflow is a damaged row, and a value of the wrong type is a named journal error
    /// (pumpd: a loss that keeps basal). The bolus is 140 s old by the honest wall clock.
    /// The second attack: extreme bolus and refill values trapped at restore or at the first
    /// status, and a bolus row with accepted = 2 or an unknown kind was read as "not a bolus"
    /// (lockout gone). Those are a damaged journal now ("-- loss": the open throws; pumpd makes it a
    /// loss that keeps basal).
    @Test(arguments: ["UPDATE session SET timeline_ns = 10000000000000 WHERE id = 2", "UPDATE session SET timeline_ns = 9223372036854775807 WHERE id = 2",
                      "UPDATE session SET boot_ns = -9223372036854775808 WHERE id = 2", "UPDATE session SET timeline_ns = -10000000000000 WHERE id = 1",
                      "-- loss\nUPDATE session SET timeline_ns = 'x' WHERE id = 2", "-- loss\nUPDATE progress SET confirmed_strokes = 'x'",
                      "-- loss\nDROP TRIGGER event_append_only_update; UPDATE event SET bolus_duration_ns = 9223372036854775807 WHERE type = 'bolus'",
                      "-- loss\nDROP TRIGGER event_append_only_update; UPDATE event SET utc_ns = 9223372036854775807 WHERE type = 'bolus'",
                      "-- loss\nDROP TRIGGER event_append_only_update; UPDATE event SET accepted = 2 WHERE type = 'bolus'",
                      "-- loss\nDROP TRIGGER event_append_only_update; UPDATE event SET bolus_kind = 'x' WHERE type = 'bolus'",
                      "-- loss\nINSERT INTO refill VALUES (2, 1, 0, 9223372036854775807, 1, -9223372036854775808, 1, 1, 1, 1, 0, 1)"])
    func anEditedTimelineNeitherErasesALockoutNorCrashes(_ edit: String) async throws {
        let s = Int64(1_000_000_000)
        let bench = try CrashBench(microgramsPerDay: 500,
                                   bolus: PatientBolusRule(dose: .micrograms(20), lockout: .hours(1), maxPerDay: 4, duration: .minutes(10)))
        let boot = TestBootClock(id: "boot-a", at: 5_000 * s)
        let (rig, journal, _) = try bench.start(utc: CrashBench.utc0, boot: boot.clock)
        boot.set(5_060 * s)
        #expect(await rig.handle(.patientBolus, now: MonotonicInstant(nanoseconds: 60 * s), utcNanoseconds: CrashBench.utc0 + 60 * s).accepted)
        rig.flushJournal(now: MonotonicInstant(nanoseconds: 60 * s), utcNanoseconds: CrashBench.utc0 + 60 * s)
        journal.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 60 * s)
        let second = TestBootClock(id: "boot-a", at: 5_170 * s)
        let (_, journal2, _) = try bench.start(utc: CrashBench.utc0 + 170 * s, boot: second.clock)
        journal2.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 170 * s)
        try JournalTestAccess.execute(path: bench.path, sql: edit)
        let third = TestBootClock(id: "boot-a", at: 5_200 * s)
        if edit.hasPrefix("-- loss") {
            #expect(throws: JournalError.self) { _ = try bench.start(utc: CrashBench.utc0 + 200 * s, boot: third.clock) }
            return
        }
        let (rig3, journal3, _) = try bench.start(utc: CrashBench.utc0 + 200 * s, boot: third.clock)
        defer { journal3.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 200 * s) }
        let left = rig3.snapshot().status(at: .zero).nextPatientBolusIn
        #expect((left?.value ?? 0) >= 3_460 * s, "\(edit): \(left.map { "\($0.seconds) s" } ?? "no lockout") left; 3460 s is the truth")
    }

    /// Four boluses a day: the count carries across a wall clock stepped forward a day on the same
    /// boot (the old rule forgot all four), and it frees up exactly 24 h of timeline after the first.
    @Test func theDailyCountSurvivesAWallClockSteppedForward() async throws {
        let s = Int64(1_000_000_000)
        let bench = try CrashBench(microgramsPerDay: 500,
                                   bolus: PatientBolusRule(dose: .micrograms(20), lockout: .minutes(15), maxPerDay: 4, duration: .minutes(1)))
        let boot = TestBootClock(id: "boot-a", at: 0)
        let (rig, journal, _) = try bench.start(utc: CrashBench.utc0, boot: boot.clock)
        for k in Int64(0)..<4 {
            let t = k * 1_200 * s
            await bench.run(rig, from: t, seconds: 1_200, utcAtZero: CrashBench.utc0, boot: boot)
            boot.set(t + 1_200 * s)
            #expect(await rig.handle(.patientBolus, now: MonotonicInstant(nanoseconds: t + 1_200 * s), utcNanoseconds: CrashBench.utc0 + t + 1_200 * s).accepted)
        }
        // Boluses at 1 200, 2 400, 3 600 and 4 800 s; the session ends at 4 800 s.
        rig.flushJournal(now: MonotonicInstant(nanoseconds: 4_800 * s), utcNanoseconds: CrashBench.utc0 + 4_800 * s)
        journal.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 4_800 * s)
        let later = TestBootClock(id: "boot-a", at: 6_000 * s)
        let (rig2, journal2, _) = try bench.start(utc: CrashBench.utc0 + 6_000 * s + 86_400 * s, boot: later.clock)
        defer { journal2.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0) }
        let next = rig2.snapshot().status(at: .zero).nextPatientBolusIn
        #expect(next == .seconds(1_200 + 86_400 - 6_000), "\(next.map { "\($0.seconds) s" } ?? "none")")
    }


    /// 2000 µg/day at 2000 µg/mL: 1 mL/day, a stroke every 21.6 s.
    @Test func cleanRestartContinuesEveryCounterAndFindsNothingUncertain() async throws {
        let bench = try CrashBench()
        let (rig, journal, restored) = try bench.start(utc: CrashBench.utc0)
        #expect(restored == nil)
        await bench.run(rig, seconds: 600, utcAtZero: CrashBench.utc0)
        let before = rig.snapshot()
        #expect(before.scheduler.commandedStrokes >= 27)
        _ = await rig.safeStop()
        journal.close(confirmedStrokes: before.scheduler.commandedStrokes, utcNanoseconds: CrashBench.utc0 + 600_000_000_000)

        let (rig2, _, restored2) = try bench.start(utc: CrashBench.utc0 + 601_000_000_000)
        let r = try #require(restored2)
        #expect(r.confirmedStrokes == before.scheduler.commandedStrokes && r.uncertainStrokes == 0)
        #expect(r.programmed >= before.scheduler.programmedVolume - Nanolitres(1) && r.state == .delivering)
        let after = rig2.snapshot()
        #expect(after.scheduler.commandedStrokes == before.scheduler.commandedStrokes)
        #expect(after.ledger.expected == before.ledger.expected)
        #expect(!after.alarms.isActive(.deliveryUncertain))
        #expect(after.events.contains { if case .restarted(let s) = $0.kind { s.uncertainStrokes == 0 } else { false } })
    }

    /// What the occlusion learner knows survives a crash: the restarted detector is armed at its
    /// first reading with the line it had learned, instead of learning afresh for 600 s from a
    /// line at steady state (which cannot tell τ from the resting pressure; swarm seed 108).
    @Test func theLearnedLineSurvivesACrash() async throws {
        let bench = try CrashBench(microgramsPerDay: 2000)
        let (rig, _, _) = try bench.start(utc: CrashBench.utc0)
        let t = await bench.run(rig, seconds: 3600, utcAtZero: CrashBench.utc0)
        let learned = try #require(rig.snapshot().occlusion.parameters?.line)
        // The default plant: τ 10 s, rise 1.25 mmHg (250 nL into 200 nL/mmHg).
        #expect(abs(learned.tauSeconds - 10) < 1 && abs(learned.strokeRiseMMHg - 1.25) < 0.1)
        // Crash (no close), restart 2 s later.
        let (rig2, _, restored) = try bench.start(utc: CrashBench.utc0 + t + 2_000_000_000)
        #expect(try #require(restored).lineMemory != nil)
        #expect(rig2.snapshot().occlusion.parameters == nil)
        await bench.run(rig2, seconds: 1, utcAtZero: CrashBench.utc0 + t + 2_000_000_000)
        let after = try #require(rig2.snapshot().occlusion.parameters?.line, "armed at the first reading")
        #expect(abs(after.tauSeconds - learned.tauSeconds) < 0.05 * learned.tauSeconds)
        #expect(abs(after.strokeRiseMMHg - learned.strokeRiseMMHg) < 0.05 * learned.strokeRiseMMHg)
    }

    /// The intent/confirm cycle, crashed at each point. Whatever the point: the plant never moves
    /// more than the programme plus one stroke, no stroke is repeated, counters never go back, and
    /// unconfirmed intents raise `delivery_uncertain`.
    enum CrashPoint: String, CaseIterable, Sendable {
        case beforeIntentCommitted, afterIntentBeforeMotor, afterMotorBeforeConfirm, afterConfirmBeforeCommit, afterCommit
    }

    @Test(arguments: CrashPoint.allCases)
    func crashAtEachPointOfTheCycle(_ point: CrashPoint) async throws {
        let bench = try CrashBench()
        let (rig, journal, _) = try bench.start(utc: CrashBench.utc0)
        let t = await bench.run(rig, seconds: 300, utcAtZero: CrashBench.utc0)
        let confirmedBefore = rig.snapshot().scheduler.commandedStrokes
        let durableBefore = journal.durableIntentThrough
        // One more cycle by hand, interrupted at `point`.
        let next = confirmedBefore + 1
        switch point {
        case .beforeIntentCommitted:
            journal.dropPending()              // the intent never reached storage; the motor never moved
        case .afterIntentBeforeMotor:
            journal.requestIntent(throughStroke: max(next, durableBefore), utcNanoseconds: CrashBench.utc0 + t)
            journal.dropPending()
        case .afterMotorBeforeConfirm:
            journal.requestIntent(throughStroke: max(next, durableBefore), utcNanoseconds: CrashBench.utc0 + t)
            try await FakeMotorDriver(plant: bench.plant).step(count: 1, direction: .forward)
            journal.dropPending()
        case .afterConfirmBeforeCommit:
            // A full step whose confirmation and checkpoint are still pending.
            var deadline = rig.snapshot().nextDoseDeadline(after: MonotonicInstant(nanoseconds: t)).nanoseconds
            while rig.snapshot().scheduler.commandedStrokes == confirmedBefore {
                bench.plant.advance(to: deadline)
                deadline = await rig.doseLoopStep(now: MonotonicInstant(nanoseconds: deadline), utcNanoseconds: CrashBench.utc0 + deadline).nanoseconds
            }
            journal.dropPending()
        case .afterCommit:
            await bench.run(rig, from: t, seconds: 30, utcAtZero: CrashBench.utc0)
        }
        let moved = bench.plant.totals.strokes
        let durable = journal.durableIntentThrough
        // The crash: the controller is gone without a shutdown. Restart 10 minutes later.
        let outage: Int64 = 600_000_000_000
        let restartUTC = CrashBench.utc0 + t + 30_000_000_000 + outage
        let (rig2, _, restored) = try bench.start(utc: restartUTC)
        let r = try #require(restored)
        #expect(r.intendedStrokes == durable, "every durable intent is found")
        #expect(Int64(moved) <= r.intendedStrokes, "the motor never moved beyond a durable intent")
        #expect(r.confirmedStrokes >= confirmedBefore || point == .afterConfirmBeforeCommit)
        let snap = rig2.snapshot()
        #expect(snap.scheduler.commandedStrokes == r.intendedStrokes, "uncertain strokes count as delivered")
        #expect(snap.alarms.isActive(.deliveryUncertain) == (r.uncertainStrokes > 0))
        // The outage is not caught up: right after the restart nothing is due.
        let due = await rig2.doseLoopStepOutcome(now: .zero, utcNanoseconds: restartUTC).outcome
        #expect(due.commandedStrokes == r.intendedStrokes)
        // An hour later: the plant moved no more than the programme (+1 stroke) over both runs.
        await bench.run(rig2, seconds: 3600, utcAtZero: restartUTC)
        let s2 = rig2.snapshot()
        #expect(bench.plant.totals.strokes * 250 <= s2.scheduler.programmedVolume.value + 250)
        #expect(s2.scheduler.commandedStrokes >= r.intendedStrokes)
    }

    @Test func aLatchedHaltSurvivesACrash() async throws {
        let bench = try CrashBench()
        let (rig, _, _) = try bench.start(utc: CrashBench.utc0)
        bench.plant.apply(.motorStall)
        await bench.run(rig, seconds: 120, utcAtZero: CrashBench.utc0)
        #expect(rig.snapshot().state == .halted)
        let (rig2, _, restored) = try bench.start(utc: CrashBench.utc0 + 200_000_000_000)
        #expect(restored?.state == .halted)
        #expect(restored?.activeAlarms.contains { $0.type == .motionMismatch } == true)
        let s = rig2.snapshot()
        #expect(s.state == .halted && s.alarms.isActive(.motionMismatch))
        bench.plant.apply(.clearMotorStall)
        let strokes = bench.plant.totals.strokes
        await bench.run(rig2, seconds: 600, utcAtZero: CrashBench.utc0 + 200_000_000_000)
        #expect(bench.plant.totals.strokes == strokes, "a restart never resumes a halted pump")
    }

    /// The daemon's journal really syncs every commit: SQLite itself reports FULL (2) on the
    /// writer. GRDB's WAL set-up (before the journal left WAL) had silently lowered it to NORMAL (found by the power-cut
    /// campaign in the HIL guest: a cut lost every commit since provisioning).
    @Test func theDaemonsJournalSyncsEveryCommit() throws {
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        defer { s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0) }
        #expect(s.journal.synchronousLevel == 2)
    }

    /// A journal deleted, or replaced by another file, under a running pumpd: the rows went on
    /// into the open (unlinked) file, unnoticed until the next start found the journal missing
    /// (outside attack, finding F11). Now the first commit after it says so (`failure`, which
    /// the watchdog turns into `journal_fault`), and it stays said.
    /// Its rollback journal deleted is one too: a crash during a commit would then leave the
    /// main file half-written with nothing to roll it back (storage attack).
    @Test(arguments: ["deleted", "replaced", "rollback deleted"]) func aJournalDeletedOrReplacedUnderThePumpIsAFailure(_ how: String) async throws {
        let replaced = how == "replaced", rollback = how == "rollback deleted"
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        defer { s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0) }
        s.journal.requestIntent(throughStroke: 1, utcNanoseconds: CrashBench.utc0 + 1)
        #expect(await s.journal.awaitIntent(throughStroke: 1))
        #expect(s.journal.failure == nil)
        try FileManager.default.removeItem(atPath: bench.path + (rollback ? "-journal" : ""))
        if replaced { #expect(FileManager.default.createFile(atPath: bench.path, contents: Data("an older copy".utf8))) }
        for stroke in Int64(2)...3 {
            s.journal.requestIntent(throughStroke: stroke, utcNanoseconds: CrashBench.utc0 + stroke)
            _ = await s.journal.awaitIntent(throughStroke: stroke)
            let failure = try #require(s.journal.failure, "no failure after commit \(stroke)")
            #expect(failure.contains(replaced ? "replaced by another file" : "deleted")
                    && failure.contains(rollback ? "nothing to roll it back" : "lost at the next start"), "\(failure)")
        }
        // What lands there now is not durable: a bolus waiting for its record is not given, and a
        // command's counter does not count as recorded (outside attack: a bolus whose record went
        // into the replaced file was given, given again after a restart, and its saved request
        // replayed).
        s.journal.requestIntent(throughStroke: 4, utcNanoseconds: CrashBench.utc0 + 4)
        #expect(await s.journal.awaitCommit() == false)
        #expect(s.journal.advanceCommandCounter(role: "patient", to: 7, utcNanoseconds: CrashBench.utc0) == .unavailable)
    }

    /// A counter admitted in memory during a journal fault (`CounterFloor`) is written by the
    /// writer's next successful commit, the same transaction as the events of its command; never
    /// lowered by an older one. (Outside attack: with the floor written by a separate once-a-second
    /// task, a restart within that second accepted the commands' saved requests again.)
    @Test func aCounterAdmittedInMemoryGoesWithTheNextCommit() async throws {
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        defer { s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0) }
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 30, utcNanoseconds: CrashBench.utc0) == .advanced)
        s.journal.recordCounterLater(role: "clinician", counter: 50, utcNanoseconds: CrashBench.utc0)
        s.journal.recordCounterLater(role: "patient", counter: 9, utcNanoseconds: CrashBench.utc0)
        #expect(await s.journal.awaitCommit())
        #expect(s.journal.lastCommandCounter(role: "clinician") == 50 && s.journal.lastCommandCounter(role: "patient") == 9)
        s.journal.recordCounterLater(role: "clinician", counter: 40, utcNanoseconds: CrashBench.utc0)
        #expect(await s.journal.awaitCommit())
        #expect(s.journal.lastCommandCounter(role: "clinician") == 50)
        #expect(s.journal.advanceCommandCounter(role: "clinician", to: 50, utcNanoseconds: CrashBench.utc0) == .stale(last: 50))
    }

    /// Nothing is moved aside as lost while the storage fails to read it: the read-back runs again
    /// right before the move (outside attack: a block that read well at the first read-back and
    /// failed at SQLite's read made an intact journal "malformed", and it went aside as lost).
    /// `/proc/self/mem` fails its first read with EIO, as a failing block does.
    @Test func nothingIsTakenForLostWhileTheStorageCannotReadIt() throws {
        do {
            _ = try JournalStorage.replaceLost(path: "/proc/self/mem", reason: "malformed", utcNanoseconds: CrashBench.utc0)
            Issue.record("taken for lost")
        } catch {
            #expect(error.storage && error.message.contains("Input/output error"), "\(error.message)")
        }
    }

    /// A journal whose bytes the storage fails to read is the storage's refusal, never a loss
    /// (storage attack: one unreadable block after a reboot made SQLite call an intact journal
    /// malformed, and it was moved aside as lost). `/proc/self/mem` is a regular file whose first
    /// read fails with EIO, as a failing block does; the HIL storage case does it with a
    /// device-mapper `error` block under a real journal (`storage/read-error-at-start-refused`).
    @Test func aJournalTheStorageCannotReadIsNotALoss() throws {
        do {
            _ = try SQLiteJournal.open(path: "/proc/self/mem", board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon, provisioning: .required)
            Issue.record("opened")
        } catch {
            #expect(error.storage)
            #expect(error.message.contains("reading /proc/self/mem: Input/output error") && error.message.contains("not taken for a lost journal"),
                    "\(error.message)")
        }
    }

    /// Storage that stalls (a frozen filesystem, a card that stops answering) fails no write: the
    /// writes just do not return. Storage attack (2026-12-04): no `journal_fault` ever rose, and a
    /// bolus pressed 5 s into a freeze was accepted. Now a write outstanding for `stallLimit` is
    /// a failure (the watchdog reads it every tick); reading it ends every wait for a commit as
    /// failed (the bolus waiting for its record is not given), and a command's counter is not
    /// waited for (`.unavailable`: status, suspend and resume run on memory). A pause shorter than
    /// the limit is no failure. The stall is a write held inside the storage's queue; the clock it
    /// is judged on is moved by hand.
    @Test func aStalledStorageIsAFailureAndABolusWaitingForItsRecordIsNotGiven() async throws {
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        let j = s.journal
        defer { j.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0) }
        let clock = Locked<UInt64>(1_000_000_000)
        j.uptimeNanoseconds = { clock.withLock { $0 } }
        #expect(j.stallLimit == SafetyLimits().journalStallLimit)
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread { _ = try? j.write { _ in entered.signal(); release.wait() } }.start()
        entered.wait()
        // An intent and then a bolus's commit queue behind the held write.
        j.requestIntent(throughStroke: 5, utcNanoseconds: CrashBench.utc0 + 1)
        let bolus = Task { await j.awaitCommit() }
        clock.withLock { $0 += 2_000_000_000 }
        #expect(j.failure == nil, "a 2 s pause is an SD card's own, not a failure")
        clock.withLock { $0 += 1_000_000_000 }
        let failure = try #require(j.failure, "no failure after the stall limit")
        #expect(failure.hasPrefix("stalled") && failure.contains("3 s"), "\(failure)")
        #expect(await bolus.value == false, "the bolus's wait for its record must end as failed")
        #expect(await j.awaitCommit() == false, "a new wait during the stall ends at once")
        #expect(j.advanceCommandCounter(role: "clinician", to: 10, utcNanoseconds: CrashBench.utc0) == .unavailable)
        #expect(j.durableIntentThrough < 5)
        // The storage answers again: what waited lands, and the failure is gone.
        release.signal()
        #expect(await j.awaitIntent(throughStroke: 5))
        #expect(j.failure == nil && j.writesInProgress == 0)
        #expect(j.advanceCommandCounter(role: "clinician", to: 10, utcNanoseconds: CrashBench.utc0) == .advanced)
    }

    /// The daemon's journal maps nothing of its storage into memory. With WAL, SQLite's index
    /// (`-shm`) was a shared map of a file on the journal's filesystem: when that storage stalled,
    /// a commit's page fault held the process's mmap_lock and the whole of pumpd stopped, feeder
    /// and alarm included (HIL under ASan, frozen filesystem). Judged by the kernel: no line of
    /// /proc/self/maps names the journal or a file beside it, and no -wal or -shm exists.
    @Test func theDaemonsJournalIsNeverMemoryMapped() async throws {
        let bench = try CrashBench()
        let s = try SQLiteJournal.open(path: bench.path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon)
        defer { s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0) }
        for stroke in Int64(1)...20 {
            s.journal.requestIntent(throughStroke: stroke, utcNanoseconds: CrashBench.utc0 + stroke)
            #expect(await s.journal.awaitIntent(throughStroke: stroke))
        }
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        #expect(!maps.contains(bench.folder.lastPathComponent), "\(maps.split(separator: "\n").filter { $0.contains(bench.folder.lastPathComponent) })")
        for suffix in ["-wal", "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: bench.path + suffix), "\(suffix) exists")
        }
    }

    /// A writer that dies mid-commit leaves a hot rollback journal beside the file. That is
    /// SQLite's normal recovery, never a loss: the probe, `pumpctl log` and the next open roll the
    /// unfinished commit back and find what was committed before it. The hot pair is made by
    /// copying the file and its `-journal` while a transaction that has already spilled into the
    /// main file is open (a process killed at that instant leaves the same two files).
    @Test func aHotRollbackJournalIsRecoveredNotLost() throws {
        let (bench, copy, before) = try hotPair()
        #expect(try JournalReader.events(path: copy).count == before, "the unfinished commit's rows are gone, the committed ones kept")
        let again = try reopen(copy)
        defer { again.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0 + 1_000_000_000); _ = bench }
        #expect(again.loss == nil && again.restored != nil, "\(String(describing: again.loss))")
    }

    /// A damaged journal with a hot `-journal` beside it is moved aside as it was found, its
    /// `-journal` with it (outside attack: the start's probe rolled the unfinished commit into the
    /// damaged file before moving it aside, and the `-journal` was gone from the evidence).
    @Test func aDamagedHotJournalIsKeptAsFound() throws {
        let (bench, copy, _) = try hotPair()
        // The event table's root page, which the unfinished commit (into `provision`) never
        // touched, so rolling it back cannot mend it (read from the original: opening the copy
        // would roll its hot journal back).
        let (offset, pageSize) = try JournalTestAccess.rootPageOffset(path: bench.path, table: "event")
        let h = try #require(FileHandle(forUpdatingAtPath: copy))
        try h.seek(toOffset: UInt64(offset))
        h.write(Data(repeating: 0xFF, count: min(100, pageSize)))
        try h.close()
        let found = try Data(contentsOf: URL(fileURLWithPath: copy)), foundJournal = try Data(contentsOf: URL(fileURLWithPath: copy + "-journal"))
        // A reader (pumpctl log/audit) changes nothing either (outside attack: it rolled the
        // remains back in place and deleted their -journal).
        _ = try? JournalReader.events(path: copy)
        _ = try? JournalReader.audit(path: copy, lockout: .minutes(10))
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == found && Data(contentsOf: URL(fileURLWithPath: copy + "-journal")) == foundJournal,
                "a reader changed the hot pair")
        let again = try reopen(copy)
        defer { again.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0 + 1_000_000_000); _ = bench }
        let loss = try #require(again.loss)
        let kept = try #require(loss.evidence)
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == found, "the damaged file as it was found")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept + "-journal")) == foundJournal, "its -journal with it")
    }

    /// A journal with one clean session, copied with its hot `-journal` while a transaction that
    /// has spilled into the main file is open: the copy's path, and the events committed before.
    private func hotPair() throws -> (bench: CrashBench, copy: String, committedEvents: Int) {
        let bench = try CrashBench()
        try JournalStorage.provision(path: bench.path, utcNanoseconds: CrashBench.utc0)
        let s = try SQLiteJournal.open(path: bench.path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                                       utcNanoseconds: CrashBench.utc0, mode: .daemon, provisioning: .required)
        s.journal.close(confirmedStrokes: 0, utcNanoseconds: CrashBench.utc0)
        let before = try JournalReader.events(path: bench.path).count
        let copy = bench.folder.appendingPathComponent("copy.sqlite").path
        try JournalTestAccess.withSpilledTransaction(path: bench.path) {
            #expect((try? FileManager.default.attributesOfItem(atPath: bench.path + "-journal")[.size] as? Int) ?? 0 > 0, "no hot journal to copy")
            for suffix in ["", "-journal"] { try FileManager.default.copyItem(atPath: bench.path + suffix, toPath: copy + suffix) }
        }
        return (bench, copy, before)   // the bench keeps its folder while it lives
    }

    private func reopen(_ path: String) throws -> SQLiteJournal.Start {
        try SQLiteJournal.open(path: path, board: "test", therapy: "rx", reservoirFill: .millilitres(20),
                               utcNanoseconds: CrashBench.utc0 + 1_000_000_000, mode: .daemon, provisioning: .required)
    }

    /// A second writer's session (pumpd B before issue 16's lock) left a progress row an hour
    /// behind the intents of the pump that went on running. Before, the restore took that row and
    /// the dose loop issued nothing for an hour while delivering; now the programme continues from
    /// the intents less the lead. Hand numbers: 1 mL/day at 250 nL a stroke is one stroke every
    /// 21.6 s, so 2 000 s accrue 92.6 strokes; the lead is 24 + 1 + 4 = 29 strokes (2 mL/h over
    /// 11 s is 6 111 nL); so between 63 and 93 strokes reach the plant.
    @Test func aStaleProgressRowNeverStallsDelivery() async throws {
        let bench = try CrashBench()
        let (rig, journal, _) = try bench.start(utc: CrashBench.utc0)
        await bench.run(rig, seconds: 60, utcAtZero: CrashBench.utc0)
        // The second writer: a session and a progress row, then gone.
        let stale = try SQLiteJournal.open(path: bench.path, board: "b", therapy: "rx", reservoirFill: .millilitres(20),
                                           utcNanoseconds: CrashBench.utc0 + 60_000_000_000, mode: .inline)
        stale.journal.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 60_000_000_000)
        await bench.run(rig, from: 60_000_000_000, seconds: 3600, utcAtZero: CrashBench.utc0)
        _ = journal   // the first pump crashes here (never closed)
        let restartUTC = CrashBench.utc0 + 3_700_000_000_000
        let (rig2, _, restored) = try bench.start(utc: restartUTC)
        let r = try #require(restored)
        #expect(r.uncertainStrokes > 150, "the stale row: \(r.uncertainStrokes)")
        let before = bench.plant.totals.strokes
        await bench.run(rig2, seconds: 2000, utcAtZero: restartUTC, plantOffset: 3_700_000_000_000)
        let delivered = bench.plant.totals.strokes - before
        #expect(delivered >= 63 && delivered <= 93, "\(delivered) strokes in 2 000 s")
        #expect(rig2.snapshot().state == .delivering)
        #expect(rig2.snapshot().alarms.isActive(.deliveryUncertain), "the uncertain strokes are announced")
    }

    @Test func anInterruptedBolusIsNotResumedAndItsLockoutCarriesOver() async throws {
        let bench = try CrashBench(microgramsPerDay: 500,
                                   bolus: PatientBolusRule(dose: .micrograms(20), lockout: .hours(1), maxPerDay: 4, duration: .minutes(10)))
        let (rig, _, _) = try bench.start(utc: CrashBench.utc0)
        await bench.run(rig, seconds: 60, utcAtZero: CrashBench.utc0)
        let accepted = await rig.handle(.patientBolus, now: MonotonicInstant(nanoseconds: 60_000_000_000), utcNanoseconds: CrashBench.utc0 + 60_000_000_000)
        #expect(accepted.accepted)
        await bench.run(rig, from: 60_000_000_000, seconds: 60, utcAtZero: CrashBench.utc0)
        // Crash 1 minute into the 10-minute bolus; restart 2 minutes later.
        let restartUTC = CrashBench.utc0 + 240_000_000_000
        let (rig2, _, restored) = try bench.start(utc: restartUTC)
        #expect(restored?.boluses.count == 1)
        let s = rig2.snapshot()
        #expect(!s.scheduler.bolusInProgress)
        #expect(s.events.contains { if case .restarted(let r) = $0.kind { r.interruptedBolus } else { false } })
        let again = await rig2.handle(.patientBolus, now: .zero, utcNanoseconds: restartUTC)
        #expect(!again.accepted && again.reason?.contains("lockout") == true)
        // The rest of the bolus is never delivered: an hour at basal only.
        let before = bench.plant.totals.strokes
        await bench.run(rig2, seconds: 3600, utcAtZero: restartUTC)
        let basalPerHour = 500.0 / 2000 * 1_000_000 / 24 / 250   // strokes
        #expect(Double(bench.plant.totals.strokes - before) <= basalPerHour + 1)
    }

    /// The bolus history: request and acceptance, then its end, completed or cut short by a halt.
    @Test func bolusHistoryRecordsTheEnd() async throws {
        let bench = try CrashBench(microgramsPerDay: 500)
        let (rig, journal, _) = try bench.start(utc: CrashBench.utc0)
        let ten = MonotonicInstant(nanoseconds: 10_000_000_000)
        #expect(await rig.handle(.clinicianBolus(dose: .micrograms(2), duration: .seconds(60)), now: ten, utcNanoseconds: CrashBench.utc0 + ten.nanoseconds).accepted)
        await bench.run(rig, from: 10_000_000_000, seconds: 120, utcAtZero: CrashBench.utc0)
        let again = MonotonicInstant(nanoseconds: 130_000_000_000)
        #expect(await rig.handle(.clinicianBolus(dose: .micrograms(2), duration: .seconds(60)), now: again, utcNanoseconds: CrashBench.utc0 + again.nanoseconds).accepted)
        bench.plant.apply(.motorStall)
        await bench.run(rig, from: 130_000_000_000, seconds: 60, utcAtZero: CrashBench.utc0)
        journal.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 190_000_000_000)
        let ends = try JournalReader.events(path: bench.path, types: ["bolus_ended"]).map(\.detail)
        // 2 µg at 2000 µg/mL is 1 µL.
        #expect(ends.count == 2 && ends[0] == "completed: 1 µL of 1 µL" && ends[1].hasPrefix("cut short: "), "\(ends)")
        #expect(try JournalReader.events(path: bench.path, types: ["bolus"]).count == 2)
    }

    @Test func theEventLogIsAppendOnlyAndFilterable() async throws {
        let bench = try CrashBench()
        let (rig, journal, _) = try bench.start(utc: CrashBench.utc0)
        bench.plant.apply(.motorStall)
        await bench.run(rig, seconds: 120, utcAtZero: CrashBench.utc0)
        journal.close(confirmedStrokes: nil, utcNanoseconds: CrashBench.utc0 + 120_000_000_000)
        let all = try JournalReader.events(path: bench.path)
        #expect(all.map(\.type).starts(with: ["program", "session"]))
        #expect(all.contains { $0.type == "alarm_raised" && $0.detail.hasPrefix("motion_mismatch") })
        #expect(all.contains { $0.type == "halted" })
        let alarms = try JournalReader.events(path: bench.path, types: ["alarm_raised"])
        #expect(!alarms.isEmpty && alarms.allSatisfy { $0.type == "alarm_raised" })
        let late = try JournalReader.events(path: bench.path, fromUTC: CrashBench.utc0 + 1)
        #expect(late.count < all.count)
        let audit = try JournalReader.audit(path: bench.path, lockout: .hours(1))
        #expect(audit.integrity == "ok" && audit.countersMonotonic && audit.sessions == 1)
        // Append-only from anyone's side: the database refuses edits of the log.
        #expect(throws: (any Error).self) { try JournalTestAccess.deleteEvents(path: bench.path) }
    }
}
