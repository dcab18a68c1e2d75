/// The alarm output line, driven from the loudest unacknowledged alarm.
import Controller
import Logging
import PumpCore
import PumpHAL
import ServiceLifecycle

/// Drives the alarm output line from the loudest unacknowledged alarm.
struct AnnunciatorService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let line: any OutputLine
    let activeHigh: Bool
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        var last: Bool?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let on = AlarmAnnunciator.isOn(controller.withCore { $0.unacknowledgedPriority }, at: now())
            if on != last {
                do { try await line.set(on == activeHigh); last = on } catch { logger.error("alarm output: \(error)") }
            }
            try? await Task.sleep(for: .milliseconds(125))
        }
        try? await line.set(!activeHigh)
    }
}
