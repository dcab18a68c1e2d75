import PumpCore
import Crypto
import Foundation
import PumpCommands
import PumpConfig
import PumpSimulation

/// One decoder that takes outside bytes, fed one input. A crash, a trap or a broken property is
/// a finding (libFuzzer keeps the input; `Tests/Fuzz/corpus/<target>/` keeps the ones worth
/// replaying). Properties checked beyond "no crash": a request the gate admits must carry a valid
/// signature over a canonical body (never from mutated bytes), and every refusal names a field.
enum Target: String, CaseIterable {
    /// A stream of frames as the socket reads it: 4-byte length, payload, … each payload to the gate.
    case frame
    /// One payload (the envelope) to the gate.
    case envelope
    /// A body text, signed with the test key and sent through the gate: reaches the body and
    /// command decoders behind the signature.
    case body
    /// What pumpctl reads back from pumpd.
    case response
    case board
    case prescription
    case scenario

    static let device = "pump-fuzz"
    static let clinician = KeyFile(device: device, role: .clinician, key: SymmetricKey(data: (0..<32).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }))
    static let patient = KeyFile(device: device, role: .patient, key: SymmetricKey(data: (0..<32).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }))
    /// A fixed clock: the corpus's expiries are set against it (2026-11-15T00:00:00Z).
    static let now: Int64 = 1_763_164_800 * 1_000_000_000

    static func gate() -> Gate {
        Gate(ring: KeyRing(device: device, keys: [.clinician: clinician, .patient: patient]), counters: MemoryCounterStore())
    }

    /// Runs one input; traps (a finding) if a property breaks.
    func run(_ data: Data) {
        switch self {
        case .frame:
            var rest = data[...]
            while rest.count >= 4 {
                let n: Int
                switch Wire.length(ofHeader: Array(rest.prefix(4))) {
                case .success(let len): n = len
                case .failure(let e): Self.named(e); return
                }
                rest = rest.dropFirst(4)
                guard rest.count >= n else { return }
                Self.admitUnsigned(Data(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
        case .envelope:
            Self.admitUnsigned(data)
        case .body:
            let text = String(decoding: data, as: UTF8.self)
            let key = text.contains("\"patient\"") ? Self.patient : Self.clinician
            let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key.key)
            let envelope = JSONValue.object(["v": .number(1), "body": .string(text), "mac": .string(mac.map { String(format: "%02x", $0) }.joined())])
            switch Self.gate().admit(Data(envelope.canonicalText.utf8), utcNanoseconds: Self.now) {
            case .success(let a):
                // Admitted: the body must be the one canonical form of what was decoded.
                guard case .success = RemoteCommand.decode(a.body.command), text == (try? JSONValue.parse(Data(text.utf8)))?.canonicalText else {
                    fatalError("body admitted that is not canonical or does not decode: \(text)")
                }
            case .failure(let f): Self.named(f.error)
            }
        case .response:
            do { _ = try Response.parse(data) } catch { Self.named(error) }
        case .board:
            do { _ = try Board.parse(data) } catch { Self.named(error.problems.map(\.path)) }
        case .prescription:
            do { _ = try Therapy.parse(data) } catch { Self.named(error.problems.map(\.path)) }
        case .scenario:
            do { _ = try Scenario.parse(data) } catch { Self.named(error.problems.map(\.path)) }
        }
    }

    /// Bytes nobody signed with the test keys: the gate must refuse them, naming a field.
    static func admitUnsigned(_ payload: Data) {
        switch gate().admit(payload, utcNanoseconds: now) {
        case .success(let a):
            // Only possible for a payload that is a genuine signed request: check the MAC here.
            let key = a.body.role == .clinician ? clinician : patient
            guard case .object(let e) = (try? JSONValue.parse(payload)) ?? .null, case .string(let body)? = e["body"], case .string(let mac)? = e["mac"],
                  mac == HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key.key).map({ String(format: "%02x", $0) }).joined()
            else { fatalError("admitted without a valid signature: \(String(decoding: payload, as: UTF8.self))") }
        case .failure(let f): named(f.error)
        }
    }

    static func named(_ e: FieldError) { if e.path.isEmpty || e.message.isEmpty { fatalError("a refusal that names no field: \(e)") } }
    static func named(_ paths: [String]) { if paths.isEmpty || paths.contains(where: \.isEmpty) { fatalError("a rejection that names no field") } }
}
