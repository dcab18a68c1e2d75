#if LinuxBackend && os(Linux)
import Glibc
import PumpConfig
import PumpDrivers
import PumpHAL
import SystemPackage
import PumpLinux

/// The kernel's GPIO simulator (gpio-sim, configured through configfs) and SMBus stub (i2c-stub),
/// set up from a board file so line names live only there.
public enum KernelSimulators {
    public static let configfs = "/sys/kernel/config/gpio-sim"

    /// Creates the gpio-sim chip the board names, with one line per board line, and brings it up.
    public static func createChip(for board: Board) throws(HALError) {
        guard let label = board.gpioChipLabel else { throw HALError(.notFound, "board \(board.name) has no GPIO chip") }
        let dir = "\(configfs)/\(label)"
        try makeDirectory(dir)
        try makeDirectory("\(dir)/bank0")
        let names = board.lineNames
        try SysFile.write("\(dir)/bank0/num_lines", "\(names.count)")
        try SysFile.write("\(dir)/bank0/label", label)
        for (i, n) in names.enumerated() {
            try makeDirectory("\(dir)/bank0/line\(i)")
            try SysFile.write("\(dir)/bank0/line\(i)/name", n)
        }
        try SysFile.write("\(dir)/live", "1")
    }

    /// Gives the stub's chips the registers that identify the real ones at power-on (the ADS1115's
    /// config 0x8583 and thresholds 0x8000/0x7FFF, the MAX17048's VERSION 0x0012), which the board
    /// check reads.
    public static func seedChipIdentities(for board: Board) async throws(HALError) {
        let bus = try LinuxI2CBus(number: board.i2cBus, adapterName: board.i2cAdapterName)
        if let adc = board.pressureADC {
            try await bus.writeWord(address: adc.address, register: ADS1115.Register.config.rawValue, value: ADS1115.powerOnConfig.byteSwapped)
            try await bus.writeWord(address: adc.address, register: ADS1115.Register.loThreshold.rawValue, value: ADS1115.powerOnThresholds.lo.byteSwapped)
            try await bus.writeWord(address: adc.address, register: ADS1115.Register.hiThreshold.rawValue, value: ADS1115.powerOnThresholds.hi.byteSwapped)
        }
        if let gauge = board.fuelGauge {
            try await bus.writeWord(address: gauge.address, register: MAX17048.Register.version.rawValue, value: UInt16(0x0012).byteSwapped)
        }
    }

    /// The i2c-stub `chip_addr` module parameter for the board's chips ("0x48,0x36").
    public static func stubAddresses(for board: Board) -> String {
        [board.pressureADC?.address, board.fuelGauge?.address].compactMap { $0 }
            .map { "0x" + String($0, radix: 16) }.joined(separator: ",")
    }

    private static func makeDirectory(_ path: String) throws(HALError) {
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw HALError(Errno(rawValue: errno), "mkdir \(path)") }
    }
}

/// Small sysfs/configfs attribute files: one write per value, reads from offset 0 each time.
enum SysFile {
    static func write(_ path: String, _ text: String) throws(HALError) {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw HALError(Errno(rawValue: errno), "open \(path)") }
        defer { close(fd) }
        let n = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        guard n == text.utf8.count else { throw HALError(Errno(rawValue: errno), "write \(path)") }
    }

    static func read(_ path: String) throws(HALError) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw HALError(Errno(rawValue: errno), "open \(path)") }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 255) }
        guard n >= 0 else { throw HALError(Errno(rawValue: errno), "read \(path)") }
        return String(decoding: buf[0..<n], as: UTF8.self).trimmingSpaces
    }
}

/// An attribute kept open and re-read with pread (the plant polls the controller's outputs).
final class PolledAttribute: @unchecked Sendable {
    // Only the plant's one loop uses it.
    let fd: Int32
    let path: String
    init(_ path: String, writable: Bool = false) throws(HALError) {
        fd = open(path, writable ? O_RDWR : O_RDONLY)
        guard fd >= 0 else { throw HALError(Errno(rawValue: errno), "open \(path)") }
        self.path = path
    }
    deinit { close(fd) }

    func readBit() throws(HALError) -> Bool {
        var c: UInt8 = 0
        guard pread(fd, &c, 1, 0) == 1 else { throw HALError(Errno(rawValue: errno), "read \(path)") }
        return c == UInt8(ascii: "1")
    }

