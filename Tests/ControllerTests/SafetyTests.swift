import Testing
import RealModule
import PumpCore
import PumpHAL
import PumpFakes
import PumpPlant
import PumpSync
@testable import Controller

func at(_ seconds: Double) -> MonotonicInstant { MonotonicInstant(nanoseconds: Int64(seconds * 1e9)) }

@Suite("Alarms")
struct AlarmTests {
    @Test func acknowledgeRuleLatchesUntilAcknowledgedAndGone() {
        var b = AlarmBook()
        #expect(b.raise(.reservoirLow, at: at(1)) != nil)
        #expect(b.raise(.reservoirLow, at: at(2)) == nil)       // no duplicate while active
        b.causeGone(.reservoirLow, at: at(3))
        #expect(b.isActive(.reservoirLow))                      // latched: nobody has seen it yet
        _ = b.acknowledgeAll(at: at(4))
        #expect(!b.isActive(.reservoirLow))
        // Acknowledged while present: it ends as soon as the cause goes.
        b.raise(.batteryElectiveReplacement, at: at(5))
        _ = b.acknowledgeAll(at: at(6))
        #expect(b.isActive(.batteryElectiveReplacement))
        b.causeGone(.batteryElectiveReplacement, at: at(7))
        #expect(!b.isActive(.batteryElectiveReplacement))
    }

    @Test func clinicianRuleNeedsAClinicianAndTheCauseGone() {
        var b = AlarmBook()
        b.raise(.occlusion, at: at(1))
        _ = b.acknowledgeAll(at: at(2))
        #expect(b.isActive(.occlusion) && b.stopsDelivery)     // acknowledging only silences
        var (cleared, refused) = b.clinicianClear(at: at(3))
        #expect(cleared.isEmpty && refused == [.occlusion])    // the kink is still there
        b.causeGone(.occlusion, at: at(4))
        #expect(b.isActive(.occlusion))                        // still latched
        (cleared, refused) = b.clinicianClear(at: at(5))
        #expect(cleared == [.occlusion] && refused.isEmpty && !b.stopsDelivery)
    }
}

@Suite("Boluses")
struct BolusTests {
    let p = prescription(.continuous(.microgramsPerDay(250)))

    @Test func lockoutDailyMaximumAndCap() {
        var book = BolusBook()
        func ask(_ s: Double) -> BolusRefusal? {
            let r = book.check(kind: .patient, dose: .micrograms(10), duration: .minutes(10), at: at(s), prescription: p)
            book.record(BolusRecord(kind: .patient, requestedAt: at(s), dose: .micrograms(10), duration: .minutes(10), refusal: r))
            return r
        }
        #expect(ask(0) == nil)
        #expect(ask(1800)?.code == "lockout")                   // 30 min < 1 h lockout
        #expect(book.history[1].refusal == .lockout(remaining: .minutes(30)))
        #expect(ask(3600) == nil)
        #expect(ask(7200) == nil)
        #expect(ask(10800) == nil)
        #expect(ask(14400)?.code == "daily_maximum")             // 4 per rolling 24 h
        #expect(book.nextPatientBolusAllowed(after: at(14400), prescription: p) == at(86_400))
        #expect(ask(86_400) == nil)                              // the first has left the window
        #expect(book.history.filter { !$0.accepted }.count == 2) // every refusal is recorded
    }

    @Test func rollingCapCountsBasalAndEveryBolus() {
        var capped = p
        capped.dailyCap = .microgramsPerDay(280)                 // 250 basal + 30 of boluses
        var book = BolusBook()
        for (i, s) in [0.0, 3600, 7200].enumerated() {
            let r = book.check(kind: .clinician, dose: .micrograms(10), duration: .minutes(10), at: at(s), prescription: capped)
            book.record(BolusRecord(kind: .clinician, requestedAt: at(s), dose: .micrograms(10), duration: .minutes(10), refusal: r))
            #expect(r == nil, "bolus \(i)")
        }
        let r = book.check(kind: .clinician, dose: .micrograms(10), duration: .minutes(10), at: at(10_800), prescription: capped)
        #expect(r?.code == "daily_cap")
        // Over the drug library's single-bolus maximum, whoever asks.
        #expect(book.check(kind: .clinician, dose: .micrograms(101), duration: .hours(1), at: at(0), prescription: p)?.code == "exceeds_bolus_limit")
    }
}

