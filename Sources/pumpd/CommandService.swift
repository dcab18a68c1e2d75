import Controller
import Foundation
import Logging
import PumpCommands
import PumpCore
import PumpHAL
import PumpJournal
import ServiceLifecycle
import PumpSync

/// The journal keeps the last accepted counter per role, so a restart does not reopen replays.
struct JournalCounters: CounterStore {
    let journal: SQLiteJournal
    func advance(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict {
        switch journal.advanceCommandCounter(role: role.rawValue, to: counter, utcNanoseconds: utcNanoseconds,
                                             repair: { CounterRule.repaired(last: $0, utcNanoseconds: utcNanoseconds) }) {
        case .advanced: .advanced
        case .stale(let last): .stale(last: last)
        case .unavailable: .unavailable
        }
    }
    func recordLater(role: Role, counter: Int64, utcNanoseconds: Int64) {
        journal.recordCounterLater(role: role.rawValue, counter: counter, utcNanoseconds: utcNanoseconds)
    }
}

/// Serves the command socket: every request goes through the `Gate` (signature, device, expiry,
/// role, fields, counter), is recorded in the event log accepted or refused (refusals beyond an
/// interval's share counted: `RefusalDigest`), and only then reaches the controller.
struct CommandService<M: MotorDriver, P: PressureSensor, B: BatteryGauge>: Service {
    let controller: PumpController<M, P, B>
    let socket: CommandSocket
    let keysFolder: String
    let ring: KeyRingBox
    let counters: CounterFloor
    let now: @Sendable () -> MonotonicInstant
    let logger: Logger

    func run() async throws {
        let digest = Locked(RefusalDigest())
        let serve: @Sendable (Data) -> CommandServer.Served = { [controller, ring, counters, now] payload in
            Self.serve(payload, gate: Gate(ring: ring.withLock { $0 }, counters: counters), controller: controller, digest: digest, now: now)
        }
        do { try socket.start(serve) } catch {
            logger.critical("command socket \(socket.path): cannot serve (\(error)); the command interface is unavailable")
            throw error
        }
        logger.notice("command socket \(socket.path): device \(ring.withLock { $0.device })")
        // Until the graceful shutdown: a flood's counted refusals are summarised when their
        // interval ends even if no further request comes, and the open interval at the stop.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            Self.closeDigest(digest, controller: controller, now: now, final: false)
        }
        await socket.stop()
        Self.closeDigest(digest, controller: controller, now: now, final: true)
    }

    static func closeDigest(_ digest: Locked<RefusalDigest>, controller: PumpController<M, P, B>, now: @Sendable () -> MonotonicInstant,
                            final: Bool) {
        let t = now()
        let summaries = digest.withLock { $0.close(at: t, final: final) }
        guard !summaries.isEmpty else { return }
        controller.withCore { core in for s in summaries { core.recordRemoteRefusals(s, at: t) } }
        controller.flushJournal(now: t, utcNanoseconds: SystemWallClock().utcNanoseconds())
    }

    /// Reasons and names may quote what the client sent: escaped before the journal keeps them.
    static func record(_ raw: RemoteCommandRecord, controller: PumpController<M, P, B>, at t: MonotonicInstant, utc: Int64) {
        var r = raw
        r.command = r.command.map(Printable.escaped)
        r.reason = r.reason.map(Printable.escaped)
        controller.withCore { $0.recordRemote(r, at: t) }
        controller.flushJournal(now: t, utcNanoseconds: utc)
    }

    /// A refusal is recorded one by one only while the interval's share lasts (RefusalDigest).
    static func refuse(_ r: RemoteCommandRecord, _ error: FieldError, request: Int?, controller: PumpController<M, P, B>,
                       digest: Locked<RefusalDigest>, at t: MonotonicInstant, utc: Int64) -> Data {
        let (closed, verdict) = digest.withLock { $0.refused(error, signed: r.role != nil, request: request, at: t) }
        if !closed.isEmpty { controller.withCore { core in for s in closed { core.recordRemoteRefusals(s, at: t) } } }
        if verdict == .record {
            record(r, controller: controller, at: t, utc: utc)
        } else if !closed.isEmpty {
            controller.flushJournal(now: t, utcNanoseconds: utc)
        }
        return Response.refused(error).data()
    }

    /// The gate's verdict on the event loop: a refusal is answered there and then (junk never
    /// occupies the task pool the dose loop runs on); an admitted request runs as a task.
    static func serve(_ payload: Data, gate: Gate, controller: PumpController<M, P, B>, digest: Locked<RefusalDigest>,
                      now: @Sendable () -> MonotonicInstant) -> CommandServer.Served {
        let utc = SystemWallClock().utcNanoseconds()
        let t = now()
        switch gate.admit(payload, utcNanoseconds: utc) {
        case .failure(let f):
            let r = RemoteCommandRecord(role: f.role?.rawValue, command: f.command, counter: nil, accepted: false, reason: f.error.description)
            return .now(refuse(r, f.error, request: payload.hashValue, controller: controller, digest: digest, at: t, utc: utc))
        case .success(let admitted):
            return .later { await run(admitted, device: gate.ring.device, controller: controller, digest: digest, at: t, utc: utc) }
        }
    }

