/// Feeds a watchdog (the hardware one or systemd's) only while both loops are healthy.
import Controller
import Logging
import PumpCore
import PumpHAL
import ServiceLifecycle

/// Feeds the hardware watchdog once a second, only while both the dose loop and the watchdog
/// task are healthy: if either stops, the board resets into its safe hardware state.
struct WatchdogFeedService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    /// "the hardware watchdog" or "systemd's watchdog", for the log.
    let what: String
    let period: Duration
    let feed: @Sendable () throws(HALError) -> Void
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        var warned = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let t = now()
            if controller.withCore({ $0.isHealthy(at: t) }) {
                do { try feed(); warned = false } catch { logger.error("\(what): \(error)") }
            } else if !warned {
                logger.critical("not feeding \(what): a loop has stopped")
                warned = true
            }
            try? await Task.sleep(for: period)
        }
    }
}
