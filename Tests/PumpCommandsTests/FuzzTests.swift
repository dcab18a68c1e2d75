import Foundation
import PumpConfig
import PumpCore
import PumpFakes
import PumpPlant
import Testing
@testable import PumpCommands

/// Malformed requests through the whole gate (envelope, signature, body, command decoder) in
/// process: no crash, every refusal names a field, nothing mutated is admitted, and the counter
/// store moves only for admitted requests.
@Suite("Command fuzzing")
struct FuzzTests {
    /// 50 000 in the optimized build Scripts/test runs (20 000, about 5 s, in a debug build);
    /// PUMP_FUZZ_GATE=N for more.
    static let inputs = FuzzBudget.inputs(optimized: 50_000, debug: 20_000, override: ProcessInfo.processInfo.environment["PUMP_FUZZ_GATE"])

    @Test func malformedRequestsAreRefusedWithAField() {
        let now: Int64 = 1_795_000_000 * 1_000_000_000
        let c = KeyFile.generate(device: "pump-fuzz", role: .clinician), p = KeyFile.generate(device: "pump-fuzz", role: .patient)
        let counters = MemoryCounterStore()
        let gate = Gate(ring: KeyRing(device: "pump-fuzz", keys: [.clinician: c, .patient: p]), counters: counters)
        let commands: [[String: JSONValue]] = [
            ["type": .string("status")], ["type": .string("patient_bolus")],
            ["type": .string("clinician_bolus"), "dose_ug": .number(50), "over": .string("10m")],
            ["type": .string("set_low_reservoir"), "low_reservoir_ml": .number(3)],
            ["type": .string("refill"), "withdrawn_ml": .number(1), "added_ml": .number(20), "confirmed": .bool(true), "concentration_ug_per_ml": .number(1000)],
            ["type": .string("program"), "confirmed": .bool(true), "drug": .object(["name": .string("baclofen"), "concentration_ug_per_ml": .number(500)]),
             "prescription": .object(["mode": .string("flex"), "steps": .array([.object(["start": .string("00:00"), "daily_dose_ug": .number(100)])])])],
        ]
        // Values a mutation swaps in for a number or string.
        let hostile = ["NaN", "1e999", "-1", "0", "1e-10", "9007199254740993", "\"\"", "null", "[]", "{}", "true", "\"\\u0000\"", "\"\u{FFFF}\""]
        var rng = SplitMix64(seed: 7)
        var refusedBy: [String: Int] = [:]
        var admitted = 0
        for i in 0..<Self.inputs {
            let key = i % 2 == 0 ? c : p
            let body = RequestBody(key: key, counter: Int64(i + 1),
                                   expiresUTCMilliseconds: now / 1_000_000 + 10_000, command: .object(commands[Int(rng.next() % UInt64(commands.count))]))
            var bytes = [UInt8](Signer.envelope(body, key: key))
            let original = bytes
            let kind = rng.next() % 6
            switch kind {
            case 0: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))                   // truncated
            case 1: bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8))      // bit flip
            case 2: bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: Int(rng.next() % UInt64(bytes.count)))  // not UTF-8
            case 3:  // a number in the envelope or body replaced by a hostile value
                var text = String(decoding: bytes, as: UTF8.self)
                if let r = text.range(of: #"[0-9]+"#, options: .regularExpression, range: text.index(text.startIndex, offsetBy: Int(rng.next() % UInt64(text.count)))..<text.endIndex) {
                    text.replaceSubrange(r, with: hostile[Int(rng.next() % UInt64(hostile.count))])
                }
                bytes = Array(text.utf8)
            case 4: bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }   // noise
            default:  // a re-signed body with a hostile command field (passes the signature: tests the decoder)
                var cmd = commands[Int(rng.next() % UInt64(commands.count))]
                let field = ["type", "dose_ug", "over", "low_reservoir_ml", "withdrawn_ml", "added_ml", "confirmed", "prescription", "drug", "extra"][Int(rng.next() % 10)]
                cmd[field] = [JSONValue.number(.nan), .number(-1), .number(1e300), .string(""), .null, .array([]), .object([:]), .bool(false),
                              .string(String(repeating: "x", count: 5000))][Int(rng.next() % 9)]
                var b = body
                b.command = .object(cmd)
                bytes = [UInt8](Signer.envelope(b, key: key))
            }
            let before = counters.snapshot
            switch gate.admit(Data(bytes), utcNanoseconds: now) {
            case .success:
                admitted += 1
                // Only an unmutated request, or a re-signed one whose field happened to stay valid.
                #expect(bytes == original || kind == 5, "a mutated request was admitted (\(kind)): \(String(decoding: original, as: UTF8.self)) → \(String(decoding: bytes, as: UTF8.self))")
            case .failure(let f):
                #expect(!f.error.path.isEmpty && !f.error.message.isEmpty)
                #expect(["frame", "envelope", "body", "prescription", "drug"].contains { f.error.path.hasPrefix($0) }, "\(f.error)")
                #expect(counters.snapshot == before, "a refused request moved the counter")
                refusedBy[String(f.error.path.prefix { $0 != "." }), default: 0] += 1
            }
        }
        print("gate fuzz: \(Self.inputs) inputs, \(admitted) admitted (valid by construction), refused by " +
              refusedBy.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
}