    static func run(_ admitted: Authenticated, device: String, controller: PumpController<M, P, B>, digest: Locked<RefusalDigest>,
                    at t: MonotonicInstant, utc: Int64) async -> Data {
        let c = admitted.command
        // A counter the journal could not record is said in the record (the event log keeps it once
        // the storage returns).
        let who = RemoteCommandRecord(role: admitted.body.role.rawValue, command: c.name, counter: admitted.body.counter, accepted: true,
                                      reason: admitted.counterInMemoryOnly ? "counter kept in memory: the journal cannot record it now" : nil)
        // A command that changes something is checked again after admission (which wrote its
        // counter durably, taking some of Wire.answerMargin), before it runs: nothing runs once
        // its client may have stopped waiting. It is recorded once, with the controller's verdict
        // (an outside attack found `resume` while delivering logged as accepted).
        if c.operatorCommand != nil {
            let leftMs = admitted.body.expiresUTCMilliseconds - SystemWallClock().utcNanoseconds() / 1_000_000
            guard leftMs >= Wire.runMargin.value / 1_000_000 else {
                let late = FieldError("body.expires_utc_ms", "\(leftMs) ms of its life left when it was to run, under \(Wire.runMargin.value / 1_000_000) ms; not run")
                return refuse(RemoteCommandRecord(role: who.role, command: c.name, counter: admitted.body.counter, accepted: false, reason: late.description), late,
                              request: nil, controller: controller, digest: digest, at: t, utc: utc)
            }
        }
        if c.operatorCommand == nil { record(who, controller: controller, at: t, utc: utc) }
        switch c {
        case .status:
            return Response(ok: true, result: Views.status(controller.withCore { $0.status(at: t) }, utcNanoseconds: utc, device: device)).data()
        case .previewProgram(let p):
            // Run on a copy of the core: the verdict the real command would get, nothing changed.
            let (old, outcome) = controller.withCore { core -> (Prescription, CommandOutcome) in
                var copy = core
                return (core.prescription, copy.handle(.program(p), at: t, utcNanoseconds: utc))
            }
            return Response(ok: true, result: [
                "comparison": Views.comparison(old: old, new: p), "would_accept": outcome.accepted,
                "reason": outcome.reason ?? NSNull(), "old": Views.prescription(old), "new": Views.prescription(p),
            ]).data()
        case .previewRefill(let r):
            let (outcome, rec) = controller.withCore { core -> (CommandOutcome, RefillRecord?) in
                var copy = core
                let o = copy.handle(.refill(r), at: t, utcNanoseconds: utc)
                return (o, o.accepted ? copy.refills.last : nil)
            }
            var result: [String: Any] = ["would_accept": outcome.accepted, "reason": outcome.reason ?? NSNull()]
            if let rec { result["refill"] = Views.refill(rec) }
            return Response(ok: true, result: result).data()
        default:
            guard let op = c.operatorCommand else { return Response(ok: false, error: FieldError("body.command", "not executable")).data() }
            let outcome = await controller.handle(op, now: t, utcNanoseconds: utc)
            var verdict = who
            verdict.accepted = outcome.accepted
            verdict.reason = outcome.accepted ? who.reason : "body.command: \(outcome.reason ?? "refused by the controller")"
            record(verdict, controller: controller, at: t, utc: utc)
            var result: [String: Any] = ["accepted": outcome.accepted, "reason": outcome.reason ?? NSNull()]
            // A suspend or resume the journal cannot record yet is in force, but a restart before the
            // storage returns would not know it (outside attack: a suspend was silently undone).
            if outcome.accepted && admitted.counterInMemoryOnly {
                result["warning"] = "not recorded yet: the journal cannot write now (journal_fault); a restart before the storage returns forgets this \(c.name)"
            }
            if case .refill = c, outcome.accepted, let rec = controller.withCore({ $0.refills.last }) { result["refill"] = Views.refill(rec) }
            if case .patientBolus = c {
                let s = controller.withCore { $0.status(at: t) }
                result["next_allowed_in_s"] = s.nextPatientBolusIn?.seconds ?? NSNull()
            }
            guard outcome.accepted else {
                return Response(ok: false, error: FieldError("body.command", outcome.reason ?? "refused by the controller"), result: result).data()
            }
            return Response(ok: true, result: result).data()
        }
    }
}

/// The key ring, replaced whole on SIGHUP.
final class KeyRingBox: Sendable {
    private let m: Locked<KeyRing>
    init(_ r: KeyRing) { m = Locked(r) }
    func withLock<R: Sendable>(_ body: (inout KeyRing) -> R) -> R { m.withLock { body(&$0) } }
}
