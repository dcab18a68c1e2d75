import Foundation
import PumpSync

/// A child process of the suite (pumpd or the plant) with its output collected as lines, each
/// stamped with the monotonic time it arrived.
final class ChildProcess: Sendable {
    struct Line: Sendable {
        var text: String
        var receivedNanoseconds: Int64
    }

    let name: String
    let pid: pid_t
    private let input: Int32
    private let collected = Collected()

    final class Collected: Sendable {
        let lines = Locked<[Line]>([])
        /// The wait status once reaped.
        let status = Locked<Int32?>(nil)
        /// True once the output pipe reached end of file: every line the child wrote is in `lines`.
        let drained = Locked<Bool>(false)
    }

    /// Spawns with posix_spawn (not Foundation's Process, whose exit monitoring needs a run-loop
    /// socket pair the VM's static build cannot make): stdout and stderr into one pipe.
    init(name: String, executable: String, arguments: [String]) throws {
        self.name = name
        var output: [Int32] = [-1, -1], commands: [Int32] = [-1, -1]
        guard pipe(&output) == 0, pipe(&commands) == 0 else { throw SuiteError(message: "\(name): pipe: errno \(errno)") }
        // Our ends are not inherited by later children (the plant must see EOF when we close).
        for fd in output + commands { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, commands[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, environ)
        close(commands[0])
        close(output[1])
        guard rc == 0 else {
            close(commands[1])
            close(output[0])
            throw SuiteError(message: "\(name): cannot start \(executable): errno \(rc)")
        }
        pid = child
        input = commands[1]
        let sink = collected, fd = output[0]
        Thread.detachNewThread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                pending += buffer[0..<n]
                while let nl = pending.firstIndex(of: 0x0A) {
                    let line = Line(text: String(decoding: pending[..<nl], as: UTF8.self), receivedNanoseconds: Monotonic.nanoseconds())
                    pending.removeSubrange(...nl)
                    sink.lines.withLock { $0.append(line) }
                }
            }
            close(fd)
            sink.drained.withLock { $0 = true }
        }
    }

    deinit {
        stop()
        close(input)
    }

    var lines: [Line] { collected.lines.withLock { $0 } }

    /// Reaps the child if it has exited; true while it runs.
    var isRunning: Bool {
        collected.status.withLock { status in
            guard status == nil else { return false }
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid { status = st; return false }
            return true
        }
    }

    /// The exit code (128 + signal number when killed by a signal), once exited.
    var exitCode: Int32? {
        guard !isRunning, let st = collected.status.withLock({ $0 }) else { return nil }
        return st & 0x7F == 0 ? (st >> 8) & 0xFF : 128 + (st & 0x7F)
    }

    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
    }

    /// The first line (from `after`) containing `text`, waiting up to `timeout` seconds.
    func waitFor(_ text: String, after: Int = 0, timeout: Double) -> Line? {
        waitFor(after: after, timeout: timeout) { $0.contains(text) }
    }

    func waitFor(after: Int = 0, timeout: Double, where match: (String) -> Bool) -> Line? {
        let deadline = Monotonic.nanoseconds() + Int64(timeout * 1e9)
        repeat {
            if let l = lines.dropFirst(after).first(where: { match($0.text) }) { return l }
            Thread.sleep(forTimeInterval: 0.02)
        } while Monotonic.nanoseconds() < deadline
        return nil
    }

    func signal(_ sig: Int32) { if isRunning { kill(pid, sig) } }

    /// The exit code after waiting up to `timeout` seconds; nil if it had to be killed.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Monotonic.nanoseconds() + Int64(timeout * 1e9)
        while isRunning, Monotonic.nanoseconds() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        guard !isRunning else {
            stop()
            return nil
        }
        // The reader thread may still hold the last lines the child wrote before it exited.
        while !collected.drained.withLock({ $0 }), Monotonic.nanoseconds() < deadline + 2_000_000_000 { Thread.sleep(forTimeInterval: 0.01) }
        return exitCode
    }

    /// Kills the process if it still runs, and reaps it.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        while isRunning { Thread.sleep(forTimeInterval: 0.01) }
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the one time base of the suite and the plant (same machine).
public enum Monotonic {
    public static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
