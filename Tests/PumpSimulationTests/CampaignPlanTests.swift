import Testing
import PumpSimulation

/// The crash and power-cut campaigns' random choices come from their seed (docs/testing.md "One
/// seed"): within the scripts' documented bounds, the same for the same seed, a press in about a
/// third of the lives.
@Suite("Campaign plans")
struct CampaignPlanTests {
    @Test func crashLivesAreWithinTheirBoundsAndPressInsideTheLife() {
        let lives = CampaignPlan.lives(.crash, seed: 7, count: 3000)
        #expect(lives.count == 3000)
        #expect(lives.allSatisfy { (300..<6000).contains($0.milliseconds) })
        #expect(lives.allSatisfy { life in life.pressAtMilliseconds.map { $0 >= 0 && $0 < life.milliseconds } ?? true })
        let presses = lives.filter { $0.pressAtMilliseconds != nil }.count
        #expect(presses > 900 && presses < 1100, "\(presses) presses in 3000 lives")    // 1000 ± 3 σ (σ ≈ 26)
        // Both ends of the range are reached (not a constant, not a narrow band).
        #expect(lives.map(\.milliseconds).min()! < 400 && lives.map(\.milliseconds).max()! > 5900)
    }

    @Test func powerCutsAreTwoToTwelveSecondsWithPressesInTenths() {
        let lives = CampaignPlan.lives(.powerCuts, seed: 7, count: 3000)
        #expect(lives.allSatisfy { (2000..<12_000).contains($0.milliseconds) })
        let presses = lives.compactMap(\.pressAtMilliseconds)
        #expect(presses.allSatisfy { $0 % 100 == 0 && (0...4900).contains($0) })
        #expect(Set(presses).count == 50)                                                  // 0.0, 0.1, … 4.9 s
        #expect(presses.count > 900 && presses.count < 1100)
    }

    @Test func aSeedGivesTheSamePlanAndOthersDiffer() {
        #expect(CampaignPlan.lives(.crash, seed: 3, count: 50) == CampaignPlan.lives(.crash, seed: 3, count: 50))
        #expect(CampaignPlan.lives(.crash, seed: 3, count: 50) != CampaignPlan.lives(.crash, seed: 4, count: 50))
        // A longer campaign starts as the shorter one did (its first kills do not move).
        #expect(Array(CampaignPlan.lives(.powerCuts, seed: 3, count: 50).prefix(10)) == CampaignPlan.lives(.powerCuts, seed: 3, count: 10))
        #expect(CampaignPlan.lives(.crash, seed: 3, count: 0).isEmpty)
    }

    /// The scripts read one line a life: `LIFE_MS PRESS_MS` or `LIFE_MS -`.
    @Test func theScriptsLineFormat() {
        let lives = CampaignPlan.lives(.crash, seed: 11, count: 40)
        let lines = CampaignPlan.text(.crash, seed: 11, count: 40).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 41 && lines.last == "")
        for (line, life) in zip(lines, lives) {
            let words = line.split(separator: " ")
            #expect(words.count == 2 && Int(words[0]) == life.milliseconds)
            #expect(words[1] == (life.pressAtMilliseconds.map { Substring(String($0)) } ?? "-"))
        }
    }
}
