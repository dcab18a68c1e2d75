import PumpDrivers
import PumpHAL

extension Board {
    /// Honeywell ABP2 series digital pressure sensor on the I²C bus (raw transfers, not SMBus).
    public struct ABP2: PressureSensorSection {
        public var address: UInt8
        /// The part's calibrated range in the unit of its order code (e.g. 0…400 mbar).
        public var range: ClosedRange<Double>
        public var unit: PumpDrivers.ABP2.PressureUnit
        public init(address: UInt8 = PumpDrivers.ABP2.defaultAddress, range: ClosedRange<Double>, unit: PumpDrivers.ABP2.PressureUnit) {
            self.address = address
            self.range = range
            self.unit = unit
        }

        /// The largest range the section takes, either way: the ABP2 series stops at 12 bar
        /// (9 000 mmHg), and this keeps every count's pressure far inside `CentiMMHg`.
        static let limitMMHg = 10_000.0

        public var configuration: PumpDrivers.ABP2.Configuration {
            PumpDrivers.ABP2.Configuration(address: address, range: range, unit: unit)
        }

        public func makeSensor<Bus: I2CBus & I2CTransfers>(bus: Bus, sleeper: any Sleeper & MonotonicClock) -> AnyPressureSensor {
            AnyPressureSensor(ABP2PressureSensor(bus: bus, configuration: configuration, sleeper: sleeper, clock: sleeper))
        }

        nonisolated(nonsending) public func identify<Bus: I2CBus & I2CTransfers>(bus: Bus) async throws(HALError) -> ChipIdentity {
            try await PumpDrivers.ABP2.identify(bus: bus, address: address)
        }

        public var measurableMMHg: ClosedRange<Double> { configuration.measurableMMHg }
        public static let measurableField = "pressure_sensor.range"

        /// `address` (0x28 when absent) and `range`: `{"min", "max", "unit"}`.
        static func read(_ p: inout ObjectReader, _ f: inout Fields) -> ABP2? {
            let address = p.value("address") == nil ? PumpDrivers.ABP2.defaultAddress : f.address(&p, "address")
            guard var r = f.object(&p, "range", required: true) else { return nil }
            defer { r.rejectUnknown(&f.problems) }
            let low = f.real(&r, "min", -1e6...1e6), high = f.real(&r, "max", -1e6...1e6)   // both read: each reported
            var unit: PumpDrivers.ABP2.PressureUnit?
            if let u = f.text(&r, "unit", required: true) {
                unit = PumpDrivers.ABP2.PressureUnit(rawValue: u)
                if unit == nil {
                    let units = PumpDrivers.ABP2.PressureUnit.allCases.map(\.rawValue).joined(separator: ", ")
                    f.fail("pressure_sensor.range.unit", "must be one of \(units), got '\(u)'")
                }
            }
            guard let address, let low, let high, let unit else { return nil }
            guard low < high else { f.fail("pressure_sensor.range", "min must be below max"); return nil }
            let section = ABP2(address: address, range: low...high, unit: unit)
            let mmHg = section.configuration.rangeMMHg
            guard mmHg.lowerBound >= -limitMMHg, mmHg.upperBound <= limitMMHg else {
                f.fail("pressure_sensor.range", "must lie within ±\(Int(limitMMHg)) mmHg (the ABP2 series spans at most 12 bar)")
                return nil
            }
            return section
        }
    }
}
