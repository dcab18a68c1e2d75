/// The patient's bolus button: a debounced press requests a patient bolus.
import Controller
import Logging
import PumpCore
import PumpHAL
import ServiceLifecycle

/// The patient's bolus button: a press (the edge to the active level) requests a patient bolus;
/// the controller enforces every limit. Presses within a second of each other are one press. The
/// line is polled every 50 ms without blocking (edges are queued by the kernel meanwhile).
struct BolusButtonService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let line: any InputLine
    let activeHigh: Bool
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        var lastPress: MonotonicInstant?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let edge: Edge?
            do { edge = try await line.waitForEdge(timeoutNanoseconds: 0) } catch {
                logger.error("bolus button: \(error)")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let edge else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            guard (edge == .rising) == activeHigh else { continue }
            let t = now()
            if let p = lastPress, t - p < .seconds(1) { continue }
            lastPress = t
            _ = await controller.handle(.patientBolus, now: t, utcNanoseconds: SystemWallClock().utcNanoseconds())
        }
    }
}
