/// The plant's motor: strokes that displace drug from the reservoir into the line, ENABLE, encoder feedback.
import PumpCore
import PumpHAL

extension Plant {
    /// One motor step, as the driver's STEP pulse (public for plants that watch real pins: the
    /// hardware-in-the-loop plant calls it on each STEP edge it sees).
    public func stroke() {
        state.withLock { s in
            s.strokes += 1
            guard s.enabled else { s.strokesWhileDisabled += 1; return }
            guard !s.stalled, !s.driverFault else { return }
            s.battery -= s.p.batteryDrainPercentPerStroke
            let moved = 1 - s.slip
            s.carryEncoder += Double(s.p.encoderCountsPerStroke) * moved
            let counts = s.carryEncoder.rounded(.down)
            s.encoder += Int64(counts)
            s.carryEncoder -= counts
            var volume = Double(s.p.strokeVolume.value) * moved
            if s.p.strokeNoiseFraction > 0 { volume = max(0, volume * (1 + s.p.strokeNoiseFraction * s.rng.normal())) }
            s.carryDisplaced += volume
            var nl = Int64(s.carryDisplaced.rounded(.down))
            s.carryDisplaced -= Double(nl)
            nl = min(nl, s.reservoir)
            s.reservoir -= nl
            s.lowestReservoir = min(s.lowestReservoir, s.reservoir)
            s.displaced += nl
            s.carryLeak += Double(nl) * s.leak
            let lost = Int64(s.carryLeak.rounded(.down))
            s.carryLeak -= Double(lost)
            s.leaked += lost
            s.intoLine += nl - lost
            s.fluid.append(nl - lost, microgramsPerMillilitre: s.reservoirConcentration)
            s.pressure += Double(nl - lost) / s.p.complianceNanolitresPerMMHg
        }
    }

    /// The driver's ENABLE input, at its active level or not.
    public func setEnabled(_ on: Bool) { state.withLock { $0.enabled = on } }
    var motorEnabled: Bool { state.withLock { $0.enabled } }
    public func feedback() -> MotorFeedback {
        state.withLock { MotorFeedback(encoderCounts: $0.encoder, driverFault: $0.driverFault, droppedEncoderEdges: $0.droppedEdges) }
    }
}
