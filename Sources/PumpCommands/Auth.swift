import Crypto
import Foundation
import PumpConfig
import PumpCore

/// Makes a signed request (the client side: `pumpctl`).
public enum Signer {
    /// The envelope's bytes (not yet framed) for `body`, signed with `key`.
    public static func envelope(_ body: RequestBody, key: KeyFile) -> Data {
        let text = bodyText(body)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key.key)
        let e: JSONValue = .object(["v": .number(Double(Wire.version)), "body": .string(text), "mac": .string(Hex.encode(Array(mac)))])
        return Data(e.canonicalText.utf8)
    }

    /// The body in its canonical form (`JSONValue.canonicalText`), the bytes the MAC covers.
    static func bodyText(_ b: RequestBody) -> String {
        JSONValue.object(["device": .string(b.device), "role": .string(b.role.rawValue), "key_id": .string(b.keyID),
                          "counter": .number(Double(b.counter)), "expires_utc_ms": .number(Double(b.expiresUTCMilliseconds)),
                          "command": b.command]).canonicalText
    }

    /// A counter that only grows for this client: the wall clock in microseconds, or one more than
    /// the last used if the clock went back (kept in `stateFile` when it is writable).
    public static func nextCounter(stateFile: String?, utcNanoseconds: Int64) -> Int64 {
        var last: Int64 = 0
        if let stateFile, let d = OwnerOnlyFile.read(stateFile) {
            last = Int64(String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        // A saved counter pumpd would refuse as ahead of its clock (CounterRule) is not carried on.
        if last >= CounterRule.ceiling(utcNanoseconds: utcNanoseconds) { last = 0 }
        let next = max(utcNanoseconds / 1000, last + 1)
        if let stateFile { try? OwnerOnlyFile.write(Data("\(next)\n".utf8), to: stateFile, field: "counter") }
        return next
    }
}

/// Remembers the last accepted counter per role, durably (the journal, in the daemon).
public protocol CounterStore: Sendable {
    /// Moves `role`'s counter to `counter` if it is above the last accepted one.
    func advance(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict
    /// When `advance` was `.unavailable`: moves the counter in memory only (`CounterFloor`), to run
    /// a command that `runsWithoutJournal`, or to spend a refused request. A store without such
    /// memory says `.unavailable`.
    func advanceInMemory(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict
    /// A counter admitted in memory, to be made durable with the next write that succeeds (the
    /// journal: in the same transaction as the events recording its command).
    func recordLater(role: Role, counter: Int64, utcNanoseconds: Int64)
}

extension CounterStore {
    public func advanceInMemory(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict { .unavailable }
    public func recordLater(role: Role, counter: Int64, utcNanoseconds: Int64) {}
}

public enum CounterVerdict: Equatable, Sendable {
    case advanced
    /// Not above the last accepted counter.
    case stale(last: Int64)
    /// The store could not record it: the command must not run (a restart could replay it).
    case unavailable
}

/// Counters against pumpd's clock. A counter is the signer's wall clock in microseconds (or one
/// more than its last): a counter further ahead of pumpd's clock than a request may live cannot
/// be a fresh request, and once accepted it refused every later one (2^53−1 locked the clinician
/// role for good, `resume` after a stop alarm included). So:
/// - `Gate.admit` refuses a counter above `ceiling` (pumpd's clock + `Wire.maximumExpiry`);
/// - a stored last counter no clock can reach (from 2200 on, as 2^53−1 µs, stored before this rule)
///   is replaced by pumpd's clock by the store (`repaired`): what was signed before stays refused,
///   the next request signed is accepted. A last counter ahead of the clock by less (the wall
///   clock went back) is kept: commands wait until the clock passes it, since treating it as
///   wrong would let requests signed before the step be replayed.
public enum CounterRule {
    /// The largest counter pumpd accepts now.
    public static func ceiling(utcNanoseconds: Int64) -> Int64 { utcNanoseconds / 1000 + Wire.maximumExpiry.value / 1000 }
    /// 2200-01-01T00:00:00Z in µs: no wall clock pumpd accepts reaches it.
    public static let impossible: Int64 = 7_258_118_400 * 1_000_000
    /// The last accepted counter to compare with: a stored one from 2200 on becomes pumpd's clock.
    public static func repaired(last: Int64, utcNanoseconds: Int64) -> Int64 { last >= impossible ? utcNanoseconds / 1000 : last }
}

/// An in-memory counter store (tests, fuzzing). `last`: counters accepted before (a journal's).
public final class MemoryCounterStore: CounterStore, @unchecked Sendable {
    private let lock = NSLock()
    private var last: [Role: Int64]
    public init(last: [Role: Int64] = [:]) { self.last = last }
    public func advance(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict {
        lock.lock()
        defer { lock.unlock() }
        let l = CounterRule.repaired(last: last[role] ?? 0, utcNanoseconds: utcNanoseconds)
        last[role] = l
        guard counter > l else { return .stale(last: l) }
        last[role] = counter
        return .advanced
    }
    /// Every role's last counter (tests check refusals leave it alone).
    public var snapshot: [Role: Int64] { lock.lock(); defer { lock.unlock() }; return last }
}

/// The durable counters (the journal's) with a floor kept in memory: while the journal cannot
/// record a counter, the commands that `runsWithoutJournal` are admitted on the floor alone, and
/// every request, those included, must be above it (no replay within the session). The durable
/// store is handed each such counter (`recordLater`) and writes it with its next successful
/// commit, so a restart after the storage returned does not reopen those counters either.
public final class CounterFloor: CounterStore, @unchecked Sendable {
    private let durable: any CounterStore
    private let lock = NSLock()
    private var floor: [Role: Int64] = [:]

    public init(durable: any CounterStore) { self.durable = durable }

    // The lock is never held across the durable store: a write that waits for stalled storage
    // must not keep `status` or `suspend` waiting behind it.
    public func advance(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict {
        if let f = withLock({ floor[role] }), counter <= f { return .stale(last: f) }
        let v = durable.advance(role: role, to: counter, utcNanoseconds: utcNanoseconds)
        guard v == .advanced else { return v }
        return withLock {
            // An in-memory counter accepted meanwhile is above this one: a reordering after all.
            if let f = floor[role], counter <= f { return .stale(last: f) }
            // Durably above the floor now: the floor has nothing left to guard.
            floor[role] = nil
            return .advanced
        }
    }

    public func advanceInMemory(role: Role, to counter: Int64, utcNanoseconds: Int64) -> CounterVerdict {
        let v = withLock { () -> CounterVerdict in
            if let f = floor[role], counter <= f { return .stale(last: f) }
            floor[role] = counter
            return .advanced
        }
        if v == .advanced { durable.recordLater(role: role, counter: counter, utcNanoseconds: utcNanoseconds) }
        return v
    }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}

/// A request that passed every check but the counter (see `Gate.admit`).
public struct Authenticated: Sendable {
    public var body: RequestBody
    public var command: RemoteCommand
    /// Admitted on a counter kept in memory (the journal could not record it: `CounterFloor`).
    public var counterInMemoryOnly = false
}

/// The daemon's checks, in order: frame, envelope, body, key, signature, device, expiry, role,
/// fields, then the counter (replay and reordering) — each refusal names the field and why.
/// Nothing is trusted before the signature is: the role is read first only to pick the key.
public struct Gate: Sendable {
    public var ring: KeyRing
    public let counters: any CounterStore

    public init(ring: KeyRing, counters: any CounterStore) {
        self.ring = ring
        self.counters = counters
    }

    /// What a refused request was, as far as it could be told (for the event log).
    public struct Refusal: Error, Sendable {
        public var error: FieldError
        /// Known once the signature matched.
        public var role: Role?
        public var command: String?
    }

    /// Checks a request's payload (the frame's bytes) and, if everything holds, consumes its counter.
    public func admit(_ payload: Data, utcNanoseconds: Int64) -> Result<Authenticated, Refusal> {
        let body: RequestBody
        switch authenticate(payload, utcNanoseconds: utcNanoseconds) {
        case .success(let b): body = b
        case .failure(let e): return .failure(e)
        }
        let command: RemoteCommand
        switch RemoteCommand.decode(body.command) {
        case .success(let c): command = c
        case .failure(let e): return .failure(Refusal(error: e, role: body.role, command: Self.typeName(body.command)))
        }
        guard command.allowed(for: body.role) else {
            return .failure(Refusal(error: FieldError("body.command.type", "out of role: a \(body.role.rawValue) may not \(command.name)"),
                                    role: body.role, command: command.name))
        }
        let ceiling = CounterRule.ceiling(utcNanoseconds: utcNanoseconds)
        guard body.counter <= ceiling else {
            return .failure(Refusal(error: FieldError("body.counter", "\(body.counter) is more than \(Int(Wire.maximumExpiry.seconds)) s ahead of pumpd's clock (a counter is the signer's clock in µs; check the signer's clock)"),
                                    role: body.role, command: command.name))
        }
        var inMemory = false
        var verdict = counters.advance(role: body.role, to: body.counter, utcNanoseconds: utcNanoseconds)
        if verdict == .unavailable && command.runsWithoutJournal {
            verdict = counters.advanceInMemory(role: body.role, to: body.counter, utcNanoseconds: utcNanoseconds)
            inMemory = verdict == .advanced
        }
        switch verdict {
        case .advanced: break
        case .stale(let last):
            let why = body.counter == last ? "replayed: counter \(body.counter) was already accepted"
                                           : "replayed or reordered: counter \(body.counter) is not above the last accepted \(last)"
            return .failure(Refusal(error: FieldError("body.counter", why), role: body.role, command: command.name))
        case .unavailable:
            // Spent all the same (in memory, and in the journal once it writes): a request told
            // "not run" must not run later for whoever kept its bytes (outside attack: a refused
            // bolus request was accepted after a restart).
            _ = counters.advanceInMemory(role: body.role, to: body.counter, utcNanoseconds: utcNanoseconds)
            return .failure(Refusal(error: FieldError("body.counter", "the journal cannot record the counter now; not run, and this request is spent (send a new one to try again; status, suspend and resume still run)"),
                                    role: body.role, command: command.name))
        }
        return .success(Authenticated(body: body, command: command, counterInMemoryOnly: inMemory))
    }

    static let notCanonical = "not in canonical form (sorted keys, no whitespace, no duplicate keys, integers without fraction; docs/commands.md)"

    static func typeName(_ v: JSONValue) -> String? {
        if case .object(let o) = v, case .string(let t)? = o["type"] { return String(t.prefix(40)) }
        return nil
    }

    /// Envelope, signature, device and expiry.
    func authenticate(_ payload: Data, utcNanoseconds: Int64) -> Result<RequestBody, Refusal> {
        func refuse(_ f: String, _ r: String, _ role: Role? = nil) -> Result<RequestBody, Refusal> {
            .failure(Refusal(error: FieldError(f, r), role: role, command: nil))
        }
        guard let env = try? JSONValue.parse(payload), case .object(let e) = env else { return refuse("envelope", "not a JSON object") }
        for k in e.keys.sorted() where !["v", "body", "mac"].contains(k) { return refuse("envelope.\(String(k.prefix(40)))", "unknown field") }
        guard case .number(let v)? = e["v"], v == Double(Wire.version) else { return refuse("envelope.v", "must be \(Wire.version)") }
        guard case .string(let text)? = e["body"] else { return refuse("envelope.body", "must be a string (the signed JSON text)") }
        guard case .string(let macHex)? = e["mac"], let mac = Hex.decode(macHex, lowercaseOnly: true), mac.count == 32 else {
            return refuse("envelope.mac", "must be 64 lower-case hex digits (HMAC-SHA256)")
        }
        // The body's fields; only the role and key id are looked at before the signature.
        var problems: [FieldError] = []
        guard let bodyValue = try? JSONValue.parse(Data(text.utf8)), var r = ObjectReader.open(bodyValue, path: "body", problems: &problems) else {
            return refuse("body", "not a JSON object")
        }
        guard let roleText = r.string("role", &problems), let role = Role(rawValue: roleText) else {
            return refuse("body.role", "must be clinician or patient")
        }
        guard let key = ring.keys[role] else { return refuse("body.role", "no key for this role") }
        guard let keyID = r.string("key_id", &problems), keyID == key.keyID else {
            return refuse("body.key_id", "unknown key (rotated, or for another device)")
        }
        // One byte form for the envelope and the body (JSONValue.canonicalText): no duplicate
        // keys, no second spelling of what is signed.
        guard Data(env.canonicalText.utf8) == payload else {
            return refuse("envelope", Self.notCanonical)
        }
        guard bodyValue.canonicalText == text else {
            return refuse("body", Self.notCanonical)
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(text.utf8), using: key.key) else {
            return refuse("envelope.mac", "forged: the signature does not match the body")
        }
        let device = r.string("device", &problems)
        let counter = r.number("counter", &problems)
        let expires = r.number("expires_utc_ms", &problems)
        let command = r.value("command")
        r.rejectUnknown(&problems)
        if let p = problems.first { return refuse(p.path, p.message, role) }
        guard device == ring.device else { return refuse("body.device", "for another device", role) }
        guard let counter, counter.isFinite, counter == counter.rounded(), counter >= 1, counter < 9_007_199_254_740_992 else {
            return refuse("body.counter", "must be a whole number from 1 to 2^53", role)
        }
        guard let expires, expires.isFinite, expires == expires.rounded(), abs(expires) < 9e15 else {
            return refuse("body.expires_utc_ms", "must be a whole number of milliseconds since 1970 (UTC)", role)
        }
        let nowMs = utcNanoseconds / 1_000_000
        let expiresMs = Int64(expires)
        if expiresMs < nowMs { return refuse("body.expires_utc_ms", "expired \(nowMs - expiresMs) ms ago", role) }
        let marginMs = Wire.answerMargin.value / 1_000_000
        if expiresMs - nowMs < marginMs {
            return refuse("body.expires_utc_ms", "expires in \(expiresMs - nowMs) ms: too late to run and answer before the client stops waiting (at least \(marginMs) ms must be left)", role)
        }
        if expiresMs > nowMs + Wire.maximumExpiry.value / 1_000_000 {
            return refuse("body.expires_utc_ms", "more than \(Int(Wire.maximumExpiry.seconds)) s ahead", role)
        }
        guard let command else { return refuse("body.command", "is required", role) }
        return .success(RequestBody(device: ring.device, role: role, keyID: keyID, counter: Int64(counter),
                                    expiresUTCMilliseconds: expiresMs, command: command))
    }
}
