/// What can be done to the plant: every injectable fault, a refill, a cough.
import PumpCore

public enum SensorFaultMode: String, Sendable, CaseIterable {
    /// The sensor stops acknowledging its address.
    case nack
    /// The sensor keeps returning its last value.
    case stuck
    /// The sensor's readings get implausibly noisy.
    case noise
}

extension Plant {
    public func setOcclusion(fraction: Double) { state.withLock { $0.occlusion = max(0, min(1, fraction)) } }
    public func setLeak(fraction: Double) { state.withLock { $0.leak = max(0, min(1, fraction)) } }
    public func setSlip(fraction: Double) { state.withLock { $0.slip = max(0, min(1, fraction)) } }
    public func setStalled(_ on: Bool) { state.withLock { $0.stalled = on } }
    public func setDriverFault(_ on: Bool) { state.withLock { $0.driverFault = on } }
    /// The GPIO interface reports `count` more encoder edges lost in its buffer (libgpiod 2's
    /// sequence numbers show the gap).
    public func reportDroppedEncoderEdges(_ count: Int64) { state.withLock { $0.droppedEdges += count } }
    public func setSensorFault(_ mode: SensorFaultMode?) { state.withLock { $0.sensorFault = mode; $0.frozen = nil } }
    public func setGaugeFailing(_ on: Bool) { state.withLock { $0.gaugeFailing = on } }
    public func setBattery(percent: Double) { state.withLock { $0.battery = percent } }
    /// A refill: the reservoir is emptied and filled with `volume` of drug at `microgramsPerMillilitre`
    /// (nil: the same drug as before). Returns what it held and at what concentration.
    @discardableResult
    public func refill(to volume: Nanolitres, microgramsPerMillilitre: Double? = nil) -> (held: Nanolitres, microgramsPerMillilitre: Double) {
        state.withLock { s in
            let held = (Nanolitres(s.reservoir), s.reservoirConcentration)
            s.reservoir = volume.value
            if let c = microgramsPerMillilitre { s.reservoirConcentration = c }
            return held
        }
    }
    /// A cough starting now: tip pressure up by `mmHg` for `duration` nanoseconds.
    public func cough(mmHg: Double, durationNanoseconds: Int64) {
        state.withLock { s in s.coughs.append(Cough(start: s.now, end: s.now + durationNanoseconds, amplitudeMMHg: mmHg)) }
    }
}
