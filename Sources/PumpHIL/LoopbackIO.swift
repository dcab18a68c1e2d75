#if LinuxBackend && os(Linux)
import PumpConfig
import PumpHAL
import PumpLinux

/// The plant's wiring on a real rig: spare lines of the board's own GPIO chip wired back to the
/// controller's lines, and an MCP4725 DAC whose output feeds the pressure ADC (docs/hil.md).
/// The battery gauge is a real chip on a real cell, so the battery cases are skipped.
public final class LoopbackIO: PlantIO, @unchecked Sendable {
    // Lines are only used by the plant's single loop.
    private let step: GPIOInputLine, direction: GPIOInputLine, enable: GPIOInputLine
    private let encoder: GPIOOutputLine, fault: GPIOOutputLine, button: GPIOOutputLine?
    private let bus: LinuxI2CBus
    private let chip: GPIOChip
    private let adc: Board.ADS1115
    private let jig: Board.Loopback

    public init(board: Board, jig: Board.Loopback) throws(HALError) {
        guard let label = board.gpioChipLabel, let adc = board.pressureADC else {
            throw HALError(.notFound, "board \(board.name) is not a complete linux board")
        }
        let chip = try GPIOChip(label: label, consumer: "pump-hil-plant")
        self.chip = chip
        step = try chip.input(named: jig.stepIn, edges: .both)
        direction = try chip.input(named: jig.directionIn, edges: .both)
        enable = try chip.input(named: jig.enableIn, edges: .both)
        encoder = try chip.output(named: jig.encoderOut, initial: false)
        // nFAULT and the button rest at their inactive levels.
        fault = try chip.output(named: jig.faultOut, initial: board.stepper?.faultActive == .low)
        button = try jig.bolusOut.map { n throws(HALError) in try chip.output(named: n, initial: board.bolusButton?.active == .low) }
        bus = try LinuxI2CBus(number: board.i2cBus, adapterName: board.i2cAdapterName)
        self.adc = adc
        self.jig = jig
    }

    nonisolated(nonsending) public func sampleMotor() async throws(HALError) -> MotorPins {
        MotorPins(step: try await step.get(), direction: try await direction.get(), enable: try await enable.get())
    }
    /// The loopback jig has no wire from the alarm output (docs/hil.md).
    nonisolated(nonsending) public func sampleAlarm() async throws(HALError) -> Bool? { nil }
    nonisolated(nonsending) public func setEncoder(_ high: Bool) async throws(HALError) { try await encoder.set(high) }
    nonisolated(nonsending) public func setFault(_ high: Bool) async throws(HALError) { try await fault.set(high) }
    nonisolated(nonsending) public func setButton(_ high: Bool) async throws(HALError) { try await button?.set(high) }

    nonisolated(nonsending) public func writePressure(mmHg: Double) async throws(HALError) {
        let w = ChipRegisters.mcp4725FastWrite(millivolts: ChipRegisters.transducerMillivolts(mmHg: mmHg, adc: adc),
                                               fullScaleMillivolts: jig.dacFullScaleMillivolts)
        try await bus.writeByte(address: jig.dacAddress, register: w.register, value: w.value)
    }

    public var canSetBattery: Bool { false }
    nonisolated(nonsending) public func writeBattery(percent: Double, millivolts: Double) async throws(HALError) {}

    public func holder(ofLine name: String) -> LineHolder? {
        guard let i = chip.info(named: name) else { return nil }
        return LineHolder(consumer: i.used ? i.consumer : nil, isOutput: i.isOutput)
    }
}
#endif
