import PumpDrivers
import PumpHAL

extension Board {
    /// TI ADS1115 on the I²C bus, reading the pressure transducer single-shot: the driver's own
    /// configuration, as the board file gives it (its fields read through, e.g. `adc.channel`).
    @dynamicMemberLookup
    public struct ADS1115: PressureSensorSection {
        /// Address, channel AIN0…AIN3, full scale in millivolts (6144, 4096, 2048, 1024, 512, 256),
        /// samples per second (8, 16, 32, 64, 128, 250, 475, 860), two calibration points with
        /// different voltages, and the voltages a working transducer can give (outside them a
        /// reading is a sensor fault, not a pressure: a broken supply or signal wire reads 0 V or
        /// the supply, which the calibration would turn into a plausible pressure).
        public var configuration: PumpDrivers.ADS1115.Configuration

        public var address: UInt8 { configuration.address }
        public subscript<Value>(dynamicMember field: KeyPath<PumpDrivers.ADS1115.Configuration, Value>) -> Value {
            configuration[keyPath: field]
        }
        public var measurableMMHg: ClosedRange<Double> { configuration.measurableMMHg }
        /// The calibration at the ends of `valid_mv` (or of the full scale).
        public static let measurableField = "pressure_sensor.calibration"
        /// The two calibration points, in the file's order.
        public var calibration: [(millivolts: Double, mmHg: Double)] { [configuration.calibration.0, configuration.calibration.1] }

        static let fullScales = [6144, 4096, 2048, 1024, 512, 256]
        static let dataRates = [8, 16, 32, 64, 128, 250, 475, 860]

        public func makeSensor<Bus: I2CBus & I2CTransfers>(bus: Bus, sleeper: any Sleeper & MonotonicClock) -> AnyPressureSensor {
            AnyPressureSensor(ADS1115PressureSensor(bus: bus, configuration: configuration, sleeper: sleeper))
        }

        nonisolated(nonsending) public func identify<Bus: I2CBus & I2CTransfers>(bus: Bus) async throws(HALError) -> ChipIdentity {
            try await PumpDrivers.ADS1115.identify(bus: bus, address: address)
        }

        /// The section's fields after `model`, in the order their problems are reported.
        static func read(_ p: inout ObjectReader, _ f: inout Fields) -> ADS1115? {
            let points = readCalibration(&p, &f)
            let scale = f.integer(&p, "full_scale_mv", 256...6144, required: true)
            if let scale, !fullScales.contains(scale) {
                f.fail("pressure_sensor.full_scale_mv", "must be one of \(fullScales.map(String.init).joined(separator: ", "))")
            }
            let rate = f.integer(&p, "data_rate_sps", 8...860, required: true)
            if let rate, !dataRates.contains(rate) {
                f.fail("pressure_sensor.data_rate_sps", "must be one of \(dataRates.map(String.init).joined(separator: ", "))")
            }
            let window = readValidWindow(&p, &f)
            let address = f.address(&p, "address") ?? 0, channel = f.integer(&p, "channel", 0...3, required: true) ?? 0
            // Anything but two points is refused above; the section is then never used.
            let none = (millivolts: 0.0, mmHg: 0.0)
            let two = points.count == 2 ? (points[0], points[1]) : (none, none)
            return ADS1115(configuration: PumpDrivers.ADS1115.Configuration(
                address: address, channel: channel, fullScaleMillivolts: scale ?? 4096, dataRateSPS: rate ?? 128,
                calibration: two, validMillivolts: window))
        }

        private static func readCalibration(_ p: inout ObjectReader, _ f: inout Fields) -> [(millivolts: Double, mmHg: Double)] {
            var points: [(millivolts: Double, mmHg: Double)] = []
            if let list = p.array("calibration", &f.problems) {
                for (i, v) in list.enumerated() {
                    guard var c = ObjectReader.open(v, path: "pressure_sensor.calibration[\(i)]", problems: &f.problems) else { continue }
                    // Both read, so a bad one leaves its sibling known (not reported as unknown).
                    let mv = f.real(&c, "mv", -6144...6144), mmHg = f.real(&c, "mmhg", -1000...5000)
                    if let mv, let mmHg { points.append((mv, mmHg)) }
                    c.rejectUnknown(&f.problems)
                }
                if list.count != 2 {
                    f.fail("pressure_sensor.calibration", "needs exactly two points, got \(list.count)")
                } else if points.count == 2, points[0].millivolts == points[1].millivolts {
                    f.fail("pressure_sensor.calibration", "the two points need different voltages")
                }
            } else if p.value("calibration") == nil {
                f.fail("pressure_sensor.calibration", "is required (two points: mv and mmhg)")
            }
            return points
        }

        private static func readValidWindow(_ p: inout ObjectReader, _ f: inout Fields) -> ClosedRange<Double>? {
            var window: ClosedRange<Double>?
            if var w = f.object(&p, "valid_mv", required: false) {
                let low = f.real(&w, "min", -6144...6144), high = f.real(&w, "max", -6144...6144)
                if let low, let high {
                    if low < high { window = low...high } else { f.fail("pressure_sensor.valid_mv", "min must be below max") }
                }
                w.rejectUnknown(&f.problems)
            }
            return window
        }
    }
}
