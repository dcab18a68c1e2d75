import Crypto
import Foundation
import PumpConfig
import PumpCore
import Testing
@testable import PumpCommands

/// The command interface's authentication: every refusal the issue names, with its reason.
@Suite("Command authentication")
struct GateTests {
    static let now: Int64 = 1_795_000_000 * 1_000_000_000
    let clinician = KeyFile.generate(device: "pump-test", role: .clinician)
    let patient = KeyFile.generate(device: "pump-test", role: .patient)
    var ring: KeyRing { KeyRing(device: "pump-test", keys: [.clinician: clinician, .patient: patient]) }

    func body(_ command: [String: JSONValue], key: KeyFile, counter: Int64 = 1, expiresIn ms: Int64 = 30_000,
              device: String = "pump-test") -> RequestBody {
        RequestBody(device: device, role: key.role, keyID: key.keyID, counter: counter, expiresUTCMilliseconds: Self.now / 1_000_000 + ms,
                    command: .object(command))
    }

    func admit(_ gate: Gate, _ payload: Data, at t: Int64 = GateTests.now) -> Result<Authenticated, Gate.Refusal> {
        gate.admit(payload, utcNanoseconds: t)
    }

    func refusal(_ r: Result<Authenticated, Gate.Refusal>) -> FieldError? {
        if case .failure(let f) = r { return f.error }
        return nil
    }

    @Test func aSignedCommandIsAdmittedOnce() throws {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        let env = Signer.envelope(body(["type": .string("status")], key: clinician), key: clinician)
        guard case .success(let a) = admit(gate, env) else { Issue.record("refused"); return }
        #expect(a.command.name == "status" && a.body.role == .clinician)
        // The very same bytes again: a replay.
        let again = refusal(admit(gate, env))
        #expect(again?.path == "body.counter" && again!.message.hasPrefix("replayed"))
    }

