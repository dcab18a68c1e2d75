/// What the balance and the bench see of the plant (not the controller): its totals.
import PumpCore

extension Plant {
    public struct Totals: Sendable {
        public var displaced: Nanolitres
        public var leaked: Nanolitres
        /// Net volume that reached the spinal fluid: into the line minus what the compliance holds.
        public var delivered: Nanolitres
        public var reservoir: Nanolitres
        /// The least the reservoir held at any moment of the run.
        public var lowestReservoir: Nanolitres
        public var strokes: Int64
        public var strokesWhileDisabled: Int64
        public var pressureMMHg: Double
        public var batteryPercent: Double
        /// The drug that reached the patient: each volume that left the tip at the concentration
        /// it really had (the old drug in the dead space first after a refill), in µg.
        public var deliveredMicrograms: Double
        /// The drug the pump has pushed past the dead space (it reaches the patient as the
        /// compliance lets it go): delivered plus what the compliance holds, in µg. The dosing
        /// judge compares this with the prescription, free of the line's lag.
        public var committedMicrograms: Double
        /// The concentration of the next fluid to leave the tip, µg/mL.
        public var tipMicrogramsPerMillilitre: Double
    }

    public var totals: Totals {
        state.withLock { s in
            let held = Int64((s.p.complianceNanolitresPerMMHg * (s.pressure - s.p.baselineMMHg)).rounded())
            let delivered = max(0, s.intoLine - held)
            return Totals(displaced: Nanolitres(s.displaced), leaked: Nanolitres(s.leaked),
                          delivered: Nanolitres(delivered), reservoir: Nanolitres(s.reservoir), lowestReservoir: Nanolitres(s.lowestReservoir),
                          strokes: s.strokes, strokesWhileDisabled: s.strokesWhileDisabled,
                          pressureMMHg: s.pressure, batteryPercent: s.battery,
                          deliveredMicrograms: s.fluid.micrograms(inFirst: delivered),
                          committedMicrograms: s.fluid.micrograms(inFirst: s.intoLine),
                          tipMicrogramsPerMillilitre: s.fluid.concentration(at: delivered) ?? s.reservoirConcentration)
        }
    }
}