@Suite("Reservoir ledger")
struct LedgerTests {
    @Test func lowAndEmptyFollowTheLargerOfCommandedAndMeasured() {
        var l = ReservoirLedger(capacity: .millilitres(20), filled: .millilitres(3))
        let standard = SafetyLimits().lowReservoir
        #expect(standard == .millilitres(2))
        #expect(!l.isLow(level: standard))
        l.recordCommanded(.millilitres(1))
        #expect(l.isLow(level: standard))                       // 2 mL left: default threshold
        #expect(!l.isLow(level: .microlitres(500)))             // a clinician-set level
        // The mechanism runs away: the encoder saw more than was commanded; the ledger believes it.
        l.recordMeasured(total: Nanolitres.microlitres(2_900))
        #expect(l.expected == .microlitres(100))
        #expect(l.isLow(level: .microlitres(500)))
        l.recordMeasured(total: Nanolitres(2_999_800))
        #expect(l.isEmpty(strokeVolume: Nanolitres(250)))        // 200 nL left: not a whole stroke
    }
}

@Suite("Monitors")
struct MonitorTests {
    let limits = SafetyLimits()

    /// One tick of the monitor (the repeat equals the reading unless given).
    func tick(_ m: inout SensorHealthMonitor, _ r: CentiMMHg?, _ again: CentiMMHg? = nil, still: Bool = true) -> Double? {
        m.observe(r, repeat: again ?? r, motorStill: still, limits: limits)
    }

    @Test func sensorNoAnswerAfterFourFailedReads() {
        var m = SensorHealthMonitor()
        for _ in 0..<3 {
            let r = tick(&m, nil)
            #expect(r == nil && m.fault == nil)
        }
        _ = tick(&m, nil)
        #expect(m.fault == .noAnswer)
        let r = tick(&m, CentiMMHg(1000))
        #expect(r == 10 && m.fault == nil)
    }

    @Test func sensorStuckAfterTenIdenticalReadings() {
        var m = SensorHealthMonitor()
        var rng = Xoshiro256(seed: 1)
        for _ in 0..<20 { _ = tick(&m, CentiMMHg(mmHg: 10 + 0.3 * rng.normal()), CentiMMHg(mmHg: 10 + 0.3 * rng.normal())) }
        #expect(m.fault == nil)
        for i in 0..<10 {
            _ = tick(&m, CentiMMHg(1003))
            #expect((m.fault == .stuck) == (i == 9))
        }
    }

    /// A working sensor at the noisiest valid level (1 mmHg) on the hardest valid signal: 20 mmHg
    /// strokes into a 1 s line every 1.8 s (a bolus at the motor's limit), half of them landing
    /// between the two conversions (the core then says the motor was not still), and 150 mmHg
    /// coughs of 0.3–3 s whose edges bend the pressure by up to 33 mmHg a tick: never implausible
    /// noise in 200 000 ticks. Then the same sensor with 20 mmHg of noise.
    @Test func sensorNoiseIsJudgedBetweenBackToBackConversions() {
        var m = SensorHealthMonitor()
        var rng = Xoshiro256(seed: 2)
        let period = 0.25, tau = 1.0, gap = 0.008
        var p = 10.0, tip = 10.0, coughEnds = -1.0, nextStroke = 0.9
        for i in 0..<200_000 {
            let t = Double(i) * period
            if t > coughEnds + 5, rng.unit() < 0.05 {
                coughEnds = t + 0.3 + 2.7 * rng.unit()
                tip = 160
            }
            if t >= coughEnds { tip = 10 }
            p = tip + (p - tip) * Double.exp(-period / tau)
            let first = CentiMMHg(mmHg: p + rng.normal())
            var still = true
            if t >= nextStroke {
                still = rng.unit() < 0.5          // else the stroke falls between the conversions
                p += 20
                nextStroke += 1.8
            }
            let again = CentiMMHg(mmHg: tip + (p - tip) * Double.exp(-gap / tau) + rng.normal())
            _ = tick(&m, still ? CentiMMHg(mmHg: p + rng.normal()) : first, again, still: still)
            #expect(m.fault == nil, "tick \(i)")
            if m.fault != nil { return }
        }
        var caught: Int?
        for k in 0..<13 where caught == nil {
            _ = tick(&m, CentiMMHg(mmHg: p + 20 * rng.normal()), CentiMMHg(mmHg: p + 20 * rng.normal()))
            if m.fault == .noise { caught = k }
        }
        #expect(caught != nil)
    }

