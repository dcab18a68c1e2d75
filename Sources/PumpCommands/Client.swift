import Foundation
import PumpConfig
import PumpCore

/// The client side of the socket: one request frame, one answer frame.
public enum CommandClient {
    /// How long a client waits for the answer to a request that expires `expiresUTCMilliseconds`,
    /// sent at `utcNanoseconds`: at least until it expires (pumpd may admit it until
    /// `Wire.answerMargin` before then), and `Wire.refusalWait` for one already expired.
    public static func answerWait(expiresUTCMilliseconds: Int64, utcNanoseconds: Int64) -> Nanoseconds {
        let left = expiresUTCMilliseconds.multipliedReportingOverflow(by: 1_000_000)
        let remaining = left.overflow ? Int64.max : left.partialValue - utcNanoseconds
        return Nanoseconds(max(remaining, Wire.refusalWait.value))
    }

    /// Sends `payload` as one frame and returns the answer's payload, waiting at most `wait` in
    /// all (connect, send and answer, on the monotonic clock).
    public static func exchange(_ payload: Data, socket path: String, wait: Nanoseconds) throws(FieldError) -> Data {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, wait.value))
        func left() -> Int64 {
            let now = DispatchTime.now().uptimeNanoseconds
            return now >= deadline ? 0 : Int64(min(deadline - now, UInt64(Int64.max)))
        }
        let gaveUp = FieldError("--socket", "no answer from pumpd within \(wait.value / 1_000_000_000) s, the request's life: it can no longer be admitted (`pumpctl log` shows whether it was, in time)")
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FieldError("--socket", "socket() failed (errno \(errno))") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw FieldError("--socket", "path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        // A Unix-socket connect blocks while the listener's backlog is full; SO_SNDTIMEO bounds it.
        var tv = timeval(tv_sec: Int(left() / 1_000_000_000), tv_usec: Int(left() % 1_000_000_000 / 1000) + 1)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            if errno == EAGAIN || errno == EINPROGRESS { throw gaveUp }
            throw FieldError("--socket", "cannot connect to \(path) (errno \(errno)): is pumpd running with --socket?")
        }
        /// Waits until `fd` is ready for `events` or the deadline passes.
        func ready(_ events: Int16) throws(FieldError) {
            while true {
                let ms = left()
                guard ms > 0 else { throw gaveUp }
                var p = pollfd(fd: fd, events: events, revents: 0)
                let r = poll(&p, 1, Int32(min((ms + 999_999) / 1_000_000, Int64(Int32.max))))
                if r > 0 { return }
                if r < 0, errno != EINTR { throw FieldError("--socket", "poll failed (errno \(errno))") }
            }
        }
        let frame = Wire.frame(payload)
        var sent = 0
        while sent < frame.count {
            try ready(Int16(POLLOUT))
            let r = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, frame.count - sent, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if r < 0, errno == EINTR || errno == EAGAIN { continue }
            guard r > 0 else { throw FieldError("--socket", "send failed (errno \(errno))") }
            sent += r
        }
        func readExactly(_ n: Int) throws(FieldError) -> [UInt8] {
            var buf = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                try ready(Int16(POLLIN))
                let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, Int32(MSG_DONTWAIT)) }
                if r < 0, errno == EINTR || errno == EAGAIN { continue }
                guard r > 0 else { throw FieldError("--socket", "pumpd closed the connection without an answer") }
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
                            lifetime: Int64 = Wire.defaultLifetime.value, keepRequest: String? = nil) throws(FieldError) -> Response {
        let body = RequestBody(key: key,
                               counter: Signer.nextCounter(stateFile: counterFile, utcNanoseconds: utcNanoseconds),
                               expiresUTCMilliseconds: (utcNanoseconds + lifetime) / 1_000_000, command: command)
        let payload = Signer.envelope(body, key: key)
        if let keepRequest {
            try OwnerOnlyFile.write(payload, to: keepRequest, field: "--save-request")
        }
        let wait = answerWait(expiresUTCMilliseconds: body.expiresUTCMilliseconds, utcNanoseconds: utcNanoseconds)
        return try Response.parse(exchange(payload, socket: socket, wait: wait))
    }

    /// The expiry a saved request says it has, read without checking its signature (for how long
    /// `send-raw` waits); nil when the bytes carry none.
    public static func claimedExpiry(ofEnvelope payload: Data) -> Int64? {
        guard case .object(let e)? = try? JSONValue.parse(payload), case .string(let text)? = e["body"],
              case .object(let b)? = try? JSONValue.parse(Data(text.utf8)), case .number(let ms)? = b["expires_utc_ms"],
              ms.isFinite, abs(ms) < 9e15 else { return nil }
        return Int64(ms)
    }
}
