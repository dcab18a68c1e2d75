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

    /// The ADS1115 has no ID register: the power-on config value identifies it until something
    /// configures it; after that, any answer is taken as the chip.
    nonisolated(nonsending) public static func identify<Bus: I2CBus>(bus: Bus, address: UInt8) async throws(HALError) -> ChipIdentity {
        let config = UInt16(bigEndianWire: try await bus.readWord(address: address, register: Register.config.rawValue))
        let hex = "0x" + hex4(config)
        return config == powerOnConfig
            ? ChipIdentity(matches: true, detail: "ADS1115 (config \(hex), its power-on value)")
            : ChipIdentity(matches: true, detail: "config \(hex): an ADS1115 configured since power-on (it has no ID register)")
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