    /// The core tells the monitor whether a stroke fell between the two conversions from a mark
    /// taken before them: 20 mmHg jumps between the conversions with a stroke confirmed (or in
    /// flight) in between are strokes; the same jumps with the motor still are noise.
    @Test func aStrokeBetweenTheConversionsIsNotNoise() {
        let config = ControllerConfiguration(prescription: prescription(.continuous(.microgramsPerDay(250))), strokeVolume: Nanolitres(250),
                                             reservoirCapacity: .millilitres(20), reservoirFill: .millilitres(20))
        for strokeBetween in [true, false] {
            var core = ControllerCore(configuration: config, now: .zero, utcNanoseconds: 1_767_225_600_000_000_000)
            for k in 1...40 {
                let now = MonotonicInstant(nanoseconds: Int64(k) * 250_000_000)
                let mark = core.strokeMark
                if strokeBetween { core.strokesCompleted(1, at: now) }
                let r = Int32(1000 + k % 7)       // a live reading (not stuck), then 20 mmHg more
                let readings = WatchdogReadings(pressure: CentiMMHg(r), pressureRepeat: CentiMMHg(r + 2000), strokeMarkBeforePressure: mark,
                                                motor: nil, battery: nil, batteryDue: false)
                core.watchdogTick(at: now, readings: readings)
            }
            #expect((core.sensor.fault == .noise) == !strokeBetween)
        }
    }

    /// 100 000 seeded onsets of 20 mmHg noise on a 1 mmHg sensor: every one is alarmed within the
    /// 13 ticks that fit in 3 s (the onset tick and 12 more), whatever came before it.
    @Test func sensorNoiseIsAlwaysCaughtWithinThreeSeconds() {
        var rng = Xoshiro256(seed: 3)
        var latest = 0, histogram = [Int](repeating: 0, count: 14)
        for _ in 0..<100_000 {
            var m = SensorHealthMonitor()
            let quiet = 12 + Int(rng.unit() * 12)
            for _ in 0..<quiet { _ = tick(&m, CentiMMHg(mmHg: 10 + rng.normal()), CentiMMHg(mmHg: 10 + rng.normal())) }
            var caught = 13
            for k in 0..<13 {
                _ = tick(&m, CentiMMHg(mmHg: 10 + 20 * rng.normal()), CentiMMHg(mmHg: 10 + 20 * rng.normal()))
                if m.fault == .noise { caught = k; break }
            }
            histogram[caught] += 1
            latest = max(latest, caught)
        }
        #expect(histogram[13] == 0, "\(histogram)")
        #expect(latest <= 12)
        print("sensor noise: 100000 onsets, alarmed after ticks \(histogram.enumerated().filter { $0.element > 0 }.map { "\($0.offset):\($0.element)" }.joined(separator: " ")) (12 = 3 s)")
    }

    /// Below the plausible range (−50 mmHg) is a fault after four readings; above it (1000 mmHg)
    /// is not a fault but "above range", a pressure the occlusion ceiling counts (AboveRangeTests;
    /// until 2026-12-05 both sides were faults).
    @Test func sensorBelowRangeIsAFaultAboveRangeIsAPressure() {
        var m = SensorHealthMonitor()
        for _ in 0..<4 {
            let r = tick(&m, CentiMMHg(mmHg: -200))
            #expect(r == nil && !m.aboveRange)
        }
        #expect(m.fault == .outOfRange)
        var high = SensorHealthMonitor()
        for _ in 0..<8 {
            let r = tick(&high, CentiMMHg(mmHg: 2000))
            #expect(r == nil && high.aboveRange)
        }
        #expect(high.fault == nil)
    }

