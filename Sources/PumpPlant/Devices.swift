import PumpCore
import PumpHAL
import PumpSync

/// The motor of the simulated rig: steps move the plant; `enable`/`disable` gate them like the
/// driver's ENABLE line (a disabled driver ignores STEP pulses).
public final class FakeMotorDriver: MotorDriver {
    public let plant: Plant
    public init(plant: Plant) { self.plant = plant }

    /// A command failure injected as `Fault.motorCommandFailure` (tests of the controller's reaction).
    private func injected() -> HALError? { plant.takeCommandFailure() }

    nonisolated(nonsending) public func enable() async throws(HALError) {
        if let e = injected() { throw e }
        plant.setEnabled(true)
    }
    nonisolated(nonsending) public func disable() async throws(HALError) { plant.setEnabled(false) }
    nonisolated(nonsending) public func step(count: Int, direction: StepDirection) async throws(HALError) {
        if let e = injected() { throw e }
        guard direction == .forward else { return }
        for _ in 0..<count { plant.stroke() }
    }
    /// Inlinable, as the reads below: the simulator calls them several times a tick, and a call
    /// the simulator's module can inline needs no async frame of its own.
    @inlinable nonisolated(nonsending) public func feedback() async throws(HALError) -> MotorFeedback { plant.feedback() }
    public var isEnabled: Bool { plant.motorEnabled }
}

public struct FakePressureSensor: PressureSensor {
    public let plant: Plant
    public init(plant: Plant) { self.plant = plant }
    @inlinable nonisolated(nonsending) public func read() async throws(HALError) -> CentiMMHg { try plant.readPressure() }
}

public struct FakeBatteryGauge: BatteryGauge {
    public let plant: Plant
    public init(plant: Plant) { self.plant = plant }
    @inlinable nonisolated(nonsending) public func read() async throws(HALError) -> BatteryReading { try plant.readBattery() }
}
