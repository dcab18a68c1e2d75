import PumpHAL

/// What a chip's known register says about it, for a board check: read only, nothing configured.
public struct ChipIdentity: Sendable, Equatable {
    /// False when the register rules the expected chip out.
    public var matches: Bool
    public var detail: String
}

extension ADS1115 {
    /// The config register's power-on value (datasheet, Config register: 8583h).
    public static let powerOnConfig: UInt16 = 0x8583
    /// The comparator thresholds' power-on values (datasheet, Lo_thresh 8000h, Hi_thresh 7FFFh).
    /// Our driver never writes them.
    public static let powerOnThresholds: (lo: UInt16, hi: UInt16) = (0x8000, 0x7FFF)

    /// The ADS1115 has no ID register. Its config register takes any value once configured, so the
    /// thresholds tell it apart: at their power-on values, or in the conversion-ready pattern
    /// (Hi_thresh's top bit set, Lo_thresh's clear) a board that uses ALERT/RDY would set. Another
    /// chip at 0x48 answers otherwise: a TMP102 (0x48 is its default too) reads 0x4B00 and 0x5000
    /// there (75 °C and 80 °C), which a config-only check took for an ADS1115.
    nonisolated(nonsending) public static func identify<Bus: I2CBus>(bus: Bus, address: UInt8) async throws(HALError) -> ChipIdentity {
        let config = UInt16(bigEndianWire: try await bus.readWord(address: address, register: Register.config.rawValue))
        let lo = UInt16(bigEndianWire: try await bus.readWord(address: address, register: Register.loThreshold.rawValue))
        let hi = UInt16(bigEndianWire: try await bus.readWord(address: address, register: Register.hiThreshold.rawValue))
        let thresholds = "thresholds 0x\(hex4(lo))/0x\(hex4(hi))"
        let powerOn = (lo, hi) == powerOnThresholds
        let conversionReady = hi & 0x8000 != 0 && lo & 0x8000 == 0
        guard powerOn || conversionReady else {
            return ChipIdentity(matches: false, detail: "\(thresholds): not an ADS1115's (0x8000/0x7FFF at power-on, or Hi_thresh's top bit set "
                                + "and Lo_thresh's clear for ALERT/RDY); another chip at this address?")
        }
        return config == powerOnConfig && powerOn
            ? ChipIdentity(matches: true, detail: "ADS1115 (config 0x\(hex4(config)), \(thresholds), their power-on values)")
            : ChipIdentity(matches: true, detail: "ADS1115 configured since power-on (config 0x\(hex4(config)), \(thresholds); it has no ID register)")
    }
}

extension MAX17048 {
    /// VERSION reads 001xh on the MAX17048/MAX17049 (datasheet, Register summary).
    nonisolated(nonsending) public static func identify<Bus: I2CBus>(bus: Bus, address: UInt8) async throws(HALError) -> ChipIdentity {
        let version = UInt16(bigEndianWire: try await bus.readWord(address: address, register: Register.version.rawValue))
        let hex = "0x" + hex4(version)
        return version & 0xFFF0 == 0x0010
            ? ChipIdentity(matches: true, detail: "MAX17048/49 (VERSION \(hex))")
            : ChipIdentity(matches: false, detail: "VERSION reads \(hex), not a MAX17048/49's 0x001x")
    }
}

/// Four hex digits, upper case.
func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
