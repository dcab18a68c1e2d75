import PumpCore

public enum StepDirection: Sendable {
    /// Pushes drug toward the catheter.
    case forward
    /// Backs the mechanism off; never used for delivery.
    case reverse
}

/// What the motor's own feedback says: cumulative encoder counts since power-up, whether the
/// driver reports a fault, and how many encoder edges the kernel dropped before they were read
/// (cumulative; 0 where the GPIO interface cannot tell, as libgpiod 1.6's cannot).
public struct MotorFeedback: Hashable, Sendable {
    public var encoderCounts: Int64
    public var driverFault: Bool
    public var droppedEncoderEdges: Int64
    public init(encoderCounts: Int64, driverFault: Bool, droppedEncoderEdges: Int64 = 0) {
        self.encoderCounts = encoderCounts
        self.driverFault = driverFault
        self.droppedEncoderEdges = droppedEncoderEdges
    }
}

/// The pump's stepper motor. One step is one stroke of `strokeVolume` (the board's calibration).
/// `disable()` is the safe state and must work from any task at any time: the watchdog calls it
/// on its own path, without going through the dose loop.
public protocol MotorDriver: Sendable {
    nonisolated(nonsending) func enable() async throws(HALError)
    nonisolated(nonsending) func disable() async throws(HALError)
    /// Issues `count` steps and returns when the pulses have been sent.
    nonisolated(nonsending) func step(count: Int, direction: StepDirection) async throws(HALError)
    nonisolated(nonsending) func feedback() async throws(HALError) -> MotorFeedback
}

/// The catheter (pump outlet) pressure transducer.
public protocol PressureSensor: Sendable {
    nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg
}

/// A pressure sensor whose chip the board file chose at run time (the controller is generic over
/// its sensor type; an existential is not one).
public struct AnyPressureSensor: PressureSensor {
    public let inner: any PressureSensor
    public init(_ inner: any PressureSensor) { self.inner = inner }
    nonisolated(nonsending) public func read() async throws(HALError) -> CentiMMHg { try await inner.read() }
}

public struct BatteryReading: Hashable, Sendable {
    public var stateOfCharge: PerMille
    public var voltage: Millivolts
    public init(stateOfCharge: PerMille, voltage: Millivolts) {
        self.stateOfCharge = stateOfCharge
        self.voltage = voltage
    }
}

/// The battery fuel gauge.
public protocol BatteryGauge: Sendable {
    nonisolated(nonsending) func read() async throws(HALError) -> BatteryReading
}
