import Foundation
import PumpCommands
import PumpSync

/// The command interface's Unix socket path: owner-only (0600, made under umask 0177), never a
/// live socket taken over, a stale one replaced. Served by `CommandServer`.
final class CommandSocket: Sendable {
    let path: String
    private let fd: Int32
    private let server = Locked<CommandServer?>(nil)

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
        // Owner-only from the bind (umask above); no chmod by name afterwards, which would follow
        // a link swapped in meanwhile (outside review: a root chmod 0600 of any file).
        guard listen(fd, 128) == 0 else {
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

    /// Serves until `stop` (`CommandServer`: SwiftNIO). `serve` gets a frame's payload and gives the answer's (`CommandServer.Served`).
    func start(_ serve: @escaping @Sendable (Data) -> CommandServer.Served) throws {
        server.withLock { $0 = nil }
        let s = try CommandServer(listeningSocket: fd, serve: serve)
        server.withLock { $0 = s }
    }

    /// Stops serving (the server closes the socket) and removes the path.
    func stop() async {
        if let s = server.withLock({ $0 }) { await s.stop() } else { close(fd) }
        unlink(path)
    }
}
