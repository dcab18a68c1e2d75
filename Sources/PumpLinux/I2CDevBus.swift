#if LinuxBackend && os(Linux)
import CI2C
import Foundation
import PumpHAL
import SystemPackage
import PumpSync

/// An I²C bus over `/dev/i2c-N`: SMBus byte and word-data transactions (register chips, and what
/// the kernel's i2c-stub supports) and raw transfers through I2C_RDWR (chips that are not register
/// maps; i2c-stub refuses them). Selecting the address and the transaction happen under one lock,
/// so two drivers sharing the bus never interleave.
public final class LinuxI2CBus: I2CBus, I2CTransfers, @unchecked Sendable {
    private struct State { var fd: Int32; var address: UInt8? }
    private let state: Locked<State>
    public let path: String

    public init(bus: Int) throws(HALError) {
        path = "/dev/i2c-\(bus)"
        let fd = pump_open_rdwr(path)
        guard fd >= 0 else { throw HALError(Errno.last, "cannot open \(path)") }
        state = Locked(State(fd: fd, address: nil))
    }

    /// A board's bus: by number where the board gives one, otherwise by adapter name.
    public convenience init(number: Int?, adapterName: String?) throws(HALError) {
        if let number { try self.init(bus: number) } else { try self.init(adapterName: adapterName ?? "") }
    }

