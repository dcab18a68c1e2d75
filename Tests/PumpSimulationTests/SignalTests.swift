import Foundation
import PumpSync
import Testing

/// pumpd and its signals, as a process (issue 18, part 4): every signal whose default action
/// would end it is caught from before main and acted on by one thread; a stop goes through the
/// safe stop even in the first milliseconds; anything else is logged and ignored.
@Suite("pumpd signals", .enabled(if: FileManager.default.isExecutableFile(atPath: Daemon.binary.path)))
struct SignalTests {
    /// The signals the kernel must show caught by pumpd (SigCgt).
    static let deferred: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGVTALRM, SIGIO,
                                    SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ]

    /// A running pumpd on the simulated board whose stderr is collected as it comes.
    final class Running: @unchecked Sendable {
        let process = Process()
        let log = Locked("")
        init(extra: [String] = []) throws {
            process.executableURL = Daemon.binary
            process.arguments = ["--board", Daemon.path("Boards/simulated.json"), "--prescription",
                                 Daemon.path("docs/examples/baclofen-prescription.json"), "--journal", Daemon.journal(), "--new-journal"] + extra
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            let sink = log
            err.fileHandleForReading.readabilityHandler = { h in
                let d = h.availableData
                if !d.isEmpty { sink.withLock { $0 += String(decoding: d, as: UTF8.self) } }
            }
            try process.run()
        }
        var pid: pid_t { process.processIdentifier }
        var text: String { log.withLock { $0 } }
        /// Waits (polling every 5 ms, up to `seconds`) until the log contains every string.
        @discardableResult
        func waitFor(_ strings: [String], seconds: Double = 20) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let t = text
                if strings.allSatisfy({ t.contains($0) }) { return true }
                if !process.isRunning { return strings.allSatisfy { text.contains($0) } }
                usleep(5_000)
            }
            return false
        }
        func finish() -> Int32 {
            process.waitUntilExit()
            usleep(50_000)   // the last of stderr
            return process.terminationStatus
        }
    }

    /// The caught-signal mask of `pid` (handlers installed), as the kernel reports it.
    static func caught(_ pid: pid_t) -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }) else { return nil }
        return UInt64(line.split(separator: "\t").last ?? "", radix: 16)
    }

    static func bit(_ sig: Int32) -> UInt64 { 1 << UInt64(sig - 1) }

    /// Sends `signal` the moment the kernel shows pumpd catching it (polled every 100 µs from the
    /// spawn); returns the seconds since the spawn.
    static func sendOnceCaught(_ p: Running, _ signal: Int32) -> Double {
        let started = Date()
        while p.process.isRunning, !(caught(p.pid).map { $0 & bit(signal) != 0 } ?? false),
              Date().timeIntervalSince(started) < 10 { usleep(100) }
        kill(p.pid, signal)
        return Date().timeIntervalSince(started)
    }

    /// Stray signals (SIGHUP with no key folder, SIGUSR2, SIGALRM, SIGPIPE, SIGXCPU, SIGPWR, a
    /// burst of 20 SIGUSR2) once pumpd runs: each kind logged once as ignored, pumpd still running
    /// and catching them all (the kernel's SigCgt); then SIGTERM: the safe stop and exit 0.
    /// Before, SIGHUP ended it with status 129 and no safe stop.
    @Test func straySignalsAreLoggedAndIgnored() throws {
        let p = try Running()
        defer { if p.process.isRunning { kill(p.pid, SIGKILL) } }
        #expect(p.waitFor(["pumpd running"]), "\(p.text)")
        let all = Self.deferred.reduce(UInt64(0)) { $0 | Self.bit($1) }
        let caught = Self.caught(p.pid)
        #expect(caught.map { $0 & all == all } == true, "SigCgt: \(caught.map { String($0, radix: 16) } ?? "-")")
        for sig in [SIGHUP, SIGUSR2, SIGALRM, SIGPIPE, SIGXCPU, SIGPWR] { kill(p.pid, sig) }
        for _ in 0..<20 { kill(p.pid, SIGUSR2) }
        #expect(p.waitFor(["SIGHUP ignored: no key folder", "SIGUSR2 ignored", "SIGALRM ignored", "SIGPIPE ignored", "SIGXCPU ignored",
                           "SIGPWR ignored"]), "\(p.text)")
        usleep(300_000)
        #expect(p.process.isRunning)
        #expect(p.text.components(separatedBy: "SIGUSR2 ignored").count - 1 == 1, "\(p.text)")
        kill(p.pid, SIGTERM)
        #expect(p.finish() == 0, "\(p.text)")
        #expect(p.text.contains("shutdown: motor disabled (safe state)"), "\(p.text)")
    }

    /// A stop the moment the signals are caught (the kernel shows the constructor's handlers,
    /// before pumpd has parsed its arguments or opened its journal): it waits in the pipe, pumpd
    /// starts, and the stop then goes through the safe stop, exit 0. SIGINT and SIGQUIT alike;
    /// SIGHUP as early is ignored and pumpd runs on.
    @Test(arguments: [SIGTERM, SIGINT, SIGQUIT])
    func aStopInTheFirstMillisecondsGoesThroughTheSafeStop(signal: Int32) throws {
        let p = try Running()
        defer { if p.process.isRunning { kill(p.pid, SIGKILL) } }
        let sentAfter = Self.sendOnceCaught(p, signal)
        #expect(p.finish() == 0, "sent \(sentAfter) s after spawn: \(p.text)")
        // Normally it arrives while pumpd is still starting; on a slow machine it may find pumpd
        // running. Either way the safe stop runs.
        #expect(p.text.contains("before pumpd was running: safe stop now") || p.text.contains(": safe stop\n") || p.text.contains(": safe stop"),
                "\(p.text)")
        #expect(p.text.contains("shutdown: motor disabled (safe state)"), "\(p.text)")
        #expect(p.text.contains("shutdown: totals"), "\(p.text)")
    }

    @Test func anEarlySIGHUPIsIgnored() throws {
        let p = try Running()
        defer { if p.process.isRunning { kill(p.pid, SIGKILL) } }
        _ = Self.sendOnceCaught(p, SIGHUP)
        #expect(p.waitFor(["pumpd running", "SIGHUP ignored"]), "\(p.text)")
        #expect(p.process.isRunning)
        kill(p.pid, SIGTERM)
        #expect(p.finish() == 0, "\(p.text)")
    }
}
