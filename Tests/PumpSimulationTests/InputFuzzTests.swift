import Foundation
import PumpConfig
import PumpCore
import PumpFakes
import PumpPlant
import PumpSimulation
import Testing

/// Malformed scenario, prescription and board files (mutations of the shipped ones): no crash,
/// and every rejection names at least one field.
@Suite("Input file fuzzing")
struct InputFuzzTests {
    /// Per kind of file: 15 000 in the optimized build Scripts/test runs (3 000 in a debug build);
    /// PUMP_FUZZ_FILES=N for more.
    static let perKind = FuzzBudget.inputs(optimized: 15_000, debug: 3_000, override: ProcessInfo.processInfo.environment["PUMP_FUZZ_FILES"])

    /// One mutation of a valid JSON text, by a seeded generator.
    static func mutate(_ text: String, _ rng: inout SplitMix64) -> Data {
        var bytes = Array(text.utf8)
        let hostile = ["NaN", "1e999", "-1", "0", "-0.0001", "1e-10", "9007199254740993", "\"\"", "null", "[]", "{}", "true", "\"x\"", "1.23456789"]
        switch rng.next() % 7 {
        case 0: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
        case 1: bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8))
        case 2: bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: Int(rng.next() % UInt64(bytes.count)))
        case 3, 4:  // a value swapped for a hostile one
            var s = String(decoding: bytes, as: UTF8.self)
            let pattern = rng.next() % 2 == 0 ? #"-?[0-9][0-9.]*"# : #""[^"]*""#
            let start = s.index(s.startIndex, offsetBy: Int(rng.next() % UInt64(s.count)))
            if let r = s.range(of: pattern, options: .regularExpression, range: start..<s.endIndex) {
                s.replaceSubrange(r, with: hostile[Int(rng.next() % UInt64(hostile.count))])
            }
            bytes = Array(s.utf8)
        case 5:  // an unknown field
            if let i = bytes.firstIndex(of: UInt8(ascii: "{")) { bytes.insert(contentsOf: Array(#""zz_unknown": 1, "#.utf8), at: i + 1) }
        default: // a key's first character changed (a misspelt field)
            let quotes = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\"") }
            if !quotes.isEmpty {
                let q = quotes[Int(rng.next() % UInt64(quotes.count))]
                if q + 1 < bytes.count { bytes[q + 1] = UInt8(ascii: "q") }
            }
        }
        return Data(bytes)
    }

    /// Every field path of a valid file, written as the readers write them (`a.b[0].c`).
    static func fieldPaths(of text: String) -> Set<String> {
        var paths: Set<String> = []
        func walk(_ v: JSONValue, _ path: String) {
            switch v {
            case .object(let o):
                for (k, child) in o {
                    let p = path.isEmpty ? k : "\(path).\(k)"
                    paths.insert(p)
                    walk(child, p)
                }
            case .array(let a):
                for (i, child) in a.enumerated() { walk(child, "\(path)[\(i)]") }
            default: break
            }
        }
        if let root = try? JSONValue.parse(Data(text.utf8)) { walk(root, "") }
        return paths
    }

    func fuzz(_ name: String, seed: UInt64, sources: [String], parse: (Data) throws -> Void) {
        var rng = SplitMix64(seed: seed)
        var rejected = 0, accepted = 0
        let known = sources.map(Self.fieldPaths)
        for i in 0..<Self.perKind {
            let data = Self.mutate(sources[i % sources.count], &rng)
            do {
                try parse(data)
                accepted += 1
            } catch let e as ValidationErrors {
                rejected += 1
                #expect(!e.problems.isEmpty && e.problems.allSatisfy { !$0.path.isEmpty && !$0.message.isEmpty }, "\(e)")
                // A mutation moves no field: one the valid file has where it has it is never
                // reported unknown beside the real problem (outside attack: a bad calibration
                // value made its sibling "unknown", a bad model made the whole section so).
                let falselyUnknown = e.problems.filter { $0.message == "unknown field" && known[i % sources.count].contains($0.path) }
                #expect(falselyUnknown.isEmpty, "\(name): a known field reported unknown: \(falselyUnknown) among \(e.problems)")
            } catch {
                Issue.record("\(name): not a field error: \(error)")
            }
        }
        print("\(name) fuzz: \(Self.perKind) inputs, \(rejected) rejected with a field, \(accepted) still valid")
    }

    @Test func scenarioFiles() throws {
        let sources = [BuiltInScenarios.demo] + (try FileManager.default.contentsOfDirectory(atPath: Daemon.path("Tests/PumpSimulationTests/Regressions"))
            .filter { $0.hasSuffix(".json") }.map { try String(contentsOfFile: Daemon.path("Tests/PumpSimulationTests/Regressions/\($0)"), encoding: .utf8) })
        fuzz("scenario", seed: 21, sources: sources) { _ = try Scenario.parse($0) }
    }

    @Test func prescriptionFiles() throws {
        let text = try String(contentsOfFile: Daemon.path("docs/examples/baclofen-prescription.json"), encoding: .utf8)
        let flex = """
            {"drug": {"name": "morphine", "concentration_ug_per_ml": 10000}, "prescription": {"mode": "flex", "daily_cap_ug": 9000,
             "steps": [{"start": "00:00", "daily_dose_ug": 1000}, {"start": "07:30", "daily_dose_ug": 2000}],
             "patient_bolus": {"dose_ug": 100, "lockout": "2h", "max_per_day": 3, "over": "15m"}}, "reservoir": {"capacity_ml": 40, "fill_ml": 30, "low_alarm_ml": 4}}
            """
        fuzz("prescription", seed: 22, sources: [text, flex]) { _ = try Therapy.parse($0) }
    }

    @Test func boardFiles() throws {
        let dir = Daemon.path("Boards")
        let sources = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { try String(contentsOfFile: "\(dir)/\($0)", encoding: .utf8) }
        fuzz("board", seed: 23, sources: sources) { _ = try Board.parse($0) }
    }
}
