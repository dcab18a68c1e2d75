/// The random coughs of a scenario's `coughs_per_day`, merged into its listed events.
import Foundation
import PumpCore
import PumpPlant

enum BackgroundCoughs {
    /// The scenario's events with its random coughs (plant key coughs_per_day) among them, in
    /// time order (listed events first at a tie).
    static func events(of scenario: Scenario, rng coughRNG: inout Xoshiro256) -> [ScenarioEvent] {
        var events = scenario.events
        if scenario.coughsPerDay > 0 {
            let mean = 86_400.0 / scenario.coughsPerDay
            var t = 0.0
            while true {
                t += -mean * Foundation.log(1 - coughRNG.unit())
                guard t < Double(scenario.duration.value) / 1e9 else { break }
                let mmHg = 10 + 50 * coughRNG.unit(), over = 0.3 + 1.7 * coughRNG.unit()
                events.append(ScenarioEvent(at: Nanoseconds(Int64(t * 1e9)), kind: .fault(.cough(mmHg: mmHg, over: Nanoseconds(Int64(over * 1e9)))), background: true))
            }
            events = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        }
        return events
    }
}
