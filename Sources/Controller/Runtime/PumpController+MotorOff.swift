import PumpCore
import PumpHAL
import PumpSync

/// Turning the motor off: when it must be cut, the cut under the ENABLE gate, and the safe stop on
/// the way out.
extension PumpController {
    /// Whether the watchdog or a command must disable the motor now; a stroke under way while
    /// only suspended is left to the dose loop, which disables once it is confirmed.
    @usableFromInline func mustCut(_ g: Guarded) -> Bool {
        switch g.core.motorStop {
        case .none: false
        case .afterStroke: !g.strokeUnderWay
        case .now: true
        }
    }

    /// Puts the motor in the safe state on the way out (daemon shutdown). Returns false if the
    /// driver refused twice.
    public func safeStop() async -> Bool {
        await enableGate.acquire()
        defer { enableGate.release() }
        for _ in 0..<2 {
            do {
                try await motor.disable()
                state.withLock { $0.motorEnabled = false }
                return true
            } catch {}
        }
        return false
    }

    /// The motor disabled if the core still wants it off, decided again holding the gate (the
    /// decision that called this may be stale: a resume came in between).
    @usableFromInline nonisolated(nonsending) func safeState(now: MonotonicInstant) async {
        await enableGate.acquire()
        await cutIfStillWanted(now: now)
        enableGate.release()
    }

    /// Holding the gate: disables if ENABLE may be on and `mustCut` says so. A refused disable
    /// stays owed (`motorEnabled`), so the next watchdog tick tries again, and is a driver fault
    /// (high alarm, halt) once per streak: a pump that cannot turn its motor off must say so.
    @usableFromInline nonisolated(nonsending) func cutIfStillWanted(now: MonotonicInstant) async {
        guard state.withLock({ $0.motorEnabled && mustCut($0) }) else { return }
        do {
            try await motor.disable()
            state.withLock { g in g.motorEnabled = false; g.disableFailing = false }
        } catch {
            state.withLock { g in
                guard !g.disableFailing else { return }
                g.disableFailing = true
                g.core.motorCommandFailed(error, at: now)
            }
        }
    }
}
