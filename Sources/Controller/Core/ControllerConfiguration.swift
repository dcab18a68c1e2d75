import PumpCore

/// Everything the controller needs to know about its rig and therapy at start.
public struct ControllerConfiguration: Sendable {
    public var prescription: Prescription
    /// The board's calibration: volume of one motor step.
    public var strokeVolume: Nanolitres
    public var encoderCountsPerStroke: Int64
    public var reservoirCapacity: Nanolitres
    public var reservoirFill: Nanolitres
    public var limits: SafetyLimits
    public var zone: any TimeZoneRules
    /// Most strokes one dose-loop wake issues (catch-up after lateness is spread out).
    public var maximumStrokesPerWake: Int64 = 4

    public init(prescription: Prescription, strokeVolume: Nanolitres, encoderCountsPerStroke: Int64 = 4,
                reservoirCapacity: Nanolitres, reservoirFill: Nanolitres, limits: SafetyLimits = SafetyLimits(),
                zone: any TimeZoneRules = FixedOffsetZone()) {
        self.prescription = prescription
        self.strokeVolume = strokeVolume
        self.encoderCountsPerStroke = encoderCountsPerStroke
        self.reservoirCapacity = reservoirCapacity
        self.reservoirFill = reservoirFill
        self.limits = limits
        self.zone = zone
    }
}
