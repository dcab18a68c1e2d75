/// What a rig hands the daemon besides the controller: optional lines, watchdog feeds, the command interface.
import Logging
import PumpCommands
import PumpHAL

/// What a rig hands the daemon besides the controller.
struct RigExtras: Sendable {
    var alarmOutput: (any OutputLine)?
    /// Level of the alarm output when sounding.
    var alarmActiveHigh = true
    var bolusButton: (any InputLine)?
    var bolusActiveHigh = false
    var feedWatchdog: (@Sendable () throws(HALError) -> Void)?
    /// The simulated board's bolus button: SIGUSR1.
    var signalBolusButton = false
    var closeWatchdog: (@Sendable () -> Void)?
    var commands: CommandInterface?
}

/// The command socket and its keys, made before any hardware is touched.
struct CommandInterface: Sendable {
    var socket: CommandSocket
    var keysFolder: String
    var ring: KeyRingBox
    var counters: CounterFloor

    /// SIGHUP after a key rotation: the folder read again whole; a bad folder keeps the old keys.
    func reloadKeys(logger: Logger) {
        do {
            let new = try KeyRing.load(folder: keysFolder)
            ring.withLock { $0 = new }
            logger.notice("keys reloaded from \(keysFolder): clinician \(new.keys[.clinician]?.keyID ?? "-"), patient \(new.keys[.patient]?.keyID ?? "-")")
        } catch {
            logger.error("keys not reloaded, the old ones stay: \(error)")
        }
    }
}