    @Test func motionStallShowsAfterOneStrokeAndSlipWithinTheWindow() {
        var stall = MotionMonitor(countsPerStroke: 4)
        let a = stall.observe(commandedStrokes: 0, encoderCounts: 100, limits: limits)
        let b = stall.observe(commandedStrokes: 1, encoderCounts: 104, limits: limits)
        let c = stall.observe(commandedStrokes: 2, encoderCounts: 104, limits: limits)
        #expect(!a && !b && c)
        var slip = MotionMonitor(countsPerStroke: 4)
        var counts = 0.0, alarmedAt: Int?
        for k in 1...16 {
            counts += 3.2                                        // 20 % of the motion missing
            if slip.observe(commandedStrokes: Int64(k), encoderCounts: Int64(counts), limits: limits), alarmedAt == nil { alarmedAt = k }
        }
        #expect(alarmedAt != nil && alarmedAt! <= 6)
        var small = MotionMonitor(countsPerStroke: 4)
        counts = 0
        for k in 1...200 {                                       // 5 % is inside the 10 % tolerance
            counts += 3.8
            let mismatch = small.observe(commandedStrokes: Int64(k), encoderCounts: Int64(counts.rounded()), limits: limits)
            #expect(!mismatch)
        }
        var runaway = MotionMonitor(countsPerStroke: 4)
        _ = runaway.observe(commandedStrokes: 0, encoderCounts: 0, limits: limits)
        let over = runaway.observe(commandedStrokes: 1, encoderCounts: 9, limits: limits)
        #expect(over)
    }

