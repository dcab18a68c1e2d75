/// The swarm's fault plans: a seed's plant, prescription and run of hazard episodes, as a scenario file.
import Foundation
import PumpCore
import PumpPlant

extension Swarm {
    /// The scenario for `seed`, as JSON (the same bytes a failure writes out).
    public static func scenarioJSON(seed: UInt64) -> Data { scenarioFile(seed: seed).json() }

    /// The scenario for `seed`, typed: its hazards are `Fault`s, its other events commands.
    ///
    /// A fault plan is a run of episodes, each after a quiet gap long enough for the detector to
    /// (re)arm: a full or partial kink later cleared by the clinician, a pressure-sensor fault
    /// later repaired, a burst of coughs, a battery at its replacement level, a suspension, a
    /// clinician bolus, a power loss (sometimes in the middle of a bolus); the last episode may be
    /// one that nothing clears (stall, slip, leak, battery end of service). Some seeds start with
    /// so little drug that the reservoir runs out. Patient presses fall anywhere.
    public static func scenarioFile(seed: UInt64) -> ScenarioFile {
        // One seed in `dosingShare` is a dosing plan instead (DST, flex, refills with bridges),
        // drawn from a stream of its own so the fault plans of the others stay as they were.
        var dosingStream = Xoshiro256(seed: seed ^ 0xD05E_D57A)
        if dosingStream.unit() < dosingShare { return dosingScenario(seed: seed, rng: &dosingStream) }
        var rng = Xoshiro256(seed: seed ^ 0x5EED_5A4D)
        func uniform(_ a: Double, _ b: Double) -> Double { rng.uniform(a, b) }
        func uniform(_ range: ClosedRange<Double>) -> Double { rng.uniform(range) }
        func pick<T>(_ xs: [T]) -> T { rng.pick(xs) }
        func chance(_ p: Double) -> Bool { rng.chance(p) }

        let compliance = uniform(ValidPlant.complianceNanolitresPerMMHg), tau = uniform(ValidPlant.tauSeconds)
        let stroke = Double(Int(uniform(Double(ValidPlant.strokeVolumeNanolitres.lowerBound), Double(ValidPlant.strokeVolumeNanolitres.upperBound))))
        var plant = ScenarioFile.Plant(
            stroke_volume_nl: stroke, compliance_nl_per_mmhg: compliance, resistance_mmhg_s_per_nl: tau / compliance,
            baseline_pressure_mmhg: uniform(ValidPlant.restingMMHg), pressure_noise_mmhg: uniform(0, 1), coughs_per_day: pick([0.0, 12, 48]))
        // Rates 0.048–24 mL/day, log-uniform; concentration chosen so the dose stays in baclofen's limits.
        let rate = 0.048 * Double.pow(500, rng.unit())
        let concentration = rate < 1 ? 2000.0 : 50.0
        let daily = min(2000, (rate * concentration * 1000).rounded() / 1000 + 0.001)
        // At most 80 µL a bolus, so a bolus over 10 minutes stays under the motor's 2 mL/h.
        let bolus = min(pick([5.0, 10, 20]), (concentration * 0.08 * 1000).rounded(.down) / 1000)
        var prescription = ScenarioFile.Prescription(mode: "continuous", patient_bolus: ScenarioFile.PatientBolus(dose_ug: bolus, lockout: "1h", max_per_day: 4))
        var lowestDaily = daily
        if chance(0.5) {
            prescription.daily_dose_ug = daily
        } else {
            let second = min(2000, 23.9 * concentration, max(0.05 * concentration, (daily * uniform(0.5, 1.5) * 1000).rounded() / 1000 + 0.001))
            lowestDaily = min(daily, second)
            prescription.mode = "flex"
            prescription.steps = [ScenarioFile.Step(start: "00:00", daily_dose_ug: daily), ScenarioFile.Step(start: "08:00", daily_dose_ug: second)]
        }
        // The stroke interval at the lowest basal: what every wait below is measured in.
        let interval = stroke / (lowestDaily / concentration * 1e6) * 86_400
        // Learning takes 8 strokes and 10 minutes, and so does re-arming after a restart.
        func gap() -> Double { max(3600, 12 * interval) + uniform(0, 3600) }
        // How long a hazard stays before it is cleared: well past its detection bound.
        let hold = max(1800, 40 * interval)

        var events: [ScenarioEvent] = []
        func add(_ at: Double, _ kind: ScenarioEvent.Kind) { events.append(ScenarioEvent(at: .fromSeconds(at.rounded()), kind: kind)) }
        var t = 0.0
        // One seed in twelve starts with a blocked catheter (kinked before the detector has
        // learned the line): the checks that work without it. Drawn from a stream of its own, so
        // the rest of every plan stays as it was.
        var startStream = Xoshiro256(seed: seed ^ 0x0B10_CCED)
        if startStream.unit() < 1.0 / 12 {
            add((startStream.unit() * 300).rounded(), .fault(.occlusion(fraction: 1)))
            t = max(hold, Swarm.blockedAtStartBoundSeconds + 600)
            add(t, .fault(.clearOcclusion))
            t += 300 + startStream.unit() * 600
            add(t, .clinicianClear)
            t += 1 + startStream.unit() * 300
            add(t, .resume)
        }
        var batteryLow = false, ended = false   // ended: the last episode is one nothing clears
        let episodes = 1 + Int(uniform(0, 3))
        for i in 0..<episodes {
            t += gap()
            let last = i == episodes - 1
            var kinds = ["occlusion", "occlusion", "occlusion", "partial_occlusion", "sensor", "sensor", "coughs", "suspend",
                         "clinician_bolus", "power_loss", "power_loss"]
            if !batteryLow { kinds.append("battery_eri") }
            if last { kinds += ["motor_stall", "encoder_slip", "leak", "battery_eos"] }
            switch pick(kinds) {
            case let kind where kind.hasSuffix("occlusion"):
                add(t, .fault(.occlusion(fraction: kind == "occlusion" ? 1 : uniform(0.5, 0.95))))
                t += hold
                add(t, .fault(.clearOcclusion))
                // The clinician clears once the retained pressure has drained (≥ 5 τ).
                t += uniform(300, 900)
                add(t, .clinicianClear)
                // A cleared halt leaves the pump suspended; the clinician resumes it.
                t += uniform(1, 300)
                add(t, .resume)
            case "sensor":
                add(t, .fault(.pressureSensorFault(pick([.nack, .stuck, .noise]))))
                t += uniform(10, hold)
                add(t, .fault(.clearSensorFault))
                t += uniform(5, 120)
                add(t, .acknowledge)
            case "coughs":
                for _ in 0..<(1 + Int(uniform(0, 5))) {
                    let mmHg = uniform(10, 80)
                    add(t, .fault(.cough(mmHg: mmHg, over: .fromSeconds(uniform(0.3, 3)))))
                    t += uniform(5, 300)
                }
            case "battery_eri":
                batteryLow = true
                add(t, .fault(.battery(percent: uniform(6, 14.9))))
                t += uniform(300, 3600)
                add(t, .acknowledge)
            case "suspend":
                add(t, .suspend)
                t += uniform(60, 3600)
                add(t, .resume)
            case "clinician_bolus":
                let dose = (min(50, concentration * 0.2) * uniform(0.2, 1) * 1000).rounded() / 1000
                let over = uniform(600, 3600)
                add(t, .clinicianBolus(dose: .fromMicrograms(dose), over: .fromSeconds(over.rounded())))
                // Half the time the power fails in the middle of it: no stroke may be repeated.
                if chance(0.5) { add(t + uniform(1, over), .powerLoss) }
                t += over
            case "power_loss":
                add(t, .powerLoss)
                if chance(0.3) { t += uniform(0.1, 30); add(t, .powerLoss) }
            case "motor_stall": add(t, .fault(.motorStall)); ended = true
            case "encoder_slip": add(t, .fault(.encoderSlip(fraction: uniform(0.05, 0.9)))); ended = true
            case "leak": add(t, .fault(.leak(fraction: uniform(0.1, 0.5)))); ended = true
            default: add(t, .fault(.battery(percent: uniform(0, 5)))); ended = true
            }
        }
        // Outside attack, 2026-12-05: a sensor that tops out near the ceiling, and a line that
        // blocks while the sensor is out (seen only once it is back, its pressure perhaps above
        // what the sensor can show). Each from a stream of its own, so the rest of every plan
        // stays as it was.
        var sensorStream = Xoshiro256(seed: seed ^ 0x5E45_07E2)
        if sensorStream.unit() < 1.0 / 3 {
            plant.sensor_max_mmhg = (sensorStream.uniform(SafetyLimits().pressureSensorMustShowMMHg.upperBound, 1100) * 10).rounded(.up) / 10
        }
        var blindStream = Xoshiro256(seed: seed ^ 0xB11D_0CC1)
        if blindStream.unit() < 1.0 / 10, !ended {
            t += max(3600, 12 * interval) + blindStream.uniform(0, 3600)
            add(t, .fault(.pressureSensorFault(blindStream.pick([.nack, .stuck, .noise]))))
            t += blindStream.uniform(10, 600)
            add(t, .fault(.occlusion(fraction: 1)))
            // Out for up to 4 h: at the fastest rates enough strokes to pass any sensor's top.
            t += blindStream.uniform(60, min(3 * hold, 4 * 3600))
            add(t, .fault(.clearSensorFault))
            t += blindStream.uniform(5, 120)
            add(t, .acknowledge)
            t += hold
            add(t, .fault(.clearOcclusion))
            t += blindStream.uniform(300, 900)
            add(t, .clinicianClear)
            t += blindStream.uniform(1, 300)
            add(t, .resume)
        }
        let duration = (t + max(1800, 40 * interval)).rounded()
        // A few patient presses anywhere exercise the limits.
        for _ in 0..<Int(uniform(0, 8)) { add(uniform(0, duration), .patientBolus) }
        events.sort { $0.at.value < $1.at.value }

        // One seed in six starts with too little drug for the run: the reservoir runs out.
        var fill = 250.0
        if chance(1.0 / 6) {
            let basal = lowestDaily / concentration * duration / 86_400
            fill = max(0.001, (basal * uniform(0.3, 1.1) * 1000).rounded() / 1000)
        }
        return ScenarioFile(name: "swarm seed \(seed)", seed: seed % Scenario.Defaults.maximumSeed, duration: duration,
                            drug: .init(name: "baclofen", concentration_ug_per_ml: concentration),
                            reservoir: .init(capacity_ml: 250, fill_ml: fill), prescription: prescription, plant: plant, events: events)
    }
}
