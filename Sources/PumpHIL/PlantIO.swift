import PumpHAL

/// The controller's motor outputs as the plant sees them, at physical levels.
public struct MotorPins: Sendable, Equatable {
    public var step: Bool
    public var direction: Bool
    public var enable: Bool
    public init(step: Bool, direction: Bool, enable: Bool) {
        self.step = step
        self.direction = direction
        self.enable = enable
    }
}

/// The plant's side of the wiring: it samples the controller's outputs, drives the controller's
/// inputs and feeds the sensor chips. Two implementations: the kernel's simulators in the VM and
/// a loopback jig on a real rig. Levels are physical (`true` is high).
public protocol PlantIO: Sendable {
    nonisolated(nonsending) func sampleMotor() async throws(HALError) -> MotorPins
    /// The controller's alarm output, physical level (nil where the jig has no wire to it).
    nonisolated(nonsending) func sampleAlarm() async throws(HALError) -> Bool?
    nonisolated(nonsending) func setEncoder(_ high: Bool) async throws(HALError)
    nonisolated(nonsending) func setFault(_ high: Bool) async throws(HALError)
    nonisolated(nonsending) func setButton(_ high: Bool) async throws(HALError)
    nonisolated(nonsending) func writePressure(mmHg: Double) async throws(HALError)
    /// False where the gauge is a real chip on a real cell (a rig): the battery cases are skipped.
    var canSetBattery: Bool { get }
    nonisolated(nonsending) func writeBattery(percent: Double, millivolts: Double) async throws(HALError)
    /// Who holds the controller's line `name` (nil where the jig cannot tell).
    func holder(ofLine name: String) -> LineHolder?
}

/// A line's owner and direction, as the kernel reports it.
public struct LineHolder: Sendable, Equatable, CustomStringConvertible {
    public var consumer: String?
    public var isOutput: Bool
    public init(consumer: String?, isOutput: Bool) {
        self.consumer = consumer
        self.isOutput = isOutput
    }
    public var description: String { "\(consumer ?? "-"):\(isOutput ? "out" : "in")" }
}
