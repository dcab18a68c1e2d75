import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's log as /dev/kmsg gives it: one record per read, each with the kernel's own
/// timestamp (µs since boot). The suite reads what the kernel reports (a watchdog's expiry) and
/// writes markers into the same log, so intervals between them are the kernel's.
final class KernelLog {
    struct Record: Sendable {
        var microseconds: Int64
        var text: String
    }
    private let fd: Int32

    /// Opens the log at its end: only records from now on are read.
    init?() {
        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        lseek(fd, 0, SEEK_END)
    }
    deinit { close(fd) }

    /// The records that arrived since the last call.
    func read() -> [Record] {
        var out: [Record] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 8192) }
            if n < 0, errno == EPIPE { continue }           // overwritten records: skip on
            guard n > 0 else { break }
            // "prio,seq,µs,flags;text\n"
            let line = String(decoding: buffer[0..<n], as: UTF8.self)
            guard let semi = line.firstIndex(of: ";") else { continue }
            let fields = line[..<semi].split(separator: ",")
            guard fields.count >= 3, let us = Int64(fields[2]) else { continue }
            out.append(Record(microseconds: us, text: String(line[line.index(after: semi)...].prefix { $0 != "\n" })))
        }
        return out
    }

    /// Waits up to `timeout` seconds for a record containing `text`; polls every 20 ms. Returns
    /// it, when the suite saw it, and the records read before it meanwhile.
    func waitFor(_ text: String, timeout: Double) -> (record: Record, seenAt: Int64, before: [Record])? {
        let deadline = Monotonic.nanoseconds() + Int64(timeout * 1e9)
        var before: [Record] = []
        while Monotonic.nanoseconds() < deadline {
            let records = read()
            if let i = records.firstIndex(where: { $0.text.contains(text) }) {
                return (records[i], Monotonic.nanoseconds(), before + records[..<i])
            }
            before += records
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    /// Writes a marker into the kernel's log (stamped by the kernel like any record).
    static func mark(_ text: String) {
        let f = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
        guard f >= 0 else { return }
        _ = text.withCString { write(f, $0, strlen($0)) }
        close(f)
    }
}