    func write(_ text: String) throws(HALError) {
        let n = text.utf8CString.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count - 1, 0) }
        guard n == text.utf8.count else { throw HALError(Errno(rawValue: errno), "write \(path)") }
    }
}

/// The plant's wiring in the VM: gpio-sim's sysfs attributes and the i2c-stub registers.
public final class KernelSimulatorIO: PlantIO, @unchecked Sendable {
    // Attributes are only used by the plant's single loop.
    private let step: PolledAttribute, direction: PolledAttribute, enable: PolledAttribute
    private let encoder: PolledAttribute, fault: PolledAttribute, button: PolledAttribute?, alarm: PolledAttribute?
    private let bus: LinuxI2CBus
    private let chip: GPIOChip
    private let board: Board
    private let adc: Board.ADS1115, gauge: Board.MAX17048

    public init(board: Board) throws(HALError) {
        guard let label = board.gpioChipLabel, let s = board.stepper, let adc = board.pressureADC, let gauge = board.fuelGauge else {
            throw HALError(.notFound, "board \(board.name) is not a complete linux board")
        }
        let dir = "\(KernelSimulators.configfs)/\(label)"
        let device = try SysFile.read("\(dir)/dev_name"), chipName = try SysFile.read("\(dir)/bank0/chip_name")
        var offsets: [String: Int] = [:]
        for i in 0..<board.lineNames.count { offsets[try SysFile.read("\(dir)/bank0/line\(i)/name")] = i }
        func attribute(_ line: String, _ file: String) throws(HALError) -> PolledAttribute {
            guard let o = offsets[line] else { throw HALError(.notFound, "gpio-sim chip \(label) has no line \(line)") }
            return try PolledAttribute("/sys/devices/platform/\(device)/\(chipName)/sim_gpio\(o)/\(file)", writable: file == "pull")
        }
        step = try attribute(s.stepLine, "value")
        direction = try attribute(s.directionLine, "value")
        enable = try attribute(s.enableLine, "value")
        encoder = try attribute(s.encoderLine, "pull")
        fault = try attribute(s.faultLine, "pull")
        button = try board.bolusButton.map { b throws(HALError) in try attribute(b.name, "pull") }
        alarm = try board.alarmOutput.map { a throws(HALError) in try attribute(a.name, "value") }
        bus = try LinuxI2CBus(number: board.i2cBus, adapterName: board.i2cAdapterName)
        chip = try GPIOChip(label: label)
        self.board = board
        self.adc = adc
        self.gauge = gauge
    }

    nonisolated(nonsending) public func sampleMotor() async throws(HALError) -> MotorPins {
        MotorPins(step: try step.readBit(), direction: try direction.readBit(), enable: try enable.readBit())
    }
    nonisolated(nonsending) public func sampleAlarm() async throws(HALError) -> Bool? { try alarm?.readBit() }
    nonisolated(nonsending) public func setEncoder(_ high: Bool) async throws(HALError) { try encoder.write(high ? "pull-up" : "pull-down") }
    nonisolated(nonsending) public func setFault(_ high: Bool) async throws(HALError) { try fault.write(high ? "pull-up" : "pull-down") }
    nonisolated(nonsending) public func setButton(_ high: Bool) async throws(HALError) { try button?.write(high ? "pull-up" : "pull-down") }

    nonisolated(nonsending) public func writePressure(mmHg: Double) async throws(HALError) {
        try await bus.writeWord(address: adc.address, register: 0x00, value: ChipRegisters.ads1115ConversionWord(mmHg: mmHg, adc: adc))
    }

    public var canSetBattery: Bool { true }
    nonisolated(nonsending) public func writeBattery(percent: Double, millivolts: Double) async throws(HALError) {
        let w = ChipRegisters.max17048Words(percent: percent, millivolts: millivolts)
        try await bus.writeWord(address: gauge.address, register: 0x02, value: w.vcell)
        try await bus.writeWord(address: gauge.address, register: 0x04, value: w.soc)
    }

    public func holder(ofLine name: String) -> LineHolder? {
        guard let i = chip.info(named: name) else { return nil }
        return LineHolder(consumer: i.used ? i.consumer : nil, isOutput: i.isOutput)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        return String(s)
    }
}
#endif
