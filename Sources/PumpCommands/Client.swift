import Foundation
import PumpConfig
import PumpCore

/// The client side of the socket: one request frame, one answer frame.
public enum CommandClient {
    /// Sends `payload` as one frame and returns the answer's payload.
    public static func exchange(_ payload: Data, socket path: String, timeoutSeconds: Int = 10) throws(WireError) -> Data {
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WireError("--socket", "socket() failed (errno \(errno))") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw WireError("--socket", "path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { throw WireError("--socket", "cannot connect to \(path) (errno \(errno)): is pumpd running with --socket?") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let frame = Wire.frame(payload)
        var sent = 0
        while sent < frame.count {
            let r = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, frame.count - sent, Int32(MSG_NOSIGNAL)) }
            guard r > 0 else { throw WireError("--socket", "send failed (errno \(errno))") }
            sent += r
        }
        func readExactly(_ n: Int) throws(WireError) -> [UInt8] {
            var buf = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, n - got) }
                guard r > 0 else { throw WireError("--socket", "no answer from pumpd") }
                got += r
            }
            return buf
        }
        let header = try readExactly(4)
        switch Wire.length(ofHeader: header) {
        case .failure(let e): throw e
        case .success(let n): return Data(try readExactly(n))
        }
    }

    /// Builds, signs and sends `command` with `key`; returns the daemon's response.
    public static func send(_ command: JSONValue, key: KeyFile, socket: String, counterFile: String?, utcNanoseconds: Int64,
                            lifetime: Int64 = Wire.defaultLifetime.value, keepRequest: String? = nil) throws(WireError) -> Response {
        let body = RequestBody(device: key.device, role: key.role, keyID: key.keyID,
                               counter: Signer.nextCounter(stateFile: counterFile, utcNanoseconds: utcNanoseconds),
                               expiresUTCMilliseconds: (utcNanoseconds + lifetime) / 1_000_000, command: command)
        let payload = Signer.envelope(body, key: key)
        if let keepRequest {
            do { try payload.write(to: URL(fileURLWithPath: keepRequest)) } catch { throw WireError("--save-request", "cannot write \(keepRequest)") }
        }
        return try Response.parse(exchange(payload, socket: socket))
    }
}
