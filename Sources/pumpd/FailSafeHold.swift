import Foundation
import Glibc
import PumpConfig
import PumpHAL
#if canImport(PumpLinux)
import PumpLinux
#endif

/// `pumpd --board F --hold-safe`: what holds the rig when pumpd has failed for good. It requests
/// ENABLE at its inactive level and the alarm output at its active level and keeps them until it
/// is stopped, so a dead pumpd leaves the motor held off by a driven level, not only by a pull
/// resistor, and a buzzer sounding instead of silence. `Scripts/pumpd-failsafe.service` runs it
/// from pumpd.service's `OnFailure=`; starting pumpd stops it (`Conflicts=`), so it never holds
/// a line pumpd needs. It only requests lines no one holds: while a pumpd runs it exits 1 and
/// changes nothing (the kernel refuses a second request of a held line).
enum FailSafeHold {
    static let consumer = "pumpd-failsafe"

    static func run(board: Board) -> Never {
        guard board.kind == .linux else { fail("--hold-safe: only for a linux board (board \(board.name) is simulated)", status: 2) }
        #if canImport(PumpLinux)
        guard let label = board.gpioChipLabel, let s = board.stepper else { fail("--hold-safe: board \(board.name) has no motor lines", status: 2) }
        // SIGTERM (systemd stopping it, or pumpd starting) and SIGINT end it at once: the kernel
        // releases both lines with the process. Installed before any line is requested.
        for sig in [SIGTERM, SIGINT, SIGHUP] { signal(sig) { _ in _exit(0) } }
        let chip: GPIOChip
        do { chip = try GPIOChip(label: label, consumer: consumer) } catch {
            fail("--hold-safe: gpio.chip_label '\(label)': \(error)", status: 1)
        }
        // ENABLE first: the motor is held off before anything else.
        let enableHigh = s.enableActive == .low
        let enable: GPIOOutputLine
        do { enable = try chip.output(named: s.enableLine, initial: enableHigh) } catch {
            fail("--hold-safe: motor.enable_line '\(s.enableLine)': \(error) (a running pumpd holds it)", status: 1)
        }
        var held = ["motor.enable_line '\(s.enableLine)' inactive (\(enableHigh ? "high" : "low"))"]
        var alarm: GPIOOutputLine?
        if let a = board.alarmOutput {
            do { alarm = try chip.output(named: a.name, initial: a.active == .high) } catch {
                enable.close()
                fail("--hold-safe: alarm_output.line '\(a.name)': \(error)", status: 1)
            }
            held.append("alarm_output.line '\(a.name)' active (\(a.active.rawValue))")
        } else {
            held.append("no alarm_output in the board file: nothing sounds")
        }
        FileHandle.standardOutput.write(Data("pumpd --hold-safe: holding \(held.joined(separator: ", ")) until stopped\n".utf8))
        SystemdNotify.send("READY=1")
        // Until a signal ends the process (the handlers above exit at once).
        while true { withExtendedLifetime((chip, enable, alarm)) { _ = pause() } }
        #else
        fail("--hold-safe: this build has no Linux backend (built without the LinuxBackend trait)", status: 1)
        #endif
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("pumpd: \(message)\n".utf8))
        Foundation.exit(status)
    }
}
