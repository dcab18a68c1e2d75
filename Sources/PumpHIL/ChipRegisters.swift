import PumpConfig

/// What the plant writes into the simulated chips' registers: the exact inverse of the drivers'
/// decoding, in the SMBus wire order the drivers read (i2c-stub has no byte order of its own:
/// each register holds the 16-bit word as written, so big-endian chips get swapped words).
public enum ChipRegisters {
    /// ADS1115 conversion register for a pressure, through the board's two-point calibration and
    /// full scale; clamped to the 16-bit code range like the chip saturates.
    public static func ads1115ConversionWord(mmHg: Double, adc: Board.ADS1115) -> UInt16 {
        let code = (transducerMillivolts(mmHg: mmHg, adc: adc) * 32_768 / Double(adc.fullScaleMillivolts)).rounded()
        let raw = Int16(max(-32_768, min(32_767, code)))
        return UInt16(bitPattern: raw).byteSwapped
    }

    /// MAX17048 VCELL (78.125 µV per LSB) and SOC (1/256 % per LSB) registers.
    public static func max17048Words(percent: Double, millivolts: Double) -> (vcell: UInt16, soc: UInt16) {
        let vcell = UInt16(max(0, min(65_535, (millivolts * 1000 / 78.125).rounded())))
        let soc = UInt16(max(0, min(65_535, (percent * 256).rounded())))
        return (vcell.byteSwapped, soc.byteSwapped)
    }

    /// MCP4725 fast-mode write of a 12-bit code, as one SMBus byte-data transfer: the "register"
    /// byte carries the power-down bits (00) and the code's upper four bits.
    public static func mcp4725FastWrite(millivolts: Double, fullScaleMillivolts: Int) -> (register: UInt8, value: UInt8) {
        let code = UInt16(max(0, min(4095, (millivolts * 4096 / Double(fullScaleMillivolts)).rounded())))
        return (UInt8(code >> 8), UInt8(code & 0xFF))
    }

    /// The transducer voltage that the board's calibration reads as `mmHg`.
    public static func transducerMillivolts(mmHg: Double, adc: Board.ADS1115) -> Double {
        let (p0, p1) = (adc.calibration[0], adc.calibration[1])
        return p0.millivolts + (mmHg - p0.mmHg) * (p1.millivolts - p0.millivolts) / (p1.mmHg - p0.mmHg)
    }
}
