import Testing
import PumpCore
@testable import Controller

@Suite("Alarm output and health")
struct AnnunciatorTests {
    func pattern(_ p: AlarmPriority?, seconds: Int) -> [Bool] {
        stride(from: 0, to: seconds * 1000, by: 125).map { AlarmAnnunciator.isOn(p, at: MonotonicInstant(nanoseconds: Int64($0) * 1_000_000)) }
    }

    @Test func priorityIsAudible() {
        #expect(pattern(.high, seconds: 4).allSatisfy { $0 })
        let medium = pattern(.medium, seconds: 4)
        #expect(medium.filter { $0 }.count == medium.count / 2)          // 50 % duty, 1 Hz
        let low = pattern(.low, seconds: 8)
        #expect(low.filter { $0 }.count == 4)                              // 250 ms every 4 s
        #expect(pattern(nil, seconds: 4).allSatisfy { !$0 })
    }

    @Test func acknowledgedAlarmsAreSilentAndHealthNeedsBothLoops() {
        let config = ControllerConfiguration(prescription: prescription(.continuous(.microgramsPerDay(250))), strokeVolume: Nanolitres(250),
                                             reservoirCapacity: .millilitres(20), reservoirFill: .millilitres(2))
        var core = ControllerCore(configuration: config, now: .zero, utcNanoseconds: 1_767_225_600_000_000_000)
        _ = core.planStrokes(at: .zero, utcNanoseconds: 1_767_225_600_000_000_000)      // 2 mL: low reservoir
        #expect(core.unacknowledgedPriority == .medium)
        _ = core.handle(.acknowledge, at: at(1), utcNanoseconds: 1_767_225_600_000_000_000)
        #expect(core.unacknowledgedPriority == nil)
        core.watchdogTick(at: at(1), readings: WatchdogReadings(pressure: CentiMMHg(1000), pressureRepeat: nil, strokeMarkBeforePressure: nil, motor: nil, battery: nil, batteryDue: false))
        #expect(core.isHealthy(at: at(1.5)))
        #expect(!core.isHealthy(at: at(2.5)))                              // the watchdog task stopped
        #expect(!core.isHealthy(at: at(16)))                               // and the dose loop too
    }
}
