import PumpCore
import PumpHAL

/// Honeywell ABP2 series digital pressure sensor on I²C: not a register map. A measurement is the
/// command 0xAA 0x00 0x00, a wait while the status byte says busy, then a plain 7-byte read: the
/// status, 24-bit pressure and 24-bit temperature counts, most significant byte first.
///
/// From the ABP2 Series datasheet (Honeywell 32350268): status byte bit 6 "device is powered",
/// bit 5 busy, bit 2 memory integrity test failed, bit 0 internal math saturation, bits 7, 4, 3
/// and 1 always 0; the digital transfer function is calibrated between 10 % and 90 % of 2^24
/// counts, P = (Output − Output_min) × (Pmax − Pmin) / (Output_max − Output_min) + Pmin, and
/// T (°C) = Output × 200 / (2^24 − 1) − 50. (The PDF's own text could not be fetched here; these
/// values agree across drivers that cite it: Linux's abp2030pa (the 7-byte read), RIOT's abp2
/// (the status table) and ESPHome's honeywellabp2 (0x19999A and 0xE66666).)
public enum ABP2 {
    /// The series' usual I²C address (the order code says which one a part answers at).
    public static let defaultAddress: UInt8 = 0x28
    /// Output Measurement Command.
    public static let measureCommand: [UInt8] = [0xAA, 0x00, 0x00]

    public struct Status: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let powered = Status(rawValue: 0x40)
        public static let busy = Status(rawValue: 0x20)
        /// The power-up check of the calibration memory failed: every count is suspect.
        public static let memoryError = Status(rawValue: 0x04)
        /// The ASIC's arithmetic saturated: the counts are clipped, not a pressure.
        public static let mathSaturation = Status(rawValue: 0x01)
        /// Bits 7, 4, 3 and 1, always 0 on an ABP2: set, the byte is not an ABP2's (a floating
        /// bus reads 0xFF).
        public static let alwaysZero = Status(rawValue: 0x9A)
    }

    /// 10 % and 90 % of 2^24 counts (1 677 721.6 and 15 099 494.4, to the nearest count): Pmin
    /// and Pmax.
    public static let outputMin: Int64 = 1_677_722
    public static let outputMax: Int64 = 15_099_494
    /// 5 % to 95 % of 2^24: beyond them the part is saturated or far outside its range, a sensor
    /// fault rather than a pressure (half the band beyond the calibration on each side, as the
    /// ADS1115 boards' 250–4750 mV window around a 500–4500 mV transducer).
    public static let validOutput: ClosedRange<Int64> = 838_861...15_938_355

    /// A conversion takes about 5 ms (the datasheet's ~200 Hz update); then the busy bit is
    /// polled every millisecond until a deadline on the monotonic clock.
    public static let conversionNanoseconds: Int64 = 5_000_000
    public static let pollNanoseconds: Int64 = 1_000_000
    public static let timeoutNanoseconds: Int64 = 20_000_000

    /// The units ABP2 order codes are ranged in, as pascals (exact by definition: the pound-force
    /// and inch are defined in SI since 1959).
    public enum PressureUnit: String, Sendable, CaseIterable {
        case psi, mbar, bar, kPa
        public var pascals: Double {
            switch self {
            case .psi: 4.448_221_615_260_5 / 0.000_645_16   // lbf / in²: 6894.757… Pa
            case .mbar: 100
            case .bar: 100_000
            case .kPa: 1000
            }
        }
    }
    /// The conventional millimetre of mercury: 13.5951 g/cm³ × 9.80665 m/s² × 1 mm, exactly.
    public static let pascalsPerMMHg = 133.322_387_415

    public struct Configuration: Sendable, Equatable {
        public var address: UInt8
        /// The part's calibrated range, Pmin…Pmax, already in mmHg.
        public var rangeMMHg: ClosedRange<Double>
        public init(address: UInt8 = ABP2.defaultAddress, rangeMMHg: ClosedRange<Double>) {
            self.address = address
            self.rangeMMHg = rangeMMHg
        }
        /// The pressures a reading can show: the transfer function at the ends of `validOutput`
        /// (5 % and 95 % of 2^24: the calibrated range and a sixteenth of its span each side).
        public var measurableMMHg: ClosedRange<Double> {
            let perCount = (rangeMMHg.upperBound - rangeMMHg.lowerBound) / Double(ABP2.outputMax - ABP2.outputMin)
            func mmHg(_ counts: Int64) -> Double { rangeMMHg.lowerBound + Double(counts - ABP2.outputMin) * perCount }
            return mmHg(ABP2.validOutput.lowerBound)...mmHg(ABP2.validOutput.upperBound)
        }
        /// The range as the order code gives it (e.g. 0…400 mbar), converted once.
        public init(address: UInt8 = ABP2.defaultAddress, range: ClosedRange<Double>, unit: PressureUnit) {
            let scale = unit.pascals / ABP2.pascalsPerMMHg
            self.init(address: address, rangeMMHg: (range.lowerBound * scale)...(range.upperBound * scale))
        }
    }

    public struct Measurement: Sendable, Equatable {
        public var pressure: CentiMMHg
        public var temperatureMilliCelsius: Int32
    }

    /// What is wrong with a status byte, apart from busy; nil: nothing. A fault the watchdog sees,
    /// never a pressure.
    static func problem(_ status: Status, at address: UInt8) -> HALError? {
        let chip = "ABP2 at 0x\(String(address, radix: 16)): status 0x\(String(status.rawValue, radix: 16))"
        if !status.isDisjoint(with: .alwaysZero) || !status.contains(.powered) {
            return HALError(.invalidData, "\(chip) is not an ABP2's (bits 7, 4, 3, 1 clear and bit 6 set)")
        }
        if status.contains(.memoryError) { return HALError(.deviceFault, "\(chip): memory integrity test failed") }
        if status.contains(.mathSaturation) { return HALError(.invalidData, "\(chip): internal math saturation") }
        return nil
    }

    /// The status byte alone (no command sent), for a board check: an ABP2 answers with bit 6 set
    /// and its always-zero bits clear.
    nonisolated(nonsending) public static func identify<Bus: I2CTransfers>(bus: Bus, address: UInt8) async throws(HALError) -> ChipIdentity {
        guard let byte = try await bus.read(address: address, count: 1).first else {
            return ChipIdentity(matches: false, detail: "no status byte")
        }
        let status = Status(rawValue: byte)
        let hex = "0x" + String(status.rawValue, radix: 16)
        guard status.isDisjoint(with: .alwaysZero), status.contains(.powered) else {
            return ChipIdentity(matches: false, detail: "status byte \(hex): not an ABP2's (bit 6 set, bits 7, 4, 3, 1 clear)")
        }
        return status.contains(.memoryError)
            ? ChipIdentity(matches: false, detail: "ABP2 (status \(hex)): its memory integrity test failed")
            : ChipIdentity(matches: true, detail: "ABP2 (status \(hex); it has no ID register)")
    }
}