    /// Finds the adapter whose /sys/class/i2c-dev/i2c-*/name is `name` (bus numbers of
    /// dynamically created adapters such as i2c-stub are not fixed).
    public convenience init(adapterName name: String) throws(HALError) {
        let root = "/sys/class/i2c-dev"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for entry in entries.sorted() where entry.hasPrefix("i2c-") {
            let adapter = (try? String(contentsOfFile: "\(root)/\(entry)/name", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if adapter == name, let n = Int(entry.dropFirst(4)) {
                try self.init(bus: n)
                return
            }
        }
        throw HALError(.notFound, errno: Errno.operationNotSupportedByDevice.rawValue, "no I²C adapter named '\(name)'")
    }

    /// A bus on any device path: tests point it at a device that is not an adapter.
    init(path: String) throws(HALError) {
        self.path = path
        let fd = pump_open_rdwr(path)
        guard fd >= 0 else { throw HALError(Errno.last, "cannot open \(path)") }
        state = Locked(State(fd: fd, address: nil))
    }

    deinit { state.withLock { s in if s.fd >= 0 { close(s.fd) } } }

    /// Runs one transaction for `address`; a negative result is an error with errno.
    private func transaction(_ address: UInt8, _ what: String, _ body: (Int32) -> Int32) throws(HALError) -> Int32 {
        let (result, err): (Int32, Errno) = state.withLock { s in
            if s.address != address {
                guard pump_i2c_set_address(s.fd, Int32(address)) >= 0 else { return (-1, Errno.last) }
                s.address = address
            }
            let r = body(s.fd)
            return (r, r < 0 ? Errno.last : Errno(rawValue: 0))
        }
        if result < 0 { throw HALError(err, "\(path) 0x\(String(address, radix: 16)): \(what)") }
        return result
    }

    nonisolated(nonsending) public func readByte(address: UInt8, register: UInt8) async throws(HALError) -> UInt8 {
        UInt8(truncatingIfNeeded: try transaction(address, "read byte 0x\(String(register, radix: 16))") { i2c_smbus_read_byte_data($0, register) })
    }

    nonisolated(nonsending) public func writeByte(address: UInt8, register: UInt8, value: UInt8) async throws(HALError) {
        _ = try transaction(address, "write byte 0x\(String(register, radix: 16))") { i2c_smbus_write_byte_data($0, register, value) }
    }

    nonisolated(nonsending) public func readWord(address: UInt8, register: UInt8) async throws(HALError) -> UInt16 {
        UInt16(truncatingIfNeeded: try transaction(address, "read word 0x\(String(register, radix: 16))") { i2c_smbus_read_word_data($0, register) })
    }

    nonisolated(nonsending) public func writeWord(address: UInt8, register: UInt8, value: UInt16) async throws(HALError) {
        _ = try transaction(address, "write word 0x\(String(register, radix: 16))") { i2c_smbus_write_word_data($0, register, value) }
    }

    /// The most one I2C_RDWR message may carry (i2c-dev refuses longer ones with EINVAL).
    public static let maxTransferBytes = 8192

    nonisolated(nonsending) public func write(address: UInt8, bytes: [UInt8]) async throws(HALError) {
        _ = try rawTransfer(address, "write \(bytes.count) bytes", write: bytes, readCount: nil)
    }

    nonisolated(nonsending) public func read(address: UInt8, count: Int) async throws(HALError) -> [UInt8] {
        try rawTransfer(address, "read \(count) bytes", write: nil, readCount: count)
    }

    nonisolated(nonsending) public func writeRead(address: UInt8, bytes: [UInt8], count: Int) async throws(HALError) -> [UInt8] {
        try rawTransfer(address, "write \(bytes.count) bytes, read \(count)", write: bytes, readCount: count)
    }

    /// One I2C_RDWR ioctl: the address travels in each message, so the selected SMBus address is
    /// left as it was. A kernel that moved fewer messages than asked is a bus error, never a
    /// short read passed on as data.
    private func rawTransfer(_ address: UInt8, _ what: String, write: [UInt8]?, readCount: Int?) throws(HALError) -> [UInt8] {
        let detail = "\(path) 0x\(String(address, radix: 16)): \(what)"
        let sizes = [write?.count, readCount].compactMap { $0 }
        guard sizes.allSatisfy({ (0...Self.maxTransferBytes).contains($0) }) else {
            throw HALError(.other, errno: Errno.invalidArgument.rawValue, "\(detail): more than \(Self.maxTransferBytes) bytes, or fewer than 0")
        }
        let out = write ?? []
        var input = [UInt8](repeating: 0, count: readCount ?? 0)
        let expected = Int32(sizes.count)
        let (result, err): (Int32, Errno) = state.withLock { s in
            let r = out.withUnsafeBufferPointer { w in
                input.withUnsafeMutableBufferPointer { rd in
                    pump_i2c_rdwr(s.fd, Int32(address), write == nil ? 0 : 1, w.baseAddress, UInt16(w.count),
                                  readCount == nil ? 0 : 1, rd.baseAddress, UInt16(rd.count))
                }
            }
            return (r, r < 0 ? Errno.last : Errno(rawValue: 0))
        }
        if result < 0 { throw HALError(err, detail) }
        guard result == expected else { throw HALError(.bus, "\(detail): the adapter moved \(result) of \(expected) messages") }
        return input
    }
}

/// A Linux hardware watchdog device (/dev/watchdog). Once opened, the board resets unless it is
/// fed; `close()` writes the magic 'V' so a clean shutdown does not reset the board.
public final class HardwareWatchdog: @unchecked Sendable {
    private let fd: Locked<Int32>
    public let path: String

    /// Opens it only if it is a watchdog: a board file's `watchdog_device` naming a disk
    /// (`/dev/sda`) or a file (`/dev/../tmp/x`) had it written with 'k' every second and 'V' at
    /// the end. A character device that answers WDIOC_GETSUPPORT, or nothing is written.
    public init(path: String) throws(HALError) {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else { throw HALError(Errno.last, "cannot open \(path)") }
        guard st.st_mode & S_IFMT == S_IFCHR else { throw HALError(.unsupported, "\(path) is not a character device: not a watchdog") }
        let f = pump_open_rdwr(path)
        guard f >= 0 else { throw HALError(Errno.last, "cannot open \(path)") }
        // What was opened, not what the name was a moment before.
        guard fstat(f, &st) == 0, st.st_mode & S_IFMT == S_IFCHR else {
            _ = Glibc.close(f)
            throw HALError(.unsupported, "\(path) is not a character device: not a watchdog")
        }
        guard pump_wdt_identify(f) == 0 else {
            let e = Errno.last
            _ = Glibc.close(f)   // nothing written: it is not a watchdog
            throw HALError(e, "\(path) does not answer as a watchdog (WDIOC_GETSUPPORT)")
        }
        fd = Locked(f)
    }

    /// Sets the timeout (WDIOC_SETTIMEOUT) and returns what the driver granted, read back
    /// (WDIOC_GETTIMEOUT): drivers round to what their hardware can count.
    public func setTimeout(seconds: Int) throws(HALError) -> Int {
        let (granted, e): (Int32, Errno) = fd.withLock { f in
            let g = pump_wdt_set_timeout(f, Int32(seconds))
            return (g, g < 0 ? Errno.last : Errno(rawValue: 0))
        }
        if granted < 0 { throw HALError(e, "cannot set the timeout of \(path)") }
        return Int(granted)
    }

    public func feed() throws(HALError) {
        let (r, e): (Int, Errno) = fd.withLock { f in
            var k: UInt8 = UInt8(ascii: "k")
            let n = write(f, &k, 1)
            return (n, n < 0 ? Errno.last : Errno(rawValue: 0))
        }
        if r != 1 { throw HALError(e, "cannot feed \(path)") }
    }

    public func close() {
        fd.withLock { f in
            guard f >= 0 else { return }
            var v: UInt8 = UInt8(ascii: "V")
            _ = write(f, &v, 1)
            _ = Glibc.close(f)
            f = -1
        }
    }

    deinit { close() }
}
#endif