    /// Found on real devices (the HIL VM): the watchdog runs alongside the dose loop, so it can read
    /// a step's encoder edges before the step returns and the stroke is confirmed. That is not a
    /// runaway, and a half-counted step must not become the window's reference (a false stall).
    @Test(arguments: [1, 4] as [Int64])
    func edgesOfAStrokeInFlightAreNeitherRunawayNorReference(countsPerStroke cps: Int64) {
        var m = MotionMonitor(countsPerStroke: cps)
        // Mid-step at the very first look: no reference is taken.
        do { let v = m.observe(commandedStrokes: 0, strokesInFlight: 1, encoderCounts: cps, limits: limits); #expect(!v) }
        do { let v = m.observe(commandedStrokes: 1, encoderCounts: cps, limits: limits); #expect(!v) }
        for k in Int64(1)..<40 {
            // Every step is seen in flight with its edges already in, then confirmed.
            do { let v = m.observe(commandedStrokes: k, strokesInFlight: 1, encoderCounts: (k + 1) * cps, limits: limits); #expect(!v) }
            do { let v = m.observe(commandedStrokes: k + 1, encoderCounts: (k + 1) * cps, limits: limits); #expect(!v) }
        }
        // Motion well beyond the strokes in flight (three strokes more) is still a runaway...
        do { let v = m.observe(commandedStrokes: 40, strokesInFlight: 1, encoderCounts: 44 * cps, limits: limits); #expect(v) }
        // ...and a stall still shows once the stroke is confirmed without its edges.
        var s = MotionMonitor(countsPerStroke: cps)
        _ = s.observe(commandedStrokes: 0, encoderCounts: 0, limits: limits)
        do { let v = s.observe(commandedStrokes: 0, strokesInFlight: 1, encoderCounts: 0, limits: limits); #expect(!v) }
        do { let v = s.observe(commandedStrokes: 1, encoderCounts: 0, limits: limits); #expect(v) }
    }

    @Test func batteryThresholdsWithHysteresis() {
        var b = BatteryMonitor()
        b.observe((PerMille(percent: 50), Millivolts(3800)), limits: limits)
        #expect(!b.electiveReplacement && !b.endOfService)
        b.observe((PerMille(percent: 15), Millivolts(3520)), limits: limits)
        #expect(b.electiveReplacement && !b.endOfService)
        b.observe((PerMille(percent: 15.5), Millivolts(3524)), limits: limits)
        #expect(b.electiveReplacement)                           // inside the 1 % hysteresis
        b.observe((PerMille(percent: 5), Millivolts(3440)), limits: limits)
        #expect(b.endOfService)
        b.observe((PerMille(percent: 60), Millivolts(3200)), limits: limits)
        #expect(b.endOfService)                                  // a sagging cell is end of service too
        for _ in 0..<3 { b.observe(nil, limits: limits) }
        #expect(b.gaugeFault)
    }
}

@Suite("Controller with fakes")
struct ControllerShellTests {
    let wall: Int64 = 1_767_225_600_000_000_000
    typealias Rig = PumpController<FakeMotorDriver, FakePressureSensor, FakeBatteryGauge>
    func rig(fill: Nanolitres = .millilitres(20)) -> (Rig, Plant, FakeMotorDriver) {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = FakeMotorDriver(plant: plant)
        let config = ControllerConfiguration(prescription: prescription(.continuous(.microgramsPerDay(250))),
                                             strokeVolume: Nanolitres(250), reservoirCapacity: .millilitres(20), reservoirFill: fill)
        let c = PumpController(configuration: config, motor: motor, pressure: FakePressureSensor(plant: plant),
                               battery: FakeBatteryGauge(plant: plant), now: .zero, utcNanoseconds: 1_767_225_600_000_000_000)
        return (c, plant, motor)
    }

    @Test func watchdogHaltsAStalledDoseLoopOnItsOwnPath() async {
        let (c, plant, motor) = rig()
        var t = 0.0
        // Dose loop and watchdog run normally for two minutes.
        var nextDose = 0.0
        while t < 120 {
            plant.advance(to: at(t).nanoseconds)
            if t >= nextDose { nextDose = await c.doseLoopStep(now: at(t), utcNanoseconds: wall).seconds }
            await c.watchdogStep(now: at(t))
            t += 0.25
        }
        #expect(motor.isEnabled)
        #expect(c.snapshot().scheduler.commandedStrokes >= 2)
        // The dose loop hangs; only the watchdog runs.
        let hang = t
        while t < hang + 20 {
            plant.advance(to: at(t).nanoseconds)
            await c.watchdogStep(now: at(t))
            t += 0.25
        }
        let s = c.snapshot()
        #expect(s.state == .halted)
        #expect(s.halts.first?.reason == .doseLoopStalled)
        let raised = s.alarms.records.first { $0.type == .doseLoopStalled }
        #expect(raised.map { $0.raisedAt.seconds - hang } ?? 99 <= 15.25 + 43.2)
        #expect(raised?.policy.priority == .high)
        #expect(!motor.isEnabled)                                // disabled by the watchdog itself
    }

    @Test func refusedMotorCommandIsADriverFaultHalt() async {
        let (c, _, motor) = rig()
        motor.plant.apply(.motorCommandFailure(.noAcknowledge, errno: 121))
        var t = 0.0
        while c.snapshot().state == .delivering && t < 200 {
            _ = await c.doseLoopStep(now: at(t), utcNanoseconds: wall)
            t += 1
        }
        let s = c.snapshot()
        #expect(s.state == .halted && s.halts.first?.reason == .motorDriverFault)
        #expect(s.events.contains { if case .motorError(let e) = $0.kind { return e.errno == 121 } else { return false } })
        #expect(!motor.isEnabled)
    }

    @Test func stallHaltsAndARepairedMotorResumesWithoutAStaleMismatch() async {
        let (c, plant, motor) = rig()
        var t = 0.0, nextDose = 0.0
        func run(until end: Double) async {
            while t < end {
                plant.advance(to: at(t).nanoseconds)
                if t >= nextDose { nextDose = await c.doseLoopStep(now: at(t), utcNanoseconds: wall).seconds }
                await c.watchdogStep(now: at(t))
                t += 0.25
            }
        }
        await run(until: 600)
        plant.apply(.motorStall)
        await run(until: 800)
        #expect(c.snapshot().halts.map(\.reason) == [.motionMismatch])
        #expect(!motor.isEnabled)
        plant.apply(.clearMotorStall)                            // the mechanism is repaired
        let cleared = await c.handle(.clinicianClear, now: at(t), utcNanoseconds: wall)
        let resumed = await c.handle(.resume, now: at(t), utcNanoseconds: wall)
        #expect(cleared.accepted && resumed.accepted, "\(cleared.reason ?? "") / \(resumed.reason ?? "")")
        let before = c.snapshot().scheduler.commandedStrokes
        await run(until: 1400)
        let s = c.snapshot()
        #expect(s.state == .delivering && s.alarms.active.isEmpty)
        #expect(s.scheduler.commandedStrokes - before >= 13)      // 600 s at one stroke per 43.2 s
    }

    @Test func driverFaultLineHalts() async throws {
        let (c, plant, motor) = rig()
        var t = 0.0, nextDose = 0.0
        while t < 300 {
            if t == 120 { plant.apply(.driverFault) }
            plant.advance(to: at(t).nanoseconds)
            if t >= nextDose { nextDose = await c.doseLoopStep(now: at(t), utcNanoseconds: wall).seconds }
            await c.watchdogStep(now: at(t))
            t += 0.25
        }
        let s = c.snapshot()
        #expect(s.halts.map(\.reason) == [.motorDriverFault])
        #expect(abs(try #require(s.halts.first?.at.seconds) - 120) <= 0.25)
        #expect(!motor.isEnabled)
        // While the driver still reports its fault, a clinician cannot clear it.
        let clear = await c.handle(.clinicianClear, now: at(t), utcNanoseconds: wall)
        #expect(clear.reason?.contains("motor_driver_fault") == true)
    }

    /// Edges the kernel dropped are motion nobody measured: the watchdog halts on them as on a
    /// mismatch (FaultTable: motion_mismatch), within one tick, though the counts still agree.
    @Test func droppedEncoderEdgesHalt() async throws {
        let (c, plant, motor) = rig()
        var t = 0.0, nextDose = 0.0
        while t < 300 {
            if t == 150 { plant.apply(.droppedEncoderEdges(count: 2)) }
            plant.advance(to: at(t).nanoseconds)
            if t >= nextDose { nextDose = await c.doseLoopStep(now: at(t), utcNanoseconds: wall).seconds }
            await c.watchdogStep(now: at(t))
            t += 0.25
        }
        let s = c.snapshot()
        #expect(s.halts.map(\.reason) == [.motionMismatch])
        #expect(abs(try #require(s.halts.first?.at.seconds) - 150) <= 0.25)
        #expect(!motor.isEnabled)
        // Once stopped, the same count is no new loss: a clinician can clear and resume.
        let cleared = await c.handle(.clinicianClear, now: at(t), utcNanoseconds: wall)
        let resumed = await c.handle(.resume, now: at(t), utcNanoseconds: wall)
        #expect(cleared.accepted && resumed.accepted)
        await c.watchdogStep(now: at(t + 0.25))
        #expect(c.snapshot().state == .delivering)
    }

    /// Under load a dose loop that has fallen behind strokes back to back, and every watchdog tick
    /// can land while a stroke is in flight, when the tick judges no motion (a half-counted step
    /// is no reference). Here every tick runs in the middle of a step, as in the HIL guest under
    /// host load: a slipping motor (no encoder counts) must still halt within two strokes of the
    /// slip, judged as each stroke is confirmed, and the motor ends disabled. Before the motion
    /// was judged at completion it stroked on unjudged (HIL: 26 strokes, no alarm).
    @Test func aSlipIsJudgedWhenEveryTickLandsMidStroke() async throws {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let inner = FakeMotorDriver(plant: plant)
        let clock = Locked(0.0)
        let hook = Locked<(@Sendable () async -> Void)?>(nil)
        let config = ControllerConfiguration(prescription: prescription(.continuous(.microgramsPerDay(250))),
                                             strokeVolume: Nanolitres(250), reservoirCapacity: .millilitres(20), reservoirFill: .millilitres(20))
        let c = PumpController(configuration: config, motor: MidStrokeTicks(inner: inner, duringStep: hook), pressure: FakePressureSensor(plant: plant),
                               battery: FakeBatteryGauge(plant: plant), now: .zero, utcNanoseconds: wall)
        hook.withLock { $0 = { [c] in await c.watchdogStep(now: at(clock.withLock { $0 })) } }
        var t = 0.0, nextDose = 0.0, slipAt: Int64?
        while t < 6 * 3600, c.snapshot().halts.isEmpty {
            clock.withLock { $0 = t }
            plant.advance(to: at(t).nanoseconds)
            let strokes = c.snapshot().scheduler.commandedStrokes
            if slipAt == nil, strokes >= 20 {
                plant.apply(.encoderSlip(fraction: 1))
                slipAt = strokes
            }
            if t >= nextDose { nextDose = await c.doseLoopStep(now: at(t), utcNanoseconds: wall).seconds }
            t += 1
        }
        let s = c.snapshot()
        let slip = try #require(slipAt)
        #expect(s.halts.map(\.reason) == [.motionMismatch])
        #expect(s.scheduler.commandedStrokes - slip <= 2, "\(s.scheduler.commandedStrokes - slip) strokes after the slip")
        #expect(!inner.isEnabled)
    }

    @Test func clinicianClearThenResumeNothingByItself() async {
        let (c, _, _) = rig()
        _ = await c.handle(.suspend, now: at(1), utcNanoseconds: wall)
        #expect(c.snapshot().state == .suspended)
        let bolus = await c.handle(.patientBolus, now: at(2), utcNanoseconds: wall)
        #expect(!bolus.accepted && bolus.reason?.contains("suspended") == true)
        let resumed = await c.handle(.resume, now: at(3), utcNanoseconds: wall)
        #expect(resumed.accepted && c.snapshot().state == .delivering)
    }
}

@Suite("Occlusion ceiling")
struct OcclusionCeilingTests {
    let limits = SafetyLimits()
    func at(_ k: Int) -> MonotonicInstant { MonotonicInstant(nanoseconds: Int64(k) * 250_000_000) }

    /// Live readings at or above the pressure no open line can hold are an occlusion after
    /// `occlusionCeilingReadings` of them, before anything is learned; one below it starts the count
    /// again; a value frozen up there is not counted (that is a stuck sensor).
    @Test func aPressureAboveAnyOpenLineIsAnOcclusionAFrozenOneIsNot() {
        var rng = Xoshiro256(seed: 4)
        var live = OcclusionDetector(periodNanoseconds: 250_000_000, strokeVolume: Nanolitres(250), limits: limits)
        var k = 0
        for _ in 0..<(limits.occlusionCeilingReadings - 1) {
            live.tick(at: at(k), reading: limits.occlusionCeilingMMHg + 5 + 0.05 * rng.normal(), delivering: true); k += 1
        }
        live.tick(at: at(k), reading: limits.occlusionCeilingMMHg - 50, delivering: true); k += 1
        for _ in 0..<(limits.occlusionCeilingReadings - 1) {
            live.tick(at: at(k), reading: limits.occlusionCeilingMMHg + 5 + 0.05 * rng.normal(), delivering: true); k += 1
        }
        #expect(!live.occluded)
        live.tick(at: at(k), reading: limits.occlusionCeilingMMHg + 5 + 0.05 * rng.normal(), delivering: true)
        #expect(live.occluded)

        var frozen = OcclusionDetector(periodNanoseconds: 250_000_000, strokeVolume: Nanolitres(250), limits: limits)
        for k in 0..<40 { frozen.tick(at: at(k), reading: limits.occlusionCeilingMMHg + 5, delivering: true) }
        #expect(!frozen.occluded)
    }

    /// The ceiling stands above the highest pressure a valid open line can hold (SafetyLimits):
    /// resistance × the motor's highest flow, a stroke's rise, the highest resting pressure and
    /// the largest scenario cough.
    @Test func theCeilingIsAboveEveryValidOpenLine() {
        // The valid plant range of docs/scenarios.md: compliance ≥ 50 nL/mmHg, stroke ≤ 1000 nL, resting
        // pressure ≤ 25 mmHg; scenario coughs ≤ 150 mmHg.
        let resistance = OcclusionDetector.slowestValidTauSeconds / 50
        let flow = Double(PumpLimits.maximumTotalRateNanolitresPerDay) / 86_400
        let highest = resistance * flow + 1000.0 / 50 + 25 + 150
        #expect(highest < limits.occlusionCeilingMMHg, "\(highest)")
    }
}

/// A motor during each step of which `duringStep` runs (a watchdog tick landing mid-stroke).
struct MidStrokeTicks: MotorDriver {
    let inner: FakeMotorDriver
    let duringStep: Locked<(@Sendable () async -> Void)?>
    nonisolated(nonsending) func enable() async throws(HALError) { try await inner.enable() }
    nonisolated(nonsending) func disable() async throws(HALError) { try await inner.disable() }
    nonisolated(nonsending) func step(count: Int, direction: StepDirection) async throws(HALError) {
        if let tick = duringStep.withLock({ $0 }) { await tick() }
        try await inner.step(count: count, direction: direction)
    }
    nonisolated(nonsending) func feedback() async throws(HALError) -> MotorFeedback { try await inner.feedback() }
}
