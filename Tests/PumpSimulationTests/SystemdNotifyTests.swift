import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// pumpd under a systemd the test plays: a datagram socket the test owns at NOTIFY_SOCKET, and
/// WATCHDOG_USEC as `WatchdogSec=` sets it.
@Suite("pumpd systemd notification", .enabled(if: FileManager.default.isExecutableFile(atPath: Daemon.binary.path)))
struct SystemdNotifyTests {
    /// A bound datagram socket; `receive` returns one message or nil after the timeout.
    final class NotifySocket {
        let fd: Int32
        let path: String
        init() throws {
            path = "/tmp/notify-\(UUID().uuidString.prefix(8)).sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in path.utf8.enumerated() { raw[i] = b }
            }
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard fd >= 0, bound == 0 else { throw CocoaError(.fileWriteUnknown) }
            var tv = timeval(tv_sec: 15, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 4096, 0) }
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
        deinit { close(fd); unlink(path) }
    }

    @Test func readyWhileHealthyWatchdogThenStopping() throws {
        let s = try NotifySocket()
        let p = Process()
        p.executableURL = Daemon.binary
        p.arguments = ["--board", Daemon.path("Boards/simulated.json"), "--prescription", Daemon.path("docs/examples/baclofen-prescription.json"),
                       "--journal", Daemon.journal(), "--new-journal"]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = s.path
        env["WATCHDOG_USEC"] = "600000"          // WatchdogSec=0.6: WATCHDOG=1 every 0.3 s while healthy
        env.removeValue(forKey: "WATCHDOG_PID")
        p.environment = env
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        var seen: [String] = []
        while seen.filter({ $0 == "WATCHDOG=1" }).count < 3, let m = s.receive() { seen.append(m) }
        #expect(seen.contains("READY=1"), "\(seen)")
        #expect(seen.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(seen)")
        kill(p.processIdentifier, SIGTERM)
        var after: [String] = []
        while !after.contains("STOPPING=1"), let m = s.receive() { after.append(m) }
        p.waitUntilExit()
        #expect(after.contains("STOPPING=1"), "\(after)")
        #expect(p.terminationStatus == 0)
        #expect(!(seen + after).contains { !["READY=1", "WATCHDOG=1", "STOPPING=1"].contains($0) }, "\(seen + after)")
    }
}
