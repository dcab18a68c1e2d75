import PumpSync
import Testing
import PumpCore
import PumpFakes
import PumpPlant
@testable import Controller

/// A clock that only moves when the test moves it: drives `PumpController.run` in virtual time.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by d: Duration) -> Instant { Instant(offset: offset + d) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }
    private struct Sleeper { var deadline: Instant; var continuation: CheckedContinuation<Void, any Error> }
    private let state = Locked<(now: Instant, sleepers: [Sleeper])>((Instant(offset: .zero), []))

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            // Checked under the lock: a task cancelled before `cancelAll` never registers after it.
            let verdict: Result<Bool, CancellationError> = state.withLock { s in
                if Task.isCancelled { return .failure(CancellationError()) }
                if deadline <= s.now { return .success(true) }
                s.sleepers.append(Sleeper(deadline: deadline, continuation: c))
                return .success(false)
            }
            switch verdict {
            case .failure(let e): c.resume(throwing: e)
            case .success(true): c.resume()
            case .success(false): break
            }
        }
    }

    /// Waits until `count` tasks sleep, moves time to the earliest deadline and wakes those due.
    func step(sleepers count: Int, before: (Instant) -> Void) async -> Instant {
        while state.withLock({ $0.sleepers.count }) < count { await Task.yield() }
        let next = state.withLock { s in s.sleepers.map(\.deadline).min()! }
        before(next)
        let due = state.withLock { s in
            s.now = next
            let due = s.sleepers.filter { $0.deadline <= next }
            s.sleepers.removeAll { $0.deadline <= next }
            return due
        }
        for d in due { d.continuation.resume() }
        return next
    }

    func cancelAll() {
        let all = state.withLock { s in defer { s.sleepers = [] }; return s.sleepers }
        for s in all { s.continuation.resume(throwing: CancellationError()) }
    }
}

struct FixedWall: WallClock { func utcNanoseconds() -> Int64 { 1_767_225_600_000_000_000 } }

@Suite("Rig shell: run(clock:)")
struct RunLoopTests {
    /// The two tasks of `run` on a virtual clock: the dose loop strokes on schedule, the watchdog
    /// learns the line, and a kink is caught and the motor disabled by the watchdog.
    @Test func doseLoopAndWatchdogAsTasks() async throws {
        let plant = Plant(parameters: PlantParameters(), seed: 3)
        let motor = FakeMotorDriver(plant: plant)
        let config = ControllerConfiguration(prescription: prescription(.continuous(.microgramsPerDay(250))),
                                             strokeVolume: Nanolitres(250), reservoirCapacity: .millilitres(20),
                                             reservoirFill: .millilitres(20))
        let controller = PumpController(configuration: config, motor: motor, pressure: FakePressureSensor(plant: plant),
                                        battery: FakeBatteryGauge(plant: plant), now: .zero, utcNanoseconds: FixedWall().utcNanoseconds())
        let clock = ManualClock()
        let task = Task { await controller.run(clock: clock, wallClock: FixedWall()) }
        func runUntil(seconds: Int64) async {
            while clock.now.offset < .seconds(seconds) {
                _ = await clock.step(sleepers: 2) { next in
                    let d = next.offset.components
                    plant.advance(to: d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000)
                }
            }
        }
        await runUntil(seconds: 3600)
        var s = controller.snapshot()
        // One hour at 0.5 mL/day is 20.83 µL: 83 strokes of 250 nL, not one more.
        #expect(s.scheduler.commandedStrokes == 83)
        #expect(s.alarms.records.isEmpty && s.state == .delivering)
        #expect(s.occlusion.armed)
        #expect(motor.isEnabled)
        plant.apply(.occlusion(fraction: 1))
        await runUntil(seconds: 3600 + 600)
        s = controller.snapshot()
        #expect(s.state == .halted && s.halts.first?.reason == .occlusion)
        #expect(!motor.isEnabled)
        #expect(s.scheduler.commandedStrokes - 83 <= 4)
        task.cancel()
        clock.cancelAll()
        await task.value
    }
}