/// The ABP2 driver: one measurement per read, on any bus with raw transfers.
public struct ABP2PressureSensor<Bus: I2CTransfers>: PressureSensor {
    public let bus: Bus
    public let configuration: ABP2.Configuration
    public let sleeper: any Sleeper
    /// The busy timeout is a deadline on this clock, not a count of polls (sleeps wake late).
    public let clock: any MonotonicClock

    public init(bus: Bus, configuration: ABP2.Configuration, sleeper: any Sleeper, clock: any MonotonicClock) {
        self.bus = bus
        self.configuration = configuration
        self.sleeper = sleeper
        self.clock = clock
    }

    nonisolated(nonsending) public func read() async throws(HALError) -> CentiMMHg { try await measure().pressure }

    nonisolated(nonsending) public func measure() async throws(HALError) -> ABP2.Measurement {
        let a = configuration.address
        try await bus.write(address: a, bytes: ABP2.measureCommand)
        let deadline = clock.monotonicNanoseconds() + ABP2.timeoutNanoseconds
        await sleeper.sleep(nanoseconds: ABP2.conversionNanoseconds)
        while true {
            let status = ABP2.Status(rawValue: try await read(1)[0])
            if let problem = ABP2.problem(status, at: a) { throw problem }
            if !status.contains(.busy) { break }
            let left = deadline - clock.monotonicNanoseconds()
            guard left > 0 else { throw HALError(.timeout, "ABP2 at 0x\(String(a, radix: 16)): still busy \(ABP2.timeoutNanoseconds / 1_000_000) ms after the command") }
            await sleeper.sleep(nanoseconds: min(ABP2.pollNanoseconds, left))
        }
        let bytes = try await read(7)
        let status = ABP2.Status(rawValue: bytes[0])
        if let problem = ABP2.problem(status, at: a) { throw problem }
        // Busy again: these counts belong to no finished conversion.
        if status.contains(.busy) { throw HALError(.busy, "ABP2 at 0x\(String(a, radix: 16)): busy in the data read") }
        return try measurement(pressureCounts: Self.counts(bytes[1], bytes[2], bytes[3]), temperatureCounts: Self.counts(bytes[4], bytes[5], bytes[6]))
    }

    /// Exactly `count` bytes, or `invalidData`: a short answer is never indexed.
    nonisolated(nonsending) private func read(_ count: Int) async throws(HALError) -> [UInt8] {
        let bytes = try await bus.read(address: configuration.address, count: count)
        guard bytes.count == count else {
            throw HALError(.invalidData, "ABP2 at 0x\(String(configuration.address, radix: 16)): \(bytes.count) bytes for \(count)")
        }
        return bytes
    }

    /// The transfer function (see `ABP2`), after the output window check.
    public func measurement(pressureCounts: Int64, temperatureCounts: Int64) throws(HALError) -> ABP2.Measurement {
        guard ABP2.validOutput.contains(pressureCounts) else {
            // Above the window: saturated high, a pressure beyond what the part shows (the
            // watchdog counts it as at least the top); below it, a sensor fault.
            if pressureCounts > ABP2.validOutput.upperBound {
                throw HALError(.aboveRange, "ABP2 at 0x\(String(configuration.address, radix: 16)): output \(pressureCounts) is above \(ABP2.validOutput.upperBound) counts (at or beyond \(Int(configuration.measurableMMHg.upperBound)) mmHg)")
            }
            throw HALError(.invalidData, "ABP2 at 0x\(String(configuration.address, radix: 16)): output \(pressureCounts) is outside \(ABP2.validOutput.lowerBound)–\(ABP2.validOutput.upperBound) counts (saturated, or far outside the part's range)")
        }
        let r = configuration.rangeMMHg
        let mmHg = Double(pressureCounts - ABP2.outputMin) * (r.upperBound - r.lowerBound) / Double(ABP2.outputMax - ABP2.outputMin) + r.lowerBound
        let celsius = Double(temperatureCounts) * 200 / Double((1 << 24) - 1) - 50
        return ABP2.Measurement(pressure: CentiMMHg(mmHg: mmHg), temperatureMilliCelsius: Int32((celsius * 1000).rounded()))
    }

    /// Three wire bytes, most significant first.
    static func counts(_ high: UInt8, _ middle: UInt8, _ low: UInt8) -> Int64 {
        Int64(high) << 16 | Int64(middle) << 8 | Int64(low)
    }
}
