import Foundation
import PumpCore

extension Board {
    /// What `pumpd --hold-safe` needs of a board file: where ENABLE and the alarm output are, their
    /// levels, and the watchdog to keep fed.
    ///
    /// The holder runs when pumpd has failed for good, and a bad board file is one way pumpd fails
    /// for good (exit 2). It refused the same file, so on the rig where the fail-safe was needed
    /// most only the pull resistor held the motor off. So it reads these fields alone, with the
    /// same checks, and names what it passed over; only a fault in them stops it (then it cannot
    /// know which level is safe).
    public struct SafeHold: Sendable, Equatable {
        public var boardName: String
        public var chipLabel: String
        public var enableLine: String
        /// ENABLE's active level; the holder drives the other one.
        public var enableActive: Level
        public var alarmOutput: Line?
        public var watchdogDevice: String?
        public var watchdogTimeoutSeconds: Int?
        /// What pumpd refuses in the file that the holder does not need (empty for a good file).
        public var passedOver: [FieldError]
    }

    /// The holder's fields of a good board file (nil for the simulated board: it has no lines).
    public var safeHold: SafeHold? {
        guard kind == .linux, let chip = gpioChipLabel, let s = stepper else { return nil }
        return SafeHold(boardName: name, chipLabel: chip, enableLine: s.enableLine, enableActive: s.enableActive,
                        alarmOutput: alarmOutput, watchdogDevice: watchdogDevice, watchdogTimeoutSeconds: watchdogTimeoutSeconds,
                        passedOver: [])
    }

    /// The fields the holder needs, whatever else is wrong in the file.
    public static func safeHold(_ data: Data) throws(ValidationErrors) -> SafeHold {
        let whole: ValidationErrors
        do throws(ValidationErrors) {
            let board = try parse(data)
            guard let hold = board.safeHold else {
                throw ValidationErrors([FieldError("kind", "--hold-safe is only for a linux board (board \(board.name) is \(board.kind.rawValue))")])
            }
            return hold
        } catch {
            // A good file without lines (the simulated board) is refused as it is.
            if (try? parse(data)) != nil { throw error }
            whole = error
        }
        // The file as a whole is refused: read the holder's fields alone.
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch { throw ValidationErrors([error]) }
        var f = Fields(problems: [])
        guard var r = ObjectReader.open(root, path: "", problems: &f.problems) else { throw ValidationErrors(f.problems) }
        if let k = f.text(&r, "kind", required: true), k != Kind.linux.rawValue {
            f.fail("kind", "--hold-safe is only for a linux board, got '\(k)'")
        }
        let name = f.text(&r, "name", required: true)
        var chip: String?, enable: String?, active: Level?
        if var g = f.object(&r, "gpio", required: true) { chip = f.text(&g, "chip_label", required: true) }
        if var m = f.object(&r, "motor", required: true) {
            enable = f.line(&m, "enable_line")
            active = f.level(&m, "enable_active")
        }
        // A field given twice or as null is one the holder cannot read either.
        let needed = ["kind", "name", "gpio", "gpio.chip_label", "motor", "motor.enable_line", "motor.enable_active"]
        f.problems += JSONAmbiguity.problems(in: data).filter { needed.contains($0.path) }
        guard f.problems.isEmpty, let name, let chip, let enable, let active else { throw ValidationErrors(f.problems) }

        // Wanted, not needed: without them ENABLE is still held.
        var optional = Fields(problems: [])
        var alarm: Line?
        if var o = optional.object(&r, "alarm_output", required: false), let n = optional.line(&o, "line"), let a = optional.level(&o, "active") {
            alarm = Line(name: n, active: a)
        }
        var watchdog = optional.text(&r, "watchdog_device", required: false)
        if let w = watchdog, !w.hasPrefix("/dev/") { watchdog = nil }
        let timeout = optional.integer(&r, "watchdog_timeout_s", watchdogTimeoutRange, required: false)
        if alarm?.name == enable { alarm = nil }
        return SafeHold(boardName: name, chipLabel: chip, enableLine: enable, enableActive: active, alarmOutput: alarm,
                        watchdogDevice: watchdog, watchdogTimeoutSeconds: timeout, passedOver: whole.problems)
    }
}
