/// The swarm's dosing plans: flex or continuous schedules across DST changes, refills with bridges.
import Foundation
import PumpCore
import PumpPlant

extension Swarm {
    /// The share of seeds that are dosing plans.
    static let dosingShare = 1.0 / 10

    /// Zones with DST changes the dosing plans cross: whole-hour shifts both ways of the year, and
    /// Lord Howe's 30-minute one. Each with its 2026 changes as local dates, and the local hours
    /// that are skipped (spring) or repeated (autumn) there.
    static let dstZones: [(zone: String, changes: [(dayBefore: String, firstMinute: Int, lastMinute: Int)])] = [
        ("Europe/Berlin", [("2026-03-28", 120, 180), ("2026-10-24", 120, 180)]),
        ("America/New_York", [("2026-03-07", 120, 180), ("2026-10-31", 60, 120)]),
        ("Australia/Lord_Howe", [("2026-10-03", 120, 150), ("2026-04-04", 90, 120)]),
    ]

    /// A dosing plan: no plant hazard (so a shortfall is a finding too), a multi-step flex schedule
    /// or a continuous rate, often across a DST change with steps inside the skipped or repeated
    /// hour, a refill with a concentration change (the bridge) with boluses, a suspension and
    /// power losses during the bridge, restarts in the repeated hour, and patient presses.
    static func dosingScenario(seed: UInt64, rng: inout Xoshiro256) -> ScenarioFile {
        func uniform(_ a: Double, _ b: Double) -> Double { rng.uniform(a, b) }
        func uniform(_ range: ClosedRange<Double>) -> Double { rng.uniform(range) }
        func pick<T>(_ xs: [T]) -> T { rng.pick(xs) }
        func chance(_ p: Double) -> Bool { rng.chance(p) }
        func hhmm(_ minute: Int) -> String { String(format: "%02d:%02d", minute / 60, minute % 60) }

        let morphine = chance(0.5)
        let drug = morphine ? "morphine" : "baclofen"
        let strengths: [Double] = morphine ? [1000, 2000, 5000, 10000] : [500, 1000, 2000]
        let maxDaily = morphine ? 15000.0 : 2000.0
        let c0 = pick(strengths)
        // Volume rates 0.5–6 mL/day at the first concentration (a bridge then takes hours, not days).
        func dose(_ mlPerDay: Double) -> Double { min(maxDaily * 0.6, (mlPerDay * c0).rounded()) }
        var prescription = ScenarioFile.Prescription(mode: "continuous")
        var doses: [Double] = []
        var stepMinutes: [Int] = []
        // Start: UTC midnight, or a few hours before a DST change in one of the zones.
        var start: ScenarioFile.Start? = nil
        var change: (dayBefore: String, firstMinute: Int, lastMinute: Int)?
        var changeOffsetSeconds = 0.0
        if chance(0.75) {
            let z = pick(dstZones)
            let c = pick(z.changes)
            change = c
            // Local start: 18:00–23:59 the evening before the change day.
            let startMinute = Int(uniform(18 * 60, 24 * 60))
            start = ScenarioFile.Start(at: "\(c.dayBefore)T\(hhmm(startMinute)):00", zone: z.zone)
            // Seconds from the start to the change's local minute (before it happens: offsets agree).
            changeOffsetSeconds = Double((24 * 60 - startMinute) + c.firstMinute) * 60
        }
        if chance(0.7) {
            // 2–5 steps; with a DST change, some inside its skipped or repeated hour.
            var minutes: Set<Int> = [0]
            for _ in 0..<Int(uniform(1, 5)) {
                if let c = change, chance(0.5) { minutes.insert(c.firstMinute + Int(uniform(0, Double(c.lastMinute - c.firstMinute)))) }
                else { minutes.insert(Int(uniform(1, 1440)) / 15 * 15) }
            }
            stepMinutes = minutes.sorted()
            doses = stepMinutes.map { _ in dose(uniform(0.5, 6)) }
            prescription.mode = "flex"
            prescription.steps = zip(stepMinutes, doses).map { ScenarioFile.Step(start: hhmm($0), daily_dose_ug: $1) }
        } else {
            doses = [dose(uniform(0.5, 6))]
            prescription.daily_dose_ug = doses[0]
        }
        // A new concentration that keeps every step within the pump's 0.048–24 mL/day.
        let c1Options = strengths.filter { c in c != c0 && doses.allSatisfy { $0 / c >= 0.05 && $0 / c <= 23.9 } }
        let c1 = c1Options.isEmpty ? c0 : pick(c1Options)
        // A patient bolus of at most 60 µL at the weaker strength, over the default 10 minutes.
        let bolusUg = min(morphine ? 3750 : 100, (min(c0, c1) * 0.06 * uniform(0.2, 1)).rounded(.down))
        if bolusUg >= 1 { prescription.patient_bolus = ScenarioFile.PatientBolus(dose_ug: bolusUg, lockout: "1h", max_per_day: 4) }

        // Long enough to see the DST change, the bridge (the dead space at the slowest step) and two
        // hours after it; at most 20 h (a long bridge is seen well into its course: CI's time).
        let deadSpaceUl = (uniform(100, 600)).rounded()
        let refillAt = change != nil && chance(0.5) ? max(600, changeOffsetSeconds + uniform(-3 * 3600, 3600)) : uniform(600, 10 * 3600)
        let bridgeSeconds = deadSpaceUl / 1000 / (doses.min()! / c0) * 86_400
        let duration = min(20 * 3600, max(6 * 3600, changeOffsetSeconds + 3 * 3600, refillAt + bridgeSeconds + 2 * 3600)).rounded()
        var events: [ScenarioEvent] = []
        func add(_ at: Double, _ kind: ScenarioEvent.Kind) {
            guard at >= 0, at < duration else { return }
            events.append(ScenarioEvent(at: .fromSeconds(at.rounded()), kind: kind))
        }
        // The refill: around the DST change when there is one, anywhere early otherwise.
        add(refillAt, .refill(withdrawn: nil, added: .millilitres(30), concentration: .fromMicrogramsPerMillilitre(c1),
                              deadSpace: .fromMicrolitres(deadSpaceUl), bridge: true))
        // During the bridge (dead space at 0.5–6 mL/day: 0.4–29 h): a bolus, a suspension, power losses.
        func inBridge() -> Double { uniform(60, 4 * 3600) }
        if chance(0.5) {
            let over = pick([600.0, 1800, 3600])
            let at = refillAt + inBridge()
            add(at, .clinicianBolus(dose: .fromMicrograms((min(c0, c1) * 0.1 * uniform(0.1, 1)).rounded(.down) + 1), over: .fromSeconds(over)))
        }
        if chance(0.3) {
            let t = refillAt + inBridge()
            add(t, .suspend)
            add(t + uniform(60, 3 * 3600), .resume)
        }
        for _ in 0..<(chance(0.5) ? Int(uniform(1, 3)) : 0) {
            let t = refillAt + inBridge()
            add(t, .powerLoss)
            if chance(0.3) { add(t + uniform(0.1, 30), .powerLoss) }
        }
        // A restart in the repeated (or skipped) hour.
        if change != nil, chance(0.5) { add(changeOffsetSeconds + uniform(0, 7200), .powerLoss) }
        // A long suspension, with restarts and acknowledgements in it (delivery_stopped must sound
        // and keep sounding across them).
        if chance(0.15) {
            let t = uniform(600, duration / 2)
            let resume = t + uniform(3600, 4 * 3600)
            add(t, .suspend)
            for _ in 0..<Int(uniform(1, 4)) { add(uniform(t, resume), pick([.acknowledge, .powerLoss])) }
            add(resume, .resume)
        }
        for _ in 0..<Int(uniform(0, 3)) { add(uniform(0, duration), .acknowledge) }
        for _ in 0..<Int(uniform(0, 6)) { add(uniform(0, duration), .patientBolus) }
        events.sort { $0.at.value < $1.at.value }

        // The plant's draws come last, in this order: stroke, baseline, noise.
        let plant = ScenarioFile.Plant(stroke_volume_nl: Double(Int(uniform(100, 1000))), baseline_pressure_mmhg: uniform(ValidPlant.restingMMHg),
                                       pressure_noise_mmhg: uniform(0, 1), dead_space_ul: deadSpaceUl)
        return ScenarioFile(name: "swarm seed \(seed) (dosing)", seed: seed % Scenario.Defaults.maximumSeed, duration: duration, start: start,
                            drug: .init(name: drug, concentration_ug_per_ml: c0), reservoir: .init(capacity_ml: 40, fill_ml: 40),
                            prescription: prescription, plant: plant, events: events)
    }
}

/// The scenario file's fixed-point inputs, as `Scenario.parse` reads a number (thousandths, rounded).
extension Nanograms {
    static func fromMicrograms(_ ug: Double) -> Nanograms { Nanograms(Int64((ug * 1000).rounded())) }
}
extension NanogramsPerMillilitre {
    static func fromMicrogramsPerMillilitre(_ c: Double) -> Self { Self(Int64((c * 1000).rounded())) }
}
extension Nanolitres {
    static func fromMicrolitres(_ ul: Double) -> Nanolitres { Nanolitres(Int64(ul.rounded()) * 1000) }
}
