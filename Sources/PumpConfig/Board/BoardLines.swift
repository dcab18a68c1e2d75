/// The board's GPIO lines by the fields that name them: each used once, and the list the board
/// check and a simulated chip work from.
extension Board {
    /// Every line name used once.
    static func checkLinesUsedOnce(_ f: inout Fields, stepper: Stepper?, alarm: Line?, button: Line?, jig: HILJig?) {
        var seen: [String: String] = [:]
        var lines: [(String, String?)] = lineFields(stepper: stepper, alarm: alarm, button: button).map { ($0.field, $0.name) }
        if case .loopback(let l)? = jig {
            lines += [("hil_jig.step_in", l.stepIn), ("hil_jig.dir_in", l.directionIn), ("hil_jig.enable_in", l.enableIn),
                      ("hil_jig.encoder_out", l.encoderOut), ("hil_jig.fault_out", l.faultOut), ("hil_jig.bolus_out", l.bolusOut)]
        }
        for (path, name) in lines {
            guard let name, !name.isEmpty else { continue }
            if let other = seen[name] { f.fail(path, "line '\(name)' is already \(other)") } else { seen[name] = path }
        }
    }

    /// Every GPIO line of the board proper, by name (what a simulated chip must offer).
    public var lineNames: [String] { lineFields.map(\.name) }

    /// The controller's lines with the board-file fields that name them (the board check reports
    /// by field). The HIL jig's lines are the plant's, not listed.
    public var lineFields: [(field: String, name: String)] {
        stepper == nil ? [] : Self.lineFields(stepper: stepper, alarm: alarmOutput, button: bolusButton)
    }

    /// The motor's lines (when there is a stepper), then the alarm output's and the bolus button's.
    static func lineFields(stepper: Stepper?, alarm: Line?, button: Line?) -> [(field: String, name: String)] {
        var fields: [(field: String, name: String)] = []
        if let s = stepper {
            fields = [("motor.step_line", s.stepLine), ("motor.dir_line", s.directionLine), ("motor.enable_line", s.enableLine),
                      ("motor.fault_line", s.faultLine), ("motor.encoder_line", s.encoderLine)]
        }
        if let a = alarm { fields.append(("alarm_output.line", a.name)) }
        if let b = button { fields.append(("bolus_button.line", b.name)) }
        return fields
    }
}
