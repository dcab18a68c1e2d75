/// The plant's sensors: the pressure transducer (with its faults) and the fuel gauge.
import PumpCore
import PumpHAL

extension Plant {
    /// One transducer reading: the outlet pressure plus noise (or the active sensor fault).
    public func readPressure() throws(HALError) -> CentiMMHg {
        let r: Result<CentiMMHg, HALError> = state.withLock { s in
            switch s.sensorFault {
            case .nack?:
                return .failure(HALError(.noAcknowledge, errno: 121, "pressure ADC did not acknowledge"))
            case .stuck?:
                if s.frozen == nil { s.frozen = s.lastReading ?? CentiMMHg(mmHg: s.pressure) }
                return .success(s.frozen!)
            case .noise?, nil:
                let sigma = (s.p.pressureNoiseMMHg * s.p.pressureNoiseMMHg + s.p.sensorFloorMMHg * s.p.sensorFloorMMHg).squareRoot()
                var v = s.pressure + sigma * s.rng.normal()
                if s.sensorFault == .noise { v += s.p.faultNoiseMMHg * s.rng.normal() }
                if v > s.p.sensorMaxMMHg {
                    return .failure(HALError(.aboveRange, "pressure transducer above its \(Int(s.p.sensorMaxMMHg)) mmHg top"))
                }
                let reading = CentiMMHg(mmHg: v)
                s.lastReading = reading
                return .success(reading)
            }
        }
        return try r.get()
    }

    public func readBattery() throws(HALError) -> BatteryReading {
        let r: Result<BatteryReading, HALError> = state.withLock { s in
            if s.gaugeFailing { return .failure(HALError(.noAcknowledge, errno: 121, "fuel gauge did not acknowledge")) }
            let soc = max(0, min(100, s.battery))
            return .success(BatteryReading(stateOfCharge: PerMille(percent: soc), voltage: Millivolts(Int32(3_400 + 8 * soc))))
        }
        return try r.get()
    }
}
