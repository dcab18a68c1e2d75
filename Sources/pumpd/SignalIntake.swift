import CSignalMask
import Foundation
import Glibc
import PumpSync

/// Every asynchronous signal whose default action would end pumpd is caught from before main
/// (CSignalMask's constructor installs a handler that writes the signal's number to a pipe) and
/// taken here by one thread reading that pipe. No Swift code runs in signal context, a signal in
/// pumpd's first milliseconds waits in the pipe until pumpd can act on it instead of killing it,
/// and what each signal means is decided in one place (`meaning(of:)`). SIGHUP without a key
/// folder, a stray SIGUSR2 or SIGPIPE used to end pumpd without its safe stop (exit 129, 140,
/// 141); now they are logged and ignored.
final class SignalIntake: Sendable {
    enum Meaning: Equatable {
        /// SIGTERM, SIGINT, SIGQUIT: the safe stop (motor disabled, journal closed), then exit.
        case stop
        /// SIGHUP: reload the command socket's key folder (nothing to reload without one).
        case reloadKeys
        /// SIGUSR1: the simulated board's bolus button (nothing on a linux board).
        case bolusButton
        /// Every other caught signal: stopping delivery on a stray signal is itself a hazard
        /// (abrupt baclofen withdrawal), so it is logged and delivery goes on.
        case ignore
    }

    /// What pumpd does with a signal it is not in its daemon loop for (`--check-board`,
    /// `--hold-safe`, or before the daemon is up).
    enum Mode: Sendable {
        /// Queue for the daemon; a stop is also remembered (`stopRequested`) so none is lost.
        case daemon
        /// Exit at once on a stop signal (modes that hold nothing a stop must undo): status 0 when
        /// `clean`, else 128 + the signal's number, as the signal itself would have ended it.
        case exitOnStop(clean: Bool)
    }

    static func meaning(of signal: Int32) -> Meaning {
        switch signal {
        case SIGTERM, SIGINT, SIGQUIT: .stop
        case SIGHUP: .reloadKeys
        case SIGUSR1: .bolusButton
        default: .ignore
        }
    }

    static func name(of signal: Int32) -> String {
        let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1",
                                      SIGUSR2: "SIGUSR2", SIGALRM: "SIGALRM", SIGPIPE: "SIGPIPE", SIGVTALRM: "SIGVTALRM", SIGIO: "SIGIO",
                                      SIGPWR: "SIGPWR", SIGSTKFLT: "SIGSTKFLT", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ"]
        return names[signal] ?? "signal \(signal)"
    }

    static let shared = SignalIntake()

    let signals: AsyncStream<Int32>
    private let continuation: AsyncStream<Int32>.Continuation
    private let state = Locked<(mode: Mode, stop: Int32?, beforeExit: (@Sendable () -> Void)?)>((.daemon, nil, nil))

    private init() {
        // A flood of one signal cannot crowd out a stop: stops are also kept in `stopRequested`.
        (signals, continuation) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// True when the constructor installed the handlers before main.
    static var caughtBeforeMain: Bool { pump_deferred_signals_caught_before_main() == 1 }

    /// The first stop signal received, if any: the daemon acts on it as soon as it is up.
    var stopRequested: Int32? { state.withLock { $0.stop } }

    /// `beforeExit`: what an exit on a stop does first (the holder disarms the watchdog).
    func setMode(_ mode: Mode, beforeExit: (@Sendable () -> Void)? = nil) {
        let pendingStop = state.withLock { s -> Int32? in
            s.mode = mode
            s.beforeExit = beforeExit
            return s.stop
        }
        if case .exitOnStop(let clean) = mode, let sig = pendingStop {
            beforeExit?()
            _exit(clean ? 0 : 128 + sig)
        }
    }

    /// Starts the thread that takes the signals (once, first thing in main).
    func start() {
        let fd = pump_deferred_signal_fd()
        let thread = Thread { [self] in
            Thread.current.name = "signals"   // from inside: see SQLiteJournal.startWriter
            var byte: UInt8 = 0
            while true {
                let n = read(fd, &byte, 1)
                if n == 1 { take(Int32(byte)) } else if n < 0, errno == EINTR { continue } else { return }
            }
        }
        thread.start()
    }

    private func take(_ sig: Int32) {
        let (mode, beforeExit) = state.withLock { s -> (Mode, (@Sendable () -> Void)?) in
            if Self.meaning(of: sig) == .stop, s.stop == nil { s.stop = sig }
            return (s.mode, s.beforeExit)
        }
        if case .exitOnStop(let clean) = mode, Self.meaning(of: sig) == .stop {
            beforeExit?()
            _exit(clean ? 0 : 128 + sig)
        }
        continuation.yield(sig)
    }
}
