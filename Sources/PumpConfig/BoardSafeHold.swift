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
        /// Why the file's alarm output is not driven (nil: it is, or the file has none).
        public var alarmNotUsed: String?
        public var watchdogDevice: String?
        public var watchdogTimeoutSeconds: Int?
        /// What pumpd refuses in the file that the holder does not need (empty for a good file).
        public var passedOver: [FieldError]
    }

    /// The holder's fields of a good board file (nil for the simulated board: it has no lines).
    public var safeHold: SafeHold? {
        guard kind == .linux, let chip = gpioChipLabel, let s = stepper else { return nil }
        return SafeHold(boardName: name, chipLabel: chip, enableLine: s.enableLine, enableActive: s.enableActive,
                        alarmOutput: alarmOutput, alarmNotUsed: nil, watchdogDevice: watchdogDevice, watchdogTimeoutSeconds: watchdogTimeoutSeconds,
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
        // Lenient: a value no reader can hold (1e999) outside the holder's fields is passed over
        // with the rest (outside attack: it stopped the holder); in them it reads as null, refused.
        let root: JSONValue
        do { root = try JSONValue.parseLenient(data) } catch { throw ValidationErrors([error]) }   // UTF-8 only
        var f = Fields(problems: [])
        guard var r = ObjectReader.open(root, path: "", problems: &f.problems) else { throw ValidationErrors(f.problems) }
        // The schema too: a later schema may give these fields another meaning.
        if let v = f.number(&r, "schema") {
            if v != Double(schemaVersion) { f.fail("schema", "this build reads schema \(schemaVersion), got \(v)") }
        } else {
            f.fail("schema", "is required (\(schemaVersion))")
        }
        if let k = f.text(&r, "kind", required: true), k != Kind.linux.rawValue {
            f.fail("kind", "--hold-safe is only for a linux board, got '\(k)'")
        }
        let name = f.text(&r, "name", required: true)
        var chip: String?, enable: String?, active: Level?
        if var g = f.object(&r, "gpio", required: true) { chip = f.text(&g, "chip_label", required: true) }
        var otherLines: [String] = []   // every other line the file names: never driven by the holder
        var lenient = Fields(problems: [])
        if var m = f.object(&r, "motor", required: true) {
            enable = f.line(&m, "enable_line")
            active = f.level(&m, "enable_active")
            for key in ["step_line", "dir_line", "fault_line", "encoder_line"] { _ = lenient.text(&m, key, required: false).map { otherLines.append($0) } }
        }
        // A field given twice or as null is one the holder cannot read either.
        let ambiguous = JSONAmbiguity.problems(in: data)
        let needed = ["schema", "kind", "name", "gpio", "gpio.chip_label", "motor", "motor.enable_line", "motor.enable_active"]
        f.problems += ambiguous.filter { needed.contains($0.path) }
        guard f.problems.isEmpty, let name, let chip, let enable, let active else { throw ValidationErrors(f.problems) }

        // Wanted, not needed: without them ENABLE is still held. The alarm is driven only if every
        // one of its fields reads one way and its line is no other line of the file (driving a
        // button, nFAULT or the encoder at the alarm's level would fight what drives that pin).
        if var b = lenient.object(&r, "bolus_button", required: false) { _ = lenient.text(&b, "line", required: false).map { otherLines.append($0) } }
        var alarm: Line?, unused: String?
        var optional = Fields(problems: [])
        if var o = optional.object(&r, "alarm_output", required: false) {
            let n = optional.line(&o, "line"), a = optional.level(&o, "active")
            if let n, let a { alarm = Line(name: n, active: a) }
        }
        if let a = alarm {
            if let doubt = ambiguous.first(where: { $0.path == "alarm_output" || $0.path.hasPrefix("alarm_output.") }) {
                unused = "\(doubt)"
            } else if a.name == enable || otherLines.contains(a.name) {
                unused = "alarm_output.line '\(a.name)' is also another line of the board file"
            }
        } else if let first = optional.problems.first ?? ambiguous.first(where: { $0.path.hasPrefix("alarm_output") }) {
            unused = "\(first)"
        }
        if unused != nil { alarm = nil }
        var watchdog = optional.text(&r, "watchdog_device", required: false)
        if let w = watchdog, !w.hasPrefix("/dev/") { watchdog = nil }
        if ambiguous.contains(where: { $0.path == "watchdog_device" || $0.path == "watchdog_timeout_s" }) { watchdog = nil }
        let timeout = optional.integer(&r, "watchdog_timeout_s", watchdogTimeoutRange, required: false)
        return SafeHold(boardName: name, chipLabel: chip, enableLine: enable, enableActive: active, alarmOutput: alarm,
                        alarmNotUsed: unused, watchdogDevice: watchdog, watchdogTimeoutSeconds: timeout, passedOver: whole.problems)
    }
}
