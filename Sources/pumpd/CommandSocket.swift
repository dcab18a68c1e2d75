import Foundation
import PumpCommands

/// The command interface's Unix socket: owner-only (0600, made under umask 0177), one thread
/// that accepts and serves one connection at a time, frames of at most 64 KiB, a 2 s timeout on
/// every read and write and 10 s per connection, so a stalled or trickling client cannot hold it. Nothing it reads can
/// reach the controller without passing the `Gate`.
final class CommandSocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private var thread: Thread?
    /// Only touched by the serving thread.
    private var connectionDeadline: UInt64 = 0
    private let stopped = NSLock()
    private var isStopped = false

    init(path: String) throws(RigError) {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw RigError(message: "--socket \(path): path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        // A stale socket from an earlier run is replaced; a live one (something accepts on it) is
        // never taken over; any other file is left alone.
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw RigError(message: "--socket \(path): exists and is not a socket") }
            if Self.accepts(addr) { throw RigError(message: "--socket \(path): in use by a running process (another pumpd?); not taken over") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RigError(message: "--socket: socket() failed (errno \(errno))") }
        let old = umask(0o177)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw RigError(message: "--socket \(path): bind failed (errno \(e))")
        }
        chmod(path, 0o600)
        guard listen(fd, 8) == 0 else {
            close(fd)
            throw RigError(message: "--socket \(path): listen failed (errno \(errno))")
        }
        self.path = path
        self.fd = fd
    }

    /// Whether a process is listening at `addr` (a connect succeeds, or is only refused for a full
    /// backlog). ECONNREFUSED / ENOENT: nobody, a stale socket.
    private static func accepts(_ addr: sockaddr_un) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { close(probe) }
        var a = addr
        let r = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return r == 0 || (errno != ECONNREFUSED && errno != ENOENT)
    }

    /// Removes the socket this process bound, before serving started (a start that failed later).
    func remove() {
        close(fd)
        unlink(path)
    }

    /// Serves on its own thread until `stop`. `handle` gets a frame's payload and returns the answer's.
    func start(_ handle: @escaping @Sendable (Data) -> Data) {
        let t = Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 {
                    if errno == EINTR { continue }
                    if stopping() { return }
                    continue
                }
                serve(connection: c, handle)
                close(c)
            }
        }
        t.name = "pumpd-commands"
        t.start()
        thread = t
    }

    private func stopping() -> Bool {
        stopped.lock()
        defer { stopped.unlock() }
        return isStopped
    }

    /// Longest one connection may take, however slowly it trickles bytes (one thread serves all).
    static let connectionSeconds: UInt64 = 10

    private func serve(connection c: Int32, _ handle: (Data) -> Data) {
        connectionDeadline = DispatchTime.now().uptimeNanoseconds + Self.connectionSeconds * 1_000_000_000
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while true {
            guard let header = readExactly(c, 4) else { return }
            switch Wire.length(ofHeader: header) {
            case .failure(let e):
                _ = writeAll(c, Wire.frame(Response.refused(e).data()))
                return
            case .success(let n):
                guard let payload = readExactly(c, n) else {
                    _ = writeAll(c, Wire.frame(Response.refused(WireError("frame", "truncated: fewer than \(n) bytes")).data()))
                    return
                }
                guard writeAll(c, Wire.frame(handle(Data(payload)))) else { return }
            }
        }
    }

    private func readExactly(_ c: Int32, _ n: Int) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            if DispatchTime.now().uptimeNanoseconds > connectionDeadline { return nil }
            let r = buf.withUnsafeMutableBytes { read(c, $0.baseAddress! + got, n - got) }
            if r < 0, errno == EINTR { continue }
            if r <= 0 { return nil }
            got += r
        }
        return buf
    }

    private func writeAll(_ c: Int32, _ d: Data) -> Bool {
        var sent = 0
        while sent < d.count {
            let r = d.withUnsafeBytes { send(c, $0.baseAddress! + sent, d.count - sent, Int32(MSG_NOSIGNAL)) }
            if r < 0, errno == EINTR { continue }
            if r <= 0 { return false }
            sent += r
        }
        return true
    }

    func stop() {
        stopped.lock()
        isStopped = true
        stopped.unlock()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }
}
