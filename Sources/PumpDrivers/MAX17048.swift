import PumpCore
import PumpHAL

/// Maxim MAX17048 fuel gauge: VCELL (78.125 µV per LSB) and SOC (1/256 % per LSB), both
/// big-endian 16-bit registers read as SMBus words and swapped explicitly.
public enum MAX17048 {
    public enum Register: UInt8 { case vcell = 0x02, soc = 0x04, version = 0x08 }
}

public struct MAX17048Gauge<Bus: I2CBus>: BatteryGauge {
    public let bus: Bus
    public let address: UInt8

    public init(bus: Bus, address: UInt8) {
        self.bus = bus
        self.address = address
    }

    nonisolated(nonsending) public func read() async throws(HALError) -> BatteryReading {
        let vcell = UInt16(bigEndianWire: try await bus.readWord(address: address, register: MAX17048.Register.vcell.rawValue))
        let soc = UInt16(bigEndianWire: try await bus.readWord(address: address, register: MAX17048.Register.soc.rawValue))
        let millivolts = Int32((Double(vcell) * 78.125 / 1000).rounded())
        // The gauge reports up to 255.99 %; above 100 % is a calibration artefact, not a fault.
        let percent = min(100, Double(soc) / 256)
        return BatteryReading(stateOfCharge: PerMille(percent: percent), voltage: Millivolts(millivolts))
    }
}
