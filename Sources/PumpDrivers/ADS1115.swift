import PumpCore
import PumpHAL

/// The ADS1115's registers and settings (shared by every bus type).
public enum ADS1115 {
    public struct Configuration: Sendable, Equatable {
        public var address: UInt8
        public var channel: Int
        public var fullScaleMillivolts: Int
        public var dataRateSPS: Int
        /// Two (millivolts, mmHg) points of the transducer's linear calibration.
        public var calibration: ((millivolts: Double, mmHg: Double), (millivolts: Double, mmHg: Double))
        /// A working transducer's output range; a reading outside it is `invalidData` (a sensor
        /// fault), never a pressure. nil: no check.
        public var validMillivolts: ClosedRange<Double>?
        public init(address: UInt8, channel: Int, fullScaleMillivolts: Int, dataRateSPS: Int,
                    calibration: ((millivolts: Double, mmHg: Double), (millivolts: Double, mmHg: Double)),
                    validMillivolts: ClosedRange<Double>? = nil) {
            self.address = address
            self.channel = channel
            self.fullScaleMillivolts = fullScaleMillivolts
            self.dataRateSPS = dataRateSPS
            self.calibration = calibration
            self.validMillivolts = validMillivolts
        }
        /// The voltages a reading may have: the transducer's window within the ADC's full scale
        /// (a code at either rail is saturated: the voltage may be beyond it).
        public var millivoltRange: ClosedRange<Double> {
            let adc = -Double(fullScaleMillivolts)...Double(fullScaleMillivolts) * 32_767 / 32_768
            guard let window = validMillivolts else { return adc }
            let high = min(window.upperBound, adc.upperBound)
            return min(max(window.lowerBound, adc.lowerBound), high)...high   // (a window beyond the scale: one voltage)
        }
        /// The pressures a reading can show: the calibration at the ends of `millivoltRange`.
        public var measurableMMHg: ClosedRange<Double> {
            let (p0, p1) = calibration
            guard p0.millivolts != p1.millivolts else { return p0.mmHg...p0.mmHg }   // no line (a board refuses it)
            func mmHg(_ mv: Double) -> Double { p0.mmHg + (mv - p0.millivolts) * (p1.mmHg - p0.mmHg) / (p1.millivolts - p0.millivolts) }
            let ends = (mmHg(millivoltRange.lowerBound), mmHg(millivoltRange.upperBound))
            return min(ends.0, ends.1)...max(ends.0, ends.1)
        }
        public static func == (a: Self, b: Self) -> Bool {
            a.address == b.address && a.channel == b.channel && a.fullScaleMillivolts == b.fullScaleMillivolts
                && a.dataRateSPS == b.dataRateSPS && a.calibration.0 == b.calibration.0 && a.calibration.1 == b.calibration.1
                && a.validMillivolts == b.validMillivolts
        }
    }

    public enum Register: UInt8 { case conversion = 0x00, config = 0x01, loThreshold = 0x02, hiThreshold = 0x03 }
    static let gains: [Int: UInt16] = [6144: 0b000, 4096: 0b001, 2048: 0b010, 1024: 0b011, 512: 0b100, 256: 0b101]
    static let rates: [Int: UInt16] = [8: 0b000, 16: 0b001, 32: 0b010, 64: 0b011, 128: 0b100, 250: 0b101, 475: 0b110, 860: 0b111]
    /// Polls of the "conversion done" bit before the read is given up as a timeout.
    public static let readyPolls = 3
}

/// TI ADS1115 16-bit ADC reading an analog catheter pressure transducer, single-shot.
///
/// The chip's registers are big-endian; SMBus word transfers are little-endian on the wire, so
/// every word is byte-swapped explicitly on the way out and in.
public struct ADS1115PressureSensor<Bus: I2CBus>: PressureSensor {
    public let bus: Bus
    public let configuration: ADS1115.Configuration
    public let sleeper: any Sleeper

