/// The random choices of the crash and power-cut campaigns (Scripts/crash-test,
/// Scripts/hil/power-cuts.sh), drawn from the campaign's seed by the simulator's own generator, so
/// a campaign and seed make the same kills and presses on every machine (docs/testing.md "One seed").
import PumpPlant

public enum CampaignPlan {
    public enum Campaign: String, CaseIterable, Sendable {
        case crash, powerCuts = "power-cuts"

        /// Each campaign draws from a stream of its own, derived from the seed (as the swarm's plans).
        var stream: UInt64 {
            switch self {
            case .crash: 0xC4A5_11FE
            case .powerCuts: 0x90E4_C075
            }
        }
        /// How long a life lasts, in milliseconds: crash, pumpd's from its spawn to SIGKILL (intents
        /// run 5 s ahead, so short lives mostly catch up on uncertain strokes); power cuts, from
        /// pumpd up to the cut.
        public var lifeMilliseconds: Range<Int> {
            switch self {
            case .crash: 300..<6000
            case .powerCuts: 2000..<12_000
            }
        }
    }

    /// One life of pumpd: how long it lives, and when (if at all) the patient presses the bolus
    /// button in it, in milliseconds from the same start.
    public struct Life: Equatable, Sendable {
        public var milliseconds: Int
        public var pressAtMilliseconds: Int?
    }

    /// `count` lives of `campaign` for `seed`. A press in about a third of them: crash, at any moment
    /// of the life; power cuts, 0–4.9 s after pumpd is up, in tenths of a second (the guest's sleep).
    public static func lives(_ campaign: Campaign, seed: UInt64, count: Int) -> [Life] {
        var rng = Xoshiro256(seed: seed ^ campaign.stream)
        let range = campaign.lifeMilliseconds
        return (0..<max(0, count)).map { _ in
            let life = range.lowerBound + Int(rng.unit() * Double(range.count))
            guard rng.chance(1.0 / 3) else { return Life(milliseconds: life, pressAtMilliseconds: nil) }
            let press = switch campaign {
            case .crash: Int(rng.unit() * Double(life))
            case .powerCuts: 100 * Int(rng.unit() * 50)
            }
            return Life(milliseconds: life, pressAtMilliseconds: press)
        }
    }

    /// The plan as the scripts read it: one line per life, `<life ms> <press ms or ->`.
    public static func text(_ campaign: Campaign, seed: UInt64, count: Int) -> String {
        lives(campaign, seed: seed, count: count).map { "\($0.milliseconds) \($0.pressAtMilliseconds.map(String.init) ?? "-")\n" }.joined()
    }
}
