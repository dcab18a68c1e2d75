import ArgumentParser
import PumpSimulation

/// `pumpctl campaign-plan crash|power-cuts --seed S --count N`: the campaign's random choices for a
/// seed, one life a line (`<life ms> <press ms or ->`), for Scripts/crash-test and Scripts/hil/power-cuts.sh.
struct CampaignPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign-plan",
        abstract: "Print a crash or power-cut campaign's kill and press times for a seed (one life a line: LIFE_MS PRESS_MS|-).")

    @Argument(help: "crash or power-cuts") var campaign: String
    @Option(help: "The campaign's seed.") var seed: UInt64 = 1
    @Option(help: "How many lives (kills or cuts).") var count: Int = 20

    func validate() throws {
        guard CampaignPlan.Campaign(rawValue: campaign) != nil else { throw ValidationError("campaign must be crash or power-cuts, got '\(campaign)'") }
        // A campaign of no lives would pass having tested nothing; a huge one would exhaust memory.
        guard (1...100_000).contains(count) else { throw ValidationError("--count must be from 1 to 100000, got \(count)") }
    }

    func run() {
        guard let c = CampaignPlan.Campaign(rawValue: campaign) else { return }
        print(CampaignPlan.text(c, seed: seed, count: count), terminator: "")
    }
}
