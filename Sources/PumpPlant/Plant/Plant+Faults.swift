/// What can be done to the plant: every injectable fault (through `apply`, the one way in), a refill.
import PumpCore
import PumpHAL

extension Plant {
    /// Applies `fault` now: the only place a fault reaches the plant (the simulator's scenario
    /// events, the HIL plant's commands and the tests all come through here).
    public func apply(_ fault: Fault) {
        func clamped(_ f: Double) -> Double { max(0, min(1, f)) }
        state.withLock { s in
            switch fault {
            case .occlusion(let f): s.occlusion = clamped(f)
            case .clearOcclusion: s.occlusion = 0
            case .motorStall: s.stalled = true
            case .clearMotorStall: s.stalled = false
            case .encoderSlip(let f): s.slip = clamped(f)
            case .leak(let f): s.leak = clamped(f)
            case .pressureSensorFault(let m): s.sensorFault = m; s.frozen = nil
            case .clearSensorFault: s.sensorFault = nil; s.frozen = nil
            case .battery(let p): s.battery = p
            case .cough(let mmHg, let over): s.coughs.append(Cough(start: s.now, end: s.now + over.value, amplitudeMMHg: mmHg))
            case .driverFault: s.driverFault = true
            case .clearDriverFault: s.driverFault = false
            case .droppedEncoderEdges(let n): s.droppedEdges += n
            case .gaugeFailing: s.gaugeFailing = true
            case .clearGaugeFailing: s.gaugeFailing = false
            case .motorCommandFailure(let kind, let errno): s.commandFailures.append(HALError(kind, errno: errno))
            }
        }
    }

    /// The error the motor driver's next command throws, if a `motorCommandFailure` is pending.
    public func takeCommandFailure() -> HALError? {
        state.withLock { $0.commandFailures.isEmpty ? nil : $0.commandFailures.removeFirst() }
    }

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
}
