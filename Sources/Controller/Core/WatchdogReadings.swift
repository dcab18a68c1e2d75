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
    public init(pressure: CentiMMHg?, pressureRepeat: CentiMMHg?, strokeMarkBeforePressure: StrokeMark?, motor: MotorFeedback?,
                battery: BatteryReading?, batteryDue: Bool, readErrors: [ReadDevice: HALError] = [:]) {
        self.readErrors = readErrors
        self.pressure = pressure
        self.pressureRepeat = pressureRepeat
        self.strokeMarkBeforePressure = strokeMarkBeforePressure
        self.motor = motor
        self.battery = battery
        self.batteryDue = batteryDue
    }
}

/// Where the motor's strokes stood at one instant: confirmed, and whether any were in flight.
public struct StrokeMark: Hashable, Sendable {
    public var confirmed: Int64
    public var inFlight: Bool
    public init(confirmed: Int64, inFlight: Bool) {
        self.confirmed = confirmed
        self.inFlight = inFlight
    }
}