    public init(bus: Bus, configuration: ADS1115.Configuration, sleeper: any Sleeper) {
        self.bus = bus
        self.configuration = configuration
        self.sleeper = sleeper
    }

    /// The config register value that starts one single-shot conversion: OS = 1 (start),
    /// MUX = 1xx (AINx against GND), PGA, MODE = 1 (single-shot), DR, comparator disabled (11).
    public var startConversionWord: UInt16 {
        let c = configuration
        return 0x8000 | (0b100 | UInt16(c.channel)) << 12 | (ADS1115.gains[c.fullScaleMillivolts] ?? 0b010) << 9
            | 0x0100 | (ADS1115.rates[c.dataRateSPS] ?? 0b100) << 5 | 0b11
    }

    /// One conversion's time plus 10 % and 100 µs, in nanoseconds.
    public var conversionNanoseconds: Int64 { 1_100_000_000 / Int64(configuration.dataRateSPS) + 100_000 }

    nonisolated(nonsending) public func read() async throws(HALError) -> CentiMMHg {
        let a = configuration.address
        try await bus.writeWord(address: a, register: ADS1115.Register.config.rawValue, value: startConversionWord.byteSwapped)
        await sleeper.sleep(nanoseconds: conversionNanoseconds)
        var ready = false
        for poll in 0..<ADS1115.readyPolls {
            let config = UInt16(bigEndianWire: try await bus.readWord(address: a, register: ADS1115.Register.config.rawValue))
            if config & 0x8000 != 0 { ready = true; break }
            if poll + 1 < ADS1115.readyPolls { await sleeper.sleep(nanoseconds: conversionNanoseconds / 4) }
        }
        guard ready else { throw HALError(.timeout, "ADS1115 at 0x\(String(a, radix: 16)): conversion did not complete") }
        let raw = Int16(bitPattern: UInt16(bigEndianWire: try await bus.readWord(address: a, register: ADS1115.Register.conversion.rawValue)))
        let mv = millivolts(fromRaw: raw)
        let window = configuration.millivoltRange
        // Outside the window (or the ADC pinned at a rail): above the top of the measurable
        // pressures, a pressure the sensor cannot show; below it, a sensor fault.
        if !window.contains(mv) || raw == .max || raw == .min {
            let mmHg = mmHg(fromMillivolts: mv), top = configuration.measurableMMHg.upperBound
            if mmHg >= top {
                throw HALError(.aboveRange, "ADS1115 at 0x\(String(a, radix: 16)): \(Int(mv.rounded())) mV is at or beyond the transducer's top (\(Int(top)) mmHg)")
            }
            let named = configuration.validMillivolts ?? window
            throw HALError(.invalidData, "ADS1115 at 0x\(String(a, radix: 16)): \(Int(mv.rounded())) mV is outside the transducer's \(Int(named.lowerBound))–\(Int(named.upperBound)) mV (a broken wire or a failed transducer)")
        }
        return CentiMMHg(mmHg: mmHg(fromMillivolts: mv))
    }

    public func millivolts(fromRaw raw: Int16) -> Double { Double(raw) * Double(configuration.fullScaleMillivolts) / 32_768 }

    /// Raw code → millivolts → mmHg through the two-point calibration.
    public func mmHg(fromRaw raw: Int16) -> Double { mmHg(fromMillivolts: millivolts(fromRaw: raw)) }

    public func mmHg(fromMillivolts millivolts: Double) -> Double {
        let (p0, p1) = configuration.calibration
        return p0.mmHg + (millivolts - p0.millivolts) * (p1.mmHg - p0.mmHg) / (p1.millivolts - p0.millivolts)
    }
}

extension UInt16 {
    /// A big-endian register read through SMBus: the first byte on the wire (the MSB) arrives in
    /// the low half, so swap.
    public init(bigEndianWire smbusWord: UInt16) { self = smbusWord.byteSwapped }
}
