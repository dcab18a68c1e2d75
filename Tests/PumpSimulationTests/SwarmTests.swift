import Foundation
import Testing
import PumpSimulation

@Suite("Fault swarm")
struct SwarmTests {
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Regressions")

    /// Every failing seed ever found and fixed is kept as a scenario file and must hold the
    /// invariants: seed 18 and 100515, 100972 (a kink on a slow line detected too late, before
    /// stroke-free windows stopped resetting the evidence), 100023 (a false occlusion from a
    /// hold without that limit), 141 and 281 (a false occlusion after a power loss: the
    /// restarted model had no strokes to explain the line's retained pressure). Seeds still
    /// failing are kept in `Regressions/open/` (not run here; docs/occlusion-detection.md).
    @Test func regressionScenariosHoldTheInvariants() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(!files.isEmpty)
        for file in files {
            let data = try Data(contentsOf: Self.regressions.appendingPathComponent(file))
            let outcome = await Swarm.run(scenarioJSON: data, seed: 0)
            #expect(outcome.violations.isEmpty, "\(file): \(outcome.violations)")
        }
    }

    /// Kinks on lines whose stroke rise is a tenth of the noise were never alarmed (the learned
    /// rise 2.5× low, so the kink never matched its prediction). The growth backstop alarms them;
    /// they stay in `open/` because the alarm still comes later than the documented bound.
    @Test(arguments: ["swarm-seed-262.json", "swarm-seed-11305.json", "swarm-seed-13775.json"])
    func kinksOnBarelyObservableLinesAreAlarmed(_ file: String) async throws {
        let data = try Data(contentsOf: Self.regressions.appendingPathComponent("open").appendingPathComponent(file))
        let outcome = await Swarm.run(scenarioJSON: data, seed: 0)
        #expect(!outcome.violations.contains { $0.what.contains("never raised") }, "\(outcome.violations)")
        #expect(!outcome.violations.contains { $0.what.contains("without its hazard") }, "\(outcome.violations)")
    }

    /// The generator only makes valid scenarios (a generator bug would hide real findings).
    @Test func generatorMakesValidScenarios() throws {
        for seed in UInt64(1)...3000 {
            #expect(throws: Never.self, "seed \(seed)") { try Scenario.parse(Swarm.scenarioJSON(seed: seed)) }
        }
    }
}
