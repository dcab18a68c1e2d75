import Testing
import PumpFakes
import PumpPlant
@testable import Controller

@Suite("Line learner")
struct LineLearnerTests {
    /// Feeds an open first-order line (rise 1.25 mmHg, τ 10 s, strokes every 43.2 s) with noise.
    func learn(noise: Double, firstTwoEqual: Bool) -> LineEstimate? {
        var l = LineLearner(periodNanoseconds: 250_000_000)
        var rng = Xoshiro256(seed: 4)
        var excess = 0.0, nextStroke: Int64 = 43_200_000_000
        for i in 0..<(4 * 3600 * 2) {
            let t = Int64(i) * 250_000_000
            excess *= 0.975_309_912                             // exp(-0.25 / 10)
            if t >= nextStroke { l.stroke(at: t); excess += 1.25; nextStroke += 43_200_000_000 }
            l.tick(at: t)
            let y = (i < 2 && firstTwoEqual) ? 10 : ((10 + excess + noise * rng.normal()) * 100).rounded() / 100
            l.sample(y, learn: true)
        }
        return l.estimate
    }

    @Test func learnsTheLineItIsNeverTold() throws {
        let e = try #require(learn(noise: 0.3, firstTwoEqual: false))
        #expect(abs(e.tauSeconds - 10) < 0.5)
        #expect(abs(e.strokeRiseMMHg - 1.25) < 0.05)
        #expect(abs(e.baselineMMHg - 10) < 0.05)
        #expect(abs(e.noiseMMHg - 0.3) < 0.03)
    }

    /// Regression: two identical first readings used to lock the noise estimate at zero.
    @Test func identicalFirstReadingsDoNotLockTheNoiseAtZero() throws {
        let e = try #require(learn(noise: 0.3, firstTwoEqual: true))
        #expect(abs(e.noiseMMHg - 0.3) < 0.03)
    }
}
