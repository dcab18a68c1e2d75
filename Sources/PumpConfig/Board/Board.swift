/// The board type: a rig's wiring, devices and calibration as its board file gives them.
import Foundation
import PumpCore

/// A rig, as described by its board file in Boards/ (schema: docs/board-files.md). Only
/// `Board.parse` makes one, so a `Board` is always complete and in range: a board file with a
/// missing or wrong field is refused, with the field named, before any hardware is touched.
public struct Board: Sendable, Equatable {
    public enum Kind: String, Sendable { case simulated, linux }
    public enum Level: String, Sendable { case high, low }

    /// Stepper motor wiring and timing (linux boards).
    public struct Stepper: Sendable, Equatable {
        public var stepLine: String
        public var directionLine: String
        public var enableLine: String
        /// The ENABLE level that lets the driver move the motor; the other level is the safe state.
        public var enableActive: Level
        public var faultLine: String
        /// The nFAULT level that means "fault" (low on most drivers).
        public var faultActive: Level
        public var encoderLine: String
        public var stepPulseMicroseconds: Int
        public var maxStepRateHz: Int
        /// How long a step waits for its encoder edges before it reports what it saw.
        public var encoderTimeoutMilliseconds: Int
        /// The slowest legitimate step command of `strokes` strokes: one pulse each at the top step
        /// rate, then the full encoder wait (`Stepper.step`). The controller's limit on a step under
        /// way is derived from it (`SafetyLimits.allowWakes`).
        public func worstStep(strokes: Int64) -> Nanoseconds {
            Nanoseconds(strokes * 1_000_000_000 / Int64(maxStepRateHz) + Int64(encoderTimeoutMilliseconds) * 1_000_000)
        }
    }

    /// Maxim MAX17048 fuel gauge on the I²C bus.
    public struct MAX17048: Sendable, Equatable {
        public var address: UInt8
    }

    public struct Line: Sendable, Equatable {
        public var name: String
        public var active: Level
    }

    public var name: String
    public var kind: Kind
    /// The board's calibration: the volume one motor step pushes.
    public var strokeVolume: Nanolitres
    public var encoderCountsPerStroke: Int64
    /// Linux boards: GPIO chip label (lines are found by name on it), I²C bus number, devices.
    public var gpioChipLabel: String?
    /// The I²C bus: a number (/dev/i2c-N), or the adapter's name when the number is not fixed
    /// (the kernel's i2c-stub is "SMBus stub driver").
    public var i2cBus: Int?
    public var i2cAdapterName: String?
    public var stepper: Stepper?
    /// Linux boards: the registered model `pressure_sensor.model` names (PressureSensors.swift).
    public var pressureSensor: PressureSensorConfig?
    public var fuelGauge: MAX17048?
    /// Optional on any board.
    public var alarmOutput: Line?
    public var bolusButton: Line?
    /// A hardware watchdog device (e.g. /dev/watchdog), fed only while both tasks are healthy.
    public var watchdogDevice: String?
    /// The timeout pumpd sets on it (WDIOC_SETTIMEOUT), seconds; nil keeps the driver's. At least
    /// three of pumpd's feeds, so one late wake never resets the board.
    public var watchdogTimeoutSeconds: Int?
    /// How often pumpd feeds the hardware watchdog (while both loops are healthy).
    public static let watchdogFeedSeconds = 1
    public static let watchdogTimeoutRange = (3 * watchdogFeedSeconds)...60
    /// How the hardware-in-the-loop plant reaches this board's pins (docs/hil.md); nil: no HIL.
    public var hilJig: HILJig?

    public static let schemaVersion = 1

    /// The pressure sensor when it is an ADS1115 (the hardware-in-the-loop plant's only one).
    public var pressureADC: ADS1115? { pressureSensor?.section as? ADS1115 }

    public static func parse(_ data: Data) throws(ValidationErrors) -> Board {
        try ObjectReader.document(data) { r, problems in read(&r, &problems) }
    }

    public static func load(path: String) throws(ValidationErrors) -> Board {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationErrors([FieldError(path, "cannot read the board file")])
        }
        return try parse(data)
    }
}