    @Test func anOlderCounterIsRefusedAsReordered() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        let second = Signer.envelope(body(["type": .string("status")], key: patient, counter: 20), key: patient)
        let first = Signer.envelope(body(["type": .string("status")], key: patient, counter: 10), key: patient)
        if case .failure = admit(gate, second) { Issue.record("refused") }
        let e = refusal(admit(gate, first))
        #expect(e?.path == "body.counter" && e!.message.contains("not above the last accepted 20"))
        // Counters are per role: the clinician's 10 is fine.
        let c = Signer.envelope(body(["type": .string("status")], key: clinician, counter: 10), key: clinician)
        if case .failure(let f) = admit(gate, c) { Issue.record("\(f.error)") }
    }

    /// A counter is the signer's clock in µs: one more than 300 s ahead of pumpd's clock is refused
    /// and consumes nothing, so no value locks a role (2^53−1 used to: every later request was "not
    /// above" it, `resume` included). Int64.max is refused as a number JSON cannot carry exactly.
    @Test func aCounterAheadOfTheClockIsRefusedAndLocksNothing() {
        let store = MemoryCounterStore()
        let gate = Gate(ring: ring, counters: store)
        let nowMicros = Self.now / 1000
        for c in [Int64(9_007_199_254_740_991), nowMicros + 300_000_001, Int64.max] {
            let e = refusal(admit(gate, Signer.envelope(body(["type": .string("resume")], key: clinician, counter: c), key: clinician)))
            #expect(e?.path == "body.counter", "counter \(c): \(String(describing: e))")
        }
        #expect(store.snapshot.isEmpty)
        // Exactly 300 s ahead is still a counter pumpd's clock can vouch for; then one signed now
        // is reordered behind it, as any counter below the last.
        let edge = admit(gate, Signer.envelope(body(["type": .string("resume")], key: clinician, counter: nowMicros + 300_000_000), key: clinician))
        if case .failure(let f) = edge { Issue.record("\(f.error)") }
        // A signer whose saved counter is ahead of its own clock by more than that starts again
        // from its clock instead of carrying it on.
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("counter-\(UUID().uuidString)").path
        try? Data("9007199254740991\n".utf8).write(to: URL(fileURLWithPath: state))
        #expect(Signer.nextCounter(stateFile: state, utcNanoseconds: Self.now) == nowMicros)
    }

    /// A journal that accepted 2^53−1 before the rule above: the store replaces a last counter no
    /// clock reaches (2200 on) by pumpd's clock, durably. What was signed before stays refused
    /// (no replay); the next request signed is accepted. A last counter ahead by less (the wall
    /// clock went back an hour) is kept: commands wait for the clock rather than risk replays.
    @Test func aStoredImpossibleCounterIsRepairedToTheClock() {
        let nowMicros = Self.now / 1000
        let store = MemoryCounterStore(last: [.clinician: 9_007_199_254_740_991])
        let gate = Gate(ring: ring, counters: store)
        let before = refusal(admit(gate, Signer.envelope(body(["type": .string("resume")], key: clinician, counter: nowMicros - 1_000_000), key: clinician)))
        #expect(before?.path == "body.counter" && before!.message.contains("not above the last accepted \(nowMicros)"), "\(String(describing: before))")
        #expect(store.snapshot[.clinician] == nowMicros)
        let after = admit(gate, Signer.envelope(body(["type": .string("resume")], key: clinician, counter: nowMicros + 2_000_000), key: clinician),
                          at: Self.now + 2_000_000_000)
        if case .failure(let f) = after { Issue.record("\(f.error)") }
        let back = MemoryCounterStore(last: [.clinician: nowMicros + 3_600_000_000])
        let e = refusal(admit(Gate(ring: ring, counters: back), Signer.envelope(body(["type": .string("resume")], key: clinician, counter: nowMicros), key: clinician)))
        #expect(e?.path == "body.counter")
        #expect(back.snapshot[.clinician] == nowMicros + 3_600_000_000)
    }

    /// A counter the journal cannot record is not run: after a restart it could be replayed.
    @Test func aCounterThatCannotBeRecordedIsNotRun() {
        struct Broken: CounterStore {
            func advance(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict { .unavailable }
        }
        let gate = Gate(ring: ring, counters: Broken())
        let e = refusal(admit(gate, Signer.envelope(body(["type": .string("suspend")], key: clinician), key: clinician)))
        #expect(e?.path == "body.counter" && e!.message.contains("cannot record"))
    }

    /// The journal under a storage fault: its writes fail until `storageReturns`, whose first
    /// commit also carries the counters handed over for later (as the journal's writer does).
    final class FailingJournalCounters: CounterStore, @unchecked Sendable {
        let memory = MemoryCounterStore()
        var broken = true
        var later: [Role: Int64] = [:]
        func advance(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict {
            broken ? .unavailable : memory.advance(role: role, to: counter, utcNanoseconds: utcNanoseconds)
        }
        func recordLater(role: Role, counter: Int64, utcNanoseconds: Int64) { later[role] = max(later[role] ?? 0, counter) }
        func storageReturns() {
            broken = false
            for (role, c) in later { _ = memory.advance(role: role, to: c, utcNanoseconds: GateTests.now) }
            later = [:]
        }
    }

    /// Storage attack (2026-12-04, finding 16.S5): during a lasting journal fault every command was
    /// refused, `status` and `suspend` included, so a clinician could neither see nor stop the pump.
    /// Now status, the previews, suspend and resume run on a counter kept in memory (each request
    /// still once only); whatever could dose or silence waits for the journal; those counters go
    /// into the journal's first commit once the storage returns, so a restart then does not reopen
    /// them.
    @Test func duringAJournalFaultTheClinicianCanStillLookAndStop() {
        let journal = FailingJournalCounters()
        let counters = CounterFloor(durable: journal)
        let gate = Gate(ring: ring, counters: counters)
        func request(_ type: String, _ fields: [String: JSONValue] = [:], key: KeyFile? = nil, counter: Int64) -> Data {
            let k = key ?? clinician
            return Signer.envelope(body(fields.merging(["type": .string(type)]) { a, _ in a }, key: k, counter: counter), key: k)
        }
        for (i, type) in ["status", "suspend", "resume"].enumerated() {
            guard case .success(let a) = admit(gate, request(type, counter: Int64(10 + i))) else { Issue.record("\(type) refused"); continue }
            #expect(a.counterInMemoryOnly && a.command.name == type)
        }
        if case .failure(let f) = admit(gate, request("status", key: patient, counter: 5)) { Issue.record("patient status: \(f.error)") }
        // The same suspend again, in this session: refused by the floor.
        let replay = refusal(admit(gate, request("suspend", counter: 11)))
        #expect(replay?.path == "body.counter" && replay!.message.contains("not above the last accepted 12"))
        // Whatever could dose or silence an alarm waits for the journal; the request is spent all the
        // same (it was told "not run": it must not run later), in memory and for the journal.
        let waiting: [(String, [String: JSONValue], KeyFile)] = [
            ("patient_bolus", [:], patient), ("clinician_bolus", ["dose_ug": .number(10), "over": .string("10m")], clinician),
            ("acknowledge", [:], clinician), ("acknowledge", [:], patient), ("clear_alarms", [:], clinician),
            ("set_low_reservoir", ["low_reservoir_ml": .number(2)], clinician),
        ]
        for (n, (type, fields, key)) in waiting.enumerated() {
            let e = refusal(admit(gate, request(type, fields, key: key, counter: Int64(100 + n))))
            #expect(e?.path == "body.counter" && e?.message.contains("cannot record") == true && e?.message.contains("spent") == true,
                    "\(type): \(e.map { "\($0)" } ?? "admitted")")
        }
        let spent = refusal(admit(gate, request("clinician_bolus", ["dose_ug": .number(10), "over": .string("10m")], counter: 101)))
        #expect(spent?.message.contains("not above the last accepted 105") == true, "\(spent.map { "\($0)" } ?? "admitted")")
        #expect(journal.memory.snapshot.isEmpty)
        // Handed to the journal for its next commit: the highest per role.
        #expect(journal.later == [.clinician: 105, .patient: 103])
        // The storage returns: its first commit holds them, the replay is still refused, and a
        // pump restarted on that journal (a new floor) refuses it too.
        journal.storageReturns()
        #expect(refusal(admit(gate, request("suspend", counter: 11)))?.path == "body.counter")
        #expect(journal.memory.snapshot == [.clinician: 105, .patient: 103])
        let restarted = Gate(ring: ring, counters: CounterFloor(durable: journal))
        #expect(refusal(admit(restarted, request("suspend", counter: 11)))?.message.contains("not above the last accepted 105") == true)
        #expect(refusal(admit(restarted, request("patient_bolus", key: patient, counter: 100)))?.path == "body.counter")
        guard case .success(let fresh) = admit(restarted, request("clinician_bolus", ["dose_ug": .number(10), "over": .string("10m")], counter: 200)) else {
            Issue.record("a fresh bolus after the storage returned was refused"); return
        }
        #expect(!fresh.counterInMemoryOnly)
    }

    @Test func forgedRequestsAreRefused() throws {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        // 1. The body changed after signing (a dose raised in transit).
        let good = Signer.envelope(body(["type": .string("clinician_bolus"), "dose_ug": .number(10), "over": .string("10m")], key: clinician), key: clinician)
        let tampered = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\\\"dose_ug\\\":10", with: "\\\"dose_ug\\\":90")
        #expect(tampered != String(decoding: good, as: UTF8.self))
        #expect(refusal(admit(gate, Data(tampered.utf8)))?.message.hasPrefix("forged") == true)
        // 2. A patient signs a clinician's body with the patient key: the role picks the clinician
        //    key id, which the patient does not have.
        var b = body(["type": .string("suspend")], key: patient)
        b.role = .clinician
        #expect(refusal(admit(gate, Signer.envelope(b, key: patient)))?.path == "body.key_id")
        // ...and with the clinician's key id copied in, the signature fails.
        b.keyID = clinician.keyID
        #expect(refusal(admit(gate, Signer.envelope(b, key: patient)))?.message.hasPrefix("forged") == true)
        // 3. A key of another device with the same name and id scheme.
        let stranger = KeyFile.generate(device: "pump-test", role: .clinician)
        #expect(refusal(admit(gate, Signer.envelope(body(["type": .string("status")], key: stranger), key: stranger)))?.path == "body.key_id")
    }

    @Test func expiredAndFarFutureRequestsAreRefused() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        let old = Signer.envelope(body(["type": .string("status")], key: clinician, expiresIn: -1), key: clinician)
        let e = refusal(admit(gate, old))
        #expect(e?.path == "body.expires_utc_ms" && e!.message.hasPrefix("expired"))
        let far = Signer.envelope(body(["type": .string("status")], key: clinician, counter: 2, expiresIn: 301_000), key: clinician)
        #expect(refusal(admit(gate, far))?.message.contains("ahead") == true)
        // An expired request does not burn its counter: the same counter, fresh, is accepted.
        let fresh = Signer.envelope(body(["type": .string("status")], key: clinician), key: clinician)
        if case .failure(let f) = admit(gate, fresh) { Issue.record("\(f.error)") }
    }

    /// At most once, never after the client gave up: pumpd admits a request only with
    /// `Wire.answerMargin` (2 s) of its life left, and a client waits at least until the expiry, so
    /// whatever pumpd admits it admits while its client still waits. The finding: requests lived
    /// 30 s, pumpctl waited 10 s, and a bolus reported as failed ran 8 s later.
    @Test func aRequestIsAdmittedOnlyWhileItsClientStillWaits() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        let late = Signer.envelope(body(["type": .string("suspend")], key: clinician, counter: 1, expiresIn: 1_999), key: clinician)
        let e = refusal(admit(gate, late))
        #expect(e?.path == "body.expires_utc_ms" && e!.message.contains("1999 ms") && e!.message.contains("stops waiting"), "\(String(describing: e))")
        // 2 s left exactly: admitted.
        let inTime = Signer.envelope(body(["type": .string("suspend")], key: clinician, counter: 1, expiresIn: 2_000), key: clinician)
        if case .failure(let f) = admit(gate, inTime) { Issue.record("\(f.error)") }
        // The client's side, for every lifetime pumpctl accepts (-3600...300 s) and beyond: it waits
        // at least until the expiry, so pumpd's last admission instant (expiry - 2 s) lies inside.
        for lifetimeS: Int64 in [-3600, -1, 0, 1, 2, 3, 10, 30, 299, 300, 100_000] {
            let expiresMs = Self.now / 1_000_000 + lifetimeS * 1000
            let wait = CommandClient.answerWait(expiresUTCMilliseconds: expiresMs, utcNanoseconds: Self.now)
            #expect(wait.value >= lifetimeS * 1_000_000_000 && wait.value >= 3_000_000_000, "lifetime \(lifetimeS) s: waits \(wait.value) ns")
        }
        #expect(CommandClient.answerWait(expiresUTCMilliseconds: .max, utcNanoseconds: Self.now).value == .max)
        // pumpctl's default: 10 s of life, 10 s of waiting (was 30 and 10).
        #expect(Wire.defaultLifetime == CommandClient.answerWait(expiresUTCMilliseconds: Self.now / 1_000_000 + 10_000, utcNanoseconds: Self.now))
        #expect(CommandClient.claimedExpiry(ofEnvelope: inTime) == Self.now / 1_000_000 + 2_000)
    }

    @Test func outOfRoleAndOtherDevice() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        for type in ["suspend", "resume", "clear_alarms", "clinician_bolus", "program", "refill", "set_low_reservoir"] {
            let e = refusal(admit(gate, Signer.envelope(body(["type": .string(type)], key: patient), key: patient)))
            // Decoding comes first for incomplete commands, so either reason names the command.
            #expect(e?.path.hasPrefix("body.command") == true, "\(type): \(String(describing: e))")
        }
        let e = refusal(admit(gate, Signer.envelope(body(["type": .string("suspend")], key: patient), key: patient)))
        #expect(e?.message == "out of role: a patient may not suspend")
        let c = refusal(admit(gate, Signer.envelope(body(["type": .string("patient_bolus")], key: clinician), key: clinician)))
        #expect(c?.message == "out of role: a clinician may not patient_bolus")
        let other = refusal(admit(gate, Signer.envelope(body(["type": .string("status")], key: clinician, device: "pump-other"), key: clinician)))
        #expect(other?.path == "body.device")
    }

    @Test func everyCommandFieldIsValidated() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        let cases: [([String: JSONValue], String)] = [
            (["type": .string("launch")], "body.command.type"),
            (["type": .number(3)], "body.command.type"),
            (["type": .string("clinician_bolus"), "dose_ug": .string("ten"), "over": .string("10m")], "body.command.dose_ug"),
            (["type": .string("clinician_bolus"), "dose_ug": .number(-1), "over": .string("10m")], "body.command.dose_ug"),
            (["type": .string("clinician_bolus"), "dose_ug": .number(10)], "body.command.over"),
            (["type": .string("clinician_bolus"), "dose_ug": .number(10), "over": .string("10m"), "x": .null], "body.command.x"),
            (["type": .string("set_low_reservoir"), "low_reservoir_ml": .number(1e9)], "body.command.low_reservoir_ml"),
            (["type": .string("refill"), "withdrawn_ml": .number(1), "added_ml": .number(20)], "body.command.confirmed"),
            (["type": .string("refill"), "withdrawn_ml": .number(1), "added_ml": .number(0), "confirmed": .bool(true)], "body.command.added_ml"),
            (["type": .string("preview_refill"), "withdrawn_ml": .number(1), "added_ml": .number(2), "bridge": .string("yes")], "body.command.bridge"),
            (["type": .string("status"), "extra": .number(1)], "body.command.extra"),
            (["type": .string("program"), "confirmed": .bool(true), "drug": .object(["name": .string("baclofen"), "concentration_ug_per_ml": .number(500)]),
              "prescription": .object(["mode": .string("continuous"), "daily_dose_ug": .number(1e7)])], "prescription.daily_dose_ug"),
            (["type": .string("program"), "confirmed": .bool(true), "drug": .object(["name": .string("baclofen"), "concentration_ug_per_ml": .number(500)]),
              "prescription": .object(["mode": .string("continuous"), "daily_dose_ug": .number(100)]), "reservoir": .object([:])], "body.command.reservoir"),
        ]
        for (i, (command, field)) in cases.enumerated() {
            let e = refusal(admit(gate, Signer.envelope(body(command, key: clinician, counter: Int64(i + 1)), key: clinician)))
            #expect(e?.path == field, "\(command): \(String(describing: e))")
        }
    }

    @Test func envelopeProblemsNameTheirField() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        let cases: [(String, String)] = [
            ("[]", "envelope"), ("{", "envelope"), (#"{"v":2,"body":"{}","mac":"00"}"#, "envelope.v"),
            (#"{"v":1,"body":3,"mac":"00"}"#, "envelope.body"), (#"{"v":1,"body":"{}","mac":"zz"}"#, "envelope.mac"),
            (#"{"v":1,"body":"{}","mac":"00","extra":1}"#, "envelope.extra"),
            (#"{"v":1,"body":"nope","mac":"\#(String(repeating: "0", count: 64))"}"#, "body"),
            (#"{"v":1,"body":"{\"role\":\"root\"}","mac":"\#(String(repeating: "0", count: 64))"}"#, "body.role"),
        ]
        for (text, field) in cases {
            #expect(refusal(admit(gate, Data(text.utf8)))?.path == field, "\(text)")
        }
        #expect(refusal(admit(gate, Data([0xff, 0xfe, 0x00])))?.path == "envelope")
    }

    @Test func keyFilesRoundTripAndRefuseLoosePermissions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try clinician.write(to: "\(dir)/clinician.key")
        try patient.write(to: "\(dir)/patient.key")
        let loaded = try KeyRing.load(folder: dir)
        #expect(loaded.keys[.clinician] == clinician && loaded.device == "pump-test")
        // The same bytes verify with the loaded key.
        let gate = Gate(ring: loaded, counters: MemoryCounterStore())
        if case .failure(let f) = gate.admit(Signer.envelope(body(["type": .string("status")], key: clinician), key: clinician), utcNanoseconds: Self.now) {
            Issue.record("\(f.error)")
        }
        chmod("\(dir)/patient.key", 0o644)
        #expect(throws: FieldError.self) { try KeyRing.load(folder: dir) }
        chmod("\(dir)/patient.key", 0o600)
        chmod(dir, 0o755)
        #expect(throws: FieldError.self) { try KeyRing.load(folder: dir) }
    }

    /// The findings "a symlinked key file pointing into a world-writable folder, an all-zero key,
    /// and a patient key with the clinician key's bytes were all accepted": each refused, naming
    /// the file and why.
    @Test func keyFilesThatOthersControlOrThatAreNotRandomAreRefused() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        let dir = base + "/keys", open = base + "/open"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try fm.createDirectory(atPath: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        chmod(open, 0o1777)
        defer { try? fm.removeItem(atPath: base) }
        func verdict(_ why: String) -> String {
            do { _ = try KeyRing.load(folder: dir); return "accepted" } catch { return error.description }
        }
        try clinician.write(to: "\(dir)/clinician.key")
        try patient.write(to: "\(dir)/patient.key")
        #expect(verdict("") == "accepted")
        // 1. The patient key a link into a world-writable folder.
        try patient.write(to: "\(open)/patient.key")
        unlink("\(dir)/patient.key")
        symlink("\(open)/patient.key", "\(dir)/patient.key")
        #expect(verdict("link").contains("patient.key: is a symbolic link"), "\(verdict("link"))")
        unlink("\(dir)/patient.key")
        // 2. An all-zero key, and one of only 15 byte values.
        for bytes in [[UInt8](repeating: 0, count: 32), (0..<32).map { UInt8($0 % 15) }] {
            try KeyFile(device: "pump-test", role: .patient, key: SymmetricKey(data: bytes)).write(to: "\(dir)/patient.key")
            #expect(verdict("weak").contains("patient.key: key_hex") && verdict("weak").contains("not a random key"), "\(verdict("weak"))")
        }
        // 3. The patient key with the clinician key's bytes.
        try KeyFile(device: "pump-test", role: .patient, key: clinician.key).write(to: "\(dir)/patient.key")
        #expect(verdict("same").contains("the clinician and patient keys are the same bytes"), "\(verdict("same"))")
        try patient.write(to: "\(dir)/patient.key")
        // 4. A key owned by another user, and a folder that is a link.
        if geteuid() == 0 {
            chown("\(dir)/patient.key", 4321, 4321)
            #expect(verdict("owner").contains("owned by uid 4321"), "\(verdict("owner"))")
            // pumpctl run by root may use it (the rig: `sudo pumpctl --key /etc/pumpd/keys/...`, owned by pump).
            #expect((try? KeyFile.read(path: "\(dir)/patient.key", rootMayUseAnyOwners: true)) == patient)
            chown("\(dir)/patient.key", 0, 0)
        }
        let linked = base + "/linked"
        symlink(dir, linked)
        #expect(throws: FieldError.self) { try KeyRing.load(folder: linked) }
        #expect(verdict("") == "accepted")
    }

    /// The finding "a signed body with a duplicate key is accepted and the first value used, where
    /// most tools read the last; the envelope accepts several byte forms": one byte form for both
    /// (JSONValue.canonicalText), checked before the signature.
    @Test func duplicateKeysAndOtherByteFormsAreRefused() {
        let gate = Gate(ring: ring, counters: MemoryCounterStore())
        func signed(_ text: String, key: KeyFile) -> Data {
            let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key.key)
            return Data(JSONValue.object(["v": .number(1), "body": .string(text), "mac": .string(Hex.encode(Array(mac)))]).canonicalText.utf8)
        }
        let good = Signer.bodyText(body(["type": .string("clinician_bolus"), "dose_ug": .number(1), "over": .string("10m")], key: clinician))
        #expect(good.contains(#""dose_ug":1,"#))
        // A duplicate key, correctly signed: refused, whichever value a reader would take.
        let dup = good.replacingOccurrences(of: #""dose_ug":1,"#, with: #""dose_ug":1,"dose_ug":5,"#)
        #expect(refusal(admit(gate, signed(dup, key: clinician)))?.path == "body", "\(dup)")
        // Other spellings of the same body, each correctly signed.
        for variant in [good.replacingOccurrences(of: #""dose_ug":1,"#, with: #""dose_ug":1.0,"#),
                        good.replacingOccurrences(of: #""dose_ug":1,"#, with: #""dose_ug": 1,"#),
                        good.replacingOccurrences(of: #""type":"clinician_bolus""#, with: #""type":"clinician\u005fbolus""#),
                        " " + good] {
            #expect(variant != good)
            #expect(refusal(admit(gate, signed(variant, key: clinician)))?.path == "body", "\(variant)")
        }
        // The envelope: other spellings of a valid one.
        let env = String(decoding: signed(good, key: clinician), as: UTF8.self)
        for variant in [env.replacingOccurrences(of: #""v":1"#, with: #""v":1.0"#), env.replacingOccurrences(of: #""v":1"#, with: #""v":1,"v":1"#),
                        env + "\n", env.replacingOccurrences(of: ",", with: ", ")] {
            #expect(refusal(admit(gate, Data(variant.utf8)))?.path == "envelope", "\(variant)")
        }
        if case .failure(let f) = admit(gate, Data(env.utf8)) { Issue.record("\(f.error)") }
        // The encoder: escapes, key order by UTF-8 bytes, integers; and what it writes parses back to itself.
        let v: JSONValue = .object(["b": .string("a\"\\\n\u{1}é/"), "a": .array([.number(0.5), .number(-3), .number(1e300), .bool(true), .null]), "B": .number(2)])
        #expect(v.canonicalText == #"{"B":2,"a":[0.5,-3,1e+300,true,null],"b":"a\"\\\n\u0001é/"}"#, "\(v.canonicalText)")
        #expect((try? JSONValue.parse(Data(v.canonicalText.utf8))) == v)
    }
}
