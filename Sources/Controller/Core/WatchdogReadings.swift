import PumpCore
import PumpHAL

/// What the watchdog read this tick. nil: the read failed (or, for the battery, was not due).
public struct WatchdogReadings: Sendable {
    public var pressure: CentiMMHg?
    /// A second conversion taken right after `pressure`: their difference is the sensor's noise.
    public var pressureRepeat: CentiMMHg?
    /// The core's `strokeMark` taken just before the two conversions (nil: not known).
    public var strokeMarkBeforePressure: StrokeMark?
    public var motor: MotorFeedback?
    public var battery: BatteryReading?
    public var batteryDue: Bool
    /// Why the reads that gave nil failed (the first error per device this tick).
    public var readErrors: [ReadDevice: HALError]
    // Public and explicit: the shell's @inlinable watchdog step builds it.
    public init(pressure: CentiMMHg?, pressureRepeat: CentiMMHg?, strokeMarkBeforePressure: StrokeMark?, motor: MotorFeedback?,
                battery: BatteryReading?, batteryDue: Bool, readErrors: [ReadDevice: HALError] = [:]) {
        (self.pressure, self.pressureRepeat, self.strokeMarkBeforePressure) = (pressure, pressureRepeat, strokeMarkBeforePressure)
        (self.motor, self.battery, self.batteryDue, self.readErrors) = (motor, battery, batteryDue, readErrors)
    }
}

/// Where the motor's strokes stood at one instant: confirmed, and whether any were in flight.
public struct StrokeMark: Hashable, Sendable {
    public var confirmed: Int64
    public var inFlight: Bool
}
