/// Every fault that can be done to the simulated rig, as one typed, Codable value: scenario events,
/// the swarm's plans, the HIL plant's commands and the tests all name a fault this way, and
/// `Plant.apply(_:)` is the one place a fault reaches the plant (docs/architecture.md "Where a
/// fault is injected").
///
/// The JSON form is the scenario file's event (docs/scenarios.md) without its `at`:
/// `{"type": "occlusion", "fraction": 1}`, `{"type": "cough", "mmhg": 40, "over": 1}` (seconds), …
/// The last six types are not scenario events: tests and the HIL plant use them.
import PumpCore
import PumpHAL

public enum SensorFaultMode: String, Sendable, CaseIterable, Codable {
    /// The sensor stops acknowledging its address.
    case nack
    /// The sensor keeps returning its last value.
    case stuck
    /// The sensor's readings get implausibly noisy.
    case noise
}

public enum Fault: Sendable, Equatable {
    /// The catheter blocked by `fraction` (1: fully; 0: open again).
    case occlusion(fraction: Double)
    case clearOcclusion
    /// The motor turns no more (its encoder sees no motion).
    case motorStall
    /// A stalled motor repaired.
    case clearMotorStall
    /// The rotor slips: `fraction` of each stroke's motion is lost (and the encoder sees it).
    case encoderSlip(fraction: Double)
    /// `fraction` of each stroke leaks before the catheter.
    case leak(fraction: Double)
    case pressureSensorFault(SensorFaultMode)
    case clearSensorFault
    case battery(percent: Double)
    /// The tip pressure up by `mmHg` for `over`, from now.
    case cough(mmHg: Double, over: Nanoseconds)
    /// The stepper driver asserts its fault line (nFAULT).
    case driverFault
    case clearDriverFault
    /// The GPIO interface reports `count` more encoder edges lost in its buffer (libgpiod 2's
    /// sequence numbers show the gap).
    case droppedEncoderEdges(count: Int64)
    /// The fuel gauge stops answering.
    case gaugeFailing
    case clearGaugeFailing
    /// The motor driver's next command (enable or step) fails with this error, once.
    case motorCommandFailure(HALError.Kind, errno: Int32?)

    /// The wire type (a scenario event's `type`).
    public var name: String {
        switch self {
        case .occlusion: "occlusion"
        case .clearOcclusion: "clear_occlusion"
        case .motorStall: "motor_stall"
        case .clearMotorStall: "clear_motor_stall"
        case .encoderSlip: "encoder_slip"
        case .leak: "leak"
        case .pressureSensorFault: "pressure_sensor_fault"
        case .clearSensorFault: "clear_sensor_fault"
        case .battery: "battery"
        case .cough: "cough"
        case .driverFault: "driver_fault"
        case .clearDriverFault: "clear_driver_fault"
        case .droppedEncoderEdges: "dropped_encoder_edges"
        case .gaugeFailing: "gauge_failing"
        case .clearGaugeFailing: "clear_gauge_failing"
        case .motorCommandFailure: "motor_command_failure"
        }
    }

    /// Defaults a fault may leave out (the scenario file's).
    public enum Defaults {
        public static let occlusionFraction = 1.0
        public static let coughMMHg = 40.0
        public static let coughOver = Nanoseconds.seconds(1)
    }
}
