/// The board's `hil_jig` section: how the hardware-in-the-loop plant reaches the pins, and its reading.
extension Board {
    /// The plant's side of a hardware-in-the-loop setup.
    public enum HILJig: Sendable, Equatable {
        /// The kernel's simulators (gpio-sim, i2c-stub): the plant reads the controller's outputs
        /// and drives its inputs through sysfs, and writes the chips' registers into i2c-stub.
        case kernelSimulators
        /// A real rig wired back to spare lines of the same GPIO chip, with a DAC feeding the
        /// pressure ADC's input.
        case loopback(Loopback)
    }

    /// Jig lines, named like the board's own: each pump line is wired to the jig line here.
    public struct Loopback: Sendable, Equatable {
        public var stepIn: String, directionIn: String, enableIn: String
        public var encoderOut: String, faultOut: String, bolusOut: String?
        /// MCP4725 12-bit DAC on the board's I²C bus, its output wired to the ADC's channel.
        public var dacAddress: UInt8
        public var dacFullScaleMillivolts: Int
    }

    static func readJig(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> HILJig? {
        guard var j = f.object(&r, "hil_jig", required: false) else { return nil }
        var jig: HILJig?
        if kind == .simulated { f.fail("hil_jig", "is only for linux boards") }
        switch f.text(&j, "kind", required: true) {
        case "kernel-sim"?: jig = .kernelSimulators
        case "loopback"?:
            var dacAddress: UInt8?, scale: Int?
            if var d = f.object(&j, "pressure_dac", required: true) {
                if let m = f.text(&d, "model", required: true), m != "mcp4725" { f.fail("hil_jig.pressure_dac.model", "must be mcp4725, got '\(m)'") }
                dacAddress = f.address(&d, "address")
                scale = f.integer(&d, "full_scale_mv", 1000...5500, required: true)
                d.rejectUnknown(&f.problems)
            }
            let loop = Loopback(stepIn: f.line(&j, "step_in") ?? "", directionIn: f.line(&j, "dir_in") ?? "",
                                enableIn: f.line(&j, "enable_in") ?? "", encoderOut: f.line(&j, "encoder_out") ?? "",
                                faultOut: f.line(&j, "fault_out") ?? "",
                                bolusOut: j.value("bolus_out") == nil ? nil : f.line(&j, "bolus_out"),
                                dacAddress: dacAddress ?? 0, dacFullScaleMillivolts: scale ?? 0)
            jig = .loopback(loop)
        case let k?:
            f.fail("hil_jig.kind", "must be kernel-sim or loopback, got '\(k)'")
            j.skipRemaining()
        case nil: j.skipRemaining()
        }
        j.rejectUnknown(&f.problems)
        return jig
    }
}
