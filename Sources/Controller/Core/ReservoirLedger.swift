import PumpCore

/// What the reservoir should hold. Consumption counts whichever is larger, commanded strokes or
/// measured motion, so an over-infusing mechanism drains the ledger too and the low-reservoir
/// alarm is not fooled (a real pump computes it from the programme and stays silent).
public struct ReservoirLedger: Sendable {
    public var capacity: Nanolitres
    /// Volume in the reservoir at the last fill.
    public private(set) var filled: Nanolitres
    public private(set) var commandedSinceFill = Nanolitres.zero
    public private(set) var measuredSinceFill = Nanolitres.zero

    public init(capacity: Nanolitres, filled: Nanolitres) {
        self.capacity = capacity
        self.filled = filled
    }

    public var expected: Nanolitres { filled - max(commandedSinceFill, measuredSinceFill) }

    public mutating func recordCommanded(_ v: Nanolitres) { commandedSinceFill += v }
    public mutating func recordMeasured(total v: Nanolitres) { measuredSinceFill = max(measuredSinceFill, v) }

    /// True when the next stroke cannot be completely delivered.
    public func isEmpty(strokeVolume: Nanolitres) -> Bool { expected < strokeVolume }
    /// The low-reservoir rule (the one home of it): at or under the level in force, which starts
    /// as `SafetyLimits.lowReservoir` and a clinician may set (`set_low_reservoir`).
    public func isLow(level: Nanolitres) -> Bool { expected <= level }
}
