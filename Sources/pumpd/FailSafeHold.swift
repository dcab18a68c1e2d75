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
/// from pumpd.service's `OnFailure=`; pumpd.service's `ExecStartPre` stops it before pumpd starts,
/// so it never holds a line pumpd needs. It only requests lines no one holds: while a pumpd runs it exits 1 and
/// changes nothing (the kernel refuses a second request of a held line). It feeds the board's
/// hardware watchdog while it holds and disarms it when stopped.
enum FailSafeHold {
    static let consumer = "pumpd-failsafe"

    static func run(board: Board.SafeHold) -> Never {
        #if canImport(PumpLinux)
        if !board.passedOver.isEmpty {
            // pumpd refuses this file (that is likely why the holder runs); the holder needs only
            // its own fields, which are good: it holds, and says what it passed over.
            warn("the board file has \(board.passedOver.count) problem(s) pumpd refuses; holding with the fields the holder needs, which are good. Passed over:")
            for p in board.passedOver { warn("  \(p)") }
        }
        let label = board.chipLabel
        let chip: GPIOChip
        do { chip = try GPIOChip(label: label, consumer: consumer) } catch {
            fail("--hold-safe: gpio.chip_label '\(label)': \(error)", status: 1)
        }
        // ENABLE first: the motor is held off before anything else.
        let enableHigh = board.enableActive == .low
        let enable: GPIOOutputLine
        do { enable = try chip.output(named: board.enableLine, initial: enableHigh) } catch {
            fail("--hold-safe: motor.enable_line '\(board.enableLine)': \(error) (a running pumpd, or another program, holds it)", status: 1)
        }
        var held = ["motor.enable_line '\(board.enableLine)' inactive (\(enableHigh ? "high" : "low"))"]
        // The alarm is wanted but not at ENABLE's price: without it, ENABLE is still held.
        var alarm: GPIOOutputLine?
        if let a = board.alarmOutput {
            do {
                alarm = try chip.output(named: a.name, initial: a.active == .high)
                held.append("alarm_output.line '\(a.name)' active (\(a.active.rawValue))")
            } catch {
                warn("alarm_output.line '\(a.name)': \(error): it does not sound; ENABLE is still held")
            }
        } else if let why = board.alarmNotUsed {
            held.append("alarm_output not driven (\(why)): nothing sounds")
        } else {
            held.append("no alarm_output in the board file: nothing sounds")
        }
        // A pumpd that died with the hardware watchdog open left it armed: unfed, it would reset
        // the board within its timeout and end this hold (then pumpd starts again at boot, with a
        // fresh start limit: a crash-and-reboot loop). The holder feeds it while it holds, and
        // disarms it (magic close) when stopped, before pumpd opens it again.
        var watchdog: HardwareWatchdog?
        if let path = board.watchdogDevice {
            do {
                let wd = try HardwareWatchdog(path: path)
                if let asked = board.watchdogTimeoutSeconds { _ = try? wd.setTimeout(seconds: asked) }
                watchdog = wd
                held.append("\(path) fed")
            } catch {
                warn("watchdog_device \(path): \(error): not fed (if a dead pumpd left it armed, the board resets)")
            }
        }
        let wd = watchdog
        SignalIntake.shared.setMode(.exitOnStop(clean: true), beforeExit: { wd?.close() })
        FileHandle.standardOutput.write(Data("pumpd --hold-safe: holding \(held.joined(separator: ", ")) until stopped\n".utf8))
        SystemdNotify.send("READY=1")
        // Until a stop signal ends the process (SignalIntake's thread disarms the watchdog, exits).
        while true {
            withExtendedLifetime((chip, enable, alarm)) { try? wd?.feed() }
            _ = sleep(UInt32(Board.watchdogFeedSeconds))
        }
        #else
        fail("--hold-safe: this build has no Linux backend (built without the LinuxBackend trait)", status: 1)
        #endif
    }

    private static func warn(_ message: String) {
        FileHandle.standardError.write(Data("pumpd: --hold-safe: \(message)\n".utf8))
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("pumpd: \(message)\n".utf8))
        Foundation.exit(status)
    }
}
