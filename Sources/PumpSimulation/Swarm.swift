import Controller
import Foundation
import PumpCore
import PumpPlant
import DequeModule

/// The fault swarm: one seed derives a plant from the valid range, a prescription and one hazard;
/// the run is checked against the controller's invariants. A failure carries the scenario file
/// that reproduces it (`pumpctl simulate FILE`).
public enum Swarm {
    public struct Violation: Sendable, CustomStringConvertible {
        public var seed: UInt64
        public var what: String
        public var description: String { "seed \(seed): \(what)" }
    }

    public struct Outcome: Sendable {
        public var seed: UInt64
        public var violations: [Violation]
        /// The scenario, as a file's bytes, that replays this seed.
        public var scenarioJSON: Data
        public var hazard: String
        public var simulatedSeconds: Double
    }

    /// The scenario for `seed`, as JSON (the same bytes a failure writes out).
    ///
    /// A fault plan is a run of episodes, each after a quiet gap long enough for the detector to
    /// (re)arm: a full or partial kink later cleared by the clinician, a pressure-sensor fault
    /// later repaired, a burst of coughs, a battery at its replacement level, a suspension, a
    /// clinician bolus, a power loss (sometimes in the middle of a bolus); the last episode may be
    /// one that nothing clears (stall, slip, leak, battery end of service). Some seeds start with
    /// so little drug that the reservoir runs out. Patient presses fall anywhere.
    public static func scenarioJSON(seed: UInt64) -> Data {
        // One seed in `dosingShare` is a dosing plan instead (DST, flex, refills with bridges),
        // drawn from a stream of its own so the fault plans of the others stay as they were.
        var dosingStream = Xoshiro256(seed: seed ^ 0xD05E_D57A)
        if dosingStream.unit() < dosingShare { return dosingScenarioJSON(seed: seed, rng: &dosingStream) }
        var rng = Xoshiro256(seed: seed ^ 0x5EED_5A4D)
        func uniform(_ a: Double, _ b: Double) -> Double { rng.uniform(a, b) }
        func uniform(_ range: ClosedRange<Double>) -> Double { rng.uniform(range) }
        func pick<T>(_ xs: [T]) -> T { rng.pick(xs) }
        func chance(_ p: Double) -> Bool { rng.chance(p) }

        let compliance = uniform(ValidPlant.complianceNanolitresPerMMHg), tau = uniform(ValidPlant.tauSeconds)
        let stroke = Double(Int(uniform(Double(ValidPlant.strokeVolumeNanolitres.lowerBound), Double(ValidPlant.strokeVolumeNanolitres.upperBound))))
        let plant: [String: Any] = [
            "stroke_volume_nl": stroke, "compliance_nl_per_mmhg": compliance, "resistance_mmhg_s_per_nl": tau / compliance,
            "baseline_pressure_mmhg": uniform(ValidPlant.restingMMHg), "pressure_noise_mmhg": uniform(0, 1), "coughs_per_day": pick([0.0, 12, 48]),
        ]
        // Rates 0.048–24 mL/day, log-uniform; concentration chosen so the dose stays in baclofen's limits.
        let rate = 0.048 * Double.pow(500, rng.unit())
        let concentration = rate < 1 ? 2000.0 : 50.0
        let daily = min(2000, (rate * concentration * 1000).rounded() / 1000 + 0.001)
        // At most 80 µL a bolus, so a bolus over 10 minutes stays under the motor's 2 mL/h.
        let bolus = min(pick([5.0, 10, 20]), (concentration * 0.08 * 1000).rounded(.down) / 1000)
        var prescription: [String: Any] = ["patient_bolus": ["dose_ug": bolus, "lockout": "1h", "max_per_day": 4]]
        var lowestDaily = daily
        if chance(0.5) {
            prescription["mode"] = "continuous"
            prescription["daily_dose_ug"] = daily
        } else {
            let second = min(2000, 23.9 * concentration, max(0.05 * concentration, (daily * uniform(0.5, 1.5) * 1000).rounded() / 1000 + 0.001))
            lowestDaily = min(daily, second)
            prescription["mode"] = "flex"
            prescription["steps"] = [["start": "00:00", "daily_dose_ug": daily], ["start": "08:00", "daily_dose_ug": second]]
        }
        // The stroke interval at the lowest basal: what every wait below is measured in.
        let interval = stroke / (lowestDaily / concentration * 1e6) * 86_400
        // Learning takes 8 strokes and 10 minutes, and so does re-arming after a restart.
        func gap() -> Double { max(3600, 12 * interval) + uniform(0, 3600) }
        // How long a hazard stays before it is cleared: well past its detection bound.
        let hold = max(1800, 40 * interval)

        var events: [[String: Any]] = []
        func add(_ at: Double, _ type: String, _ fields: [String: Any] = [:]) {
            var e = fields
            e["at"] = at.rounded()
            e["type"] = type
            events.append(e)
        }
        var t = 0.0
        // One seed in twelve starts with a blocked catheter (kinked before the detector has
        // learned the line): the checks that work without it. Drawn from a stream of its own, so
        // the rest of every plan stays as it was.
        var startStream = Xoshiro256(seed: seed ^ 0x0B10_CCED)
        if startStream.unit() < 1.0 / 12 {
            add((startStream.unit() * 300).rounded(), "occlusion", ["fraction": 1])
            t = max(hold, Swarm.blockedAtStartBoundSeconds + 600)
            add(t, "clear_occlusion")
            t += 300 + startStream.unit() * 600
            add(t, "clinician_clear")
            t += 1 + startStream.unit() * 300
            add(t, "resume")
        }
        var batteryLow = false
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
                add(t, "occlusion", ["fraction": kind == "occlusion" ? 1 : uniform(0.5, 0.95)])
                t += hold
                add(t, "clear_occlusion")
                // The clinician clears once the retained pressure has drained (≥ 5 τ).
                t += uniform(300, 900)
                add(t, "clinician_clear")
                // A cleared halt leaves the pump suspended; the clinician resumes it.
                t += uniform(1, 300)
                add(t, "resume")
            case "sensor":
                add(t, "pressure_sensor_fault", ["mode": pick(["nack", "stuck", "noise"])])
                t += uniform(10, hold)
                add(t, "clear_sensor_fault")
                t += uniform(5, 120)
                add(t, "acknowledge")
            case "coughs":
                for _ in 0..<(1 + Int(uniform(0, 5))) {
                    add(t, "cough", ["mmhg": uniform(10, 80), "over": uniform(0.3, 3)])
                    t += uniform(5, 300)
                }
            case "battery_eri":
                batteryLow = true
                add(t, "battery", ["percent": uniform(6, 14.9)])
                t += uniform(300, 3600)
                add(t, "acknowledge")
            case "suspend":
                add(t, "suspend")
                t += uniform(60, 3600)
                add(t, "resume")
            case "clinician_bolus":
                let dose = (min(50, concentration * 0.2) * uniform(0.2, 1) * 1000).rounded() / 1000
                let over = uniform(600, 3600)
                add(t, "clinician_bolus", ["dose_ug": dose, "over": over.rounded()])
                // Half the time the power fails in the middle of it: no stroke may be repeated.
                if chance(0.5) { add(t + uniform(1, over), "power_loss") }
                t += over
            case "power_loss":
                add(t, "power_loss")
                if chance(0.3) { t += uniform(0.1, 30); add(t, "power_loss") }
            case "motor_stall": add(t, "motor_stall")
            case "encoder_slip": add(t, "encoder_slip", ["fraction": uniform(0.05, 0.9)])
            case "leak": add(t, "leak", ["fraction": uniform(0.1, 0.5)])
            default: add(t, "battery", ["percent": uniform(0, 5)])
            }
        }
        let duration = (t + max(1800, 40 * interval)).rounded()
        // A few patient presses anywhere exercise the limits.
        for _ in 0..<Int(uniform(0, 8)) { add(uniform(0, duration), "patient_bolus") }
        events.sort { ($0["at"] as? Double ?? 0) < ($1["at"] as? Double ?? 0) }

        // One seed in six starts with too little drug for the run: the reservoir runs out.
        var fill = 250.0
        if chance(1.0 / 6) {
            let basal = lowestDaily / concentration * duration / 86_400
            fill = max(0.001, (basal * uniform(0.3, 1.1) * 1000).rounded() / 1000)
        }
        let scenario: [String: Any] = [
            "name": "swarm seed \(seed)", "seed": Double(seed % 9_007_199_254_740_991), "duration": duration,
            "drug": ["name": "baclofen", "concentration_ug_per_ml": concentration],
            "reservoir": ["capacity_ml": 250, "fill_ml": fill], "prescription": prescription, "plant": plant, "events": events,
        ]
        // Plain dictionaries of numbers and strings always serialize.
        return (try? JSONSerialization.data(withJSONObject: scenario, options: [.sortedKeys, .prettyPrinted])) ?? Data()
    }

    /// Runs one seed and checks every invariant.
    public static func run(seed: UInt64) async -> Outcome {
        await run(scenarioJSON: scenarioJSON(seed: seed), seed: seed)
    }

    /// Runs a swarm scenario (generated, or a kept regression file) and checks every invariant.
    public static func run(scenarioJSON json: Data, seed: UInt64) async -> Outcome {
        var violations: [Violation] = []
        func fail(_ what: String) { violations.append(Violation(seed: seed, what: what)) }
        let scenario: Scenario
        do { scenario = try Scenario.parse(json) } catch {
            return Outcome(seed: seed, violations: [Violation(seed: seed, what: "generated an invalid scenario: \(error)")],
                           scenarioJSON: json, hazard: "-", simulatedSeconds: 0)
        }
        let stroke = scenario.plant.strokeVolume.value
        // The motor's 2 mL/h, basal and bolus together, judged on the plant's strokes over every
        // minute (one stroke of quantization and one at the window's edge allowed).
        let strokesPerMinute = Int64((Double(PumpLimits.maximumTotalRateNanolitresPerDay) / 1440 / Double(stroke)).rounded(.up)) + 1
        // One value the closure captures: each captured variable would cost a runtime
        // exclusivity check on every step (the closure escapes).
        var checks = StepChecks(stroke: stroke, strokesPerMinute: strokesPerMinute)
        let result = await Simulator.run(scenario, inspect: { checks.observe($0) })
        let previous = checks.previous, timeline = checks.timeline
        if let v = checks.firstViolation { fail(v) }
        let r = result.report
        let hazards = scenario.events.filter { !$0.kind.isCommand }
        let hazardNames = hazards.map(\.kind.name)

        // No double dose across power loss: what the plant really moved stays within the
        // programme plus one stroke.
        // (The report gives µL to the nanolitre: back to whole nanolitres exactly.)
        func nl(_ ul: Double) -> Nanolitres { Nanolitres(Int64((ul * 1000).rounded())) }
        let lost = previous?.programmeLostAtRestarts ?? Nanolitres(0)
        if !DeliveryBound.holds(delivered: nl(r.delivered_ul), programmed: nl(r.programmed_ul) + lost, strokeVolume: nl(r.stroke_volume_ul)) {
            fail("the plant delivered \(r.delivered_ul) µL > programmed \(r.programmed_ul) µL + 1 stroke")
        }

        // Every observable hazard alarmed within its bound. The faults the simulator tracked are
        // the scenario's hazards in order (an alarm-less hazard such as a cough is tracked too).
        let tracked = FaultTracker(strokeVolume: scenario.plant.strokeVolume, limits: SafetyLimits())
        let faultEvents = scenario.events.filter { if case .some = tracked.expectedAlarm(for: $0.kind) { true } else { false } }
        for (event, f) in zip(faultEvents, r.faults) {
            guard let expected = f.expected_alarm else { continue }
            if case .occlusion(let fraction) = event.kind, fraction < 1 { continue }   // may alarm; need not (docs)
            // Injected while the pump was stopped (a halt the clinician could not clear yet, a
            // suspension, an empty reservoir): nothing to observe, and a later alarm of the same
            // type belongs to a later hazard.
            let onset = event.at.value
            guard timeline.state(at: onset) == .delivering else { continue }
            let bound = latencyBound(hazard: event.kind, fault: f, report: r, scenario: scenario)
            if let latency = f.latency_s {
                // Within the bound in strokes or in time (either holds where the other is loose).
                if latency > bound.seconds && Double(f.strokes_since_fault) > bound.strokes {
                    fail("\(f.type) at \(f.at_s) s alarmed after \(latency) s and \(f.strokes_since_fault) strokes; bound \(bound.seconds) s / \(bound.strokes) strokes")
                }
                continue
            }
            // Its alarm was already sounding when it came (a battery still judged low by its lowest
            // reading, reading low again): nothing new to raise.
            if r.alarms.contains(where: { $0.type == expected && $0.at_s <= f.at_s && ($0.cleared_at_s.map { $0 >= f.at_s } ?? true) }) { continue }
            // Not alarmed: a violation only if the hazard stayed observable past its bound (not
            // cleared, no restart, delivering all along, the pump not out of drug).
            var until = scenario.duration.value
            for e in scenario.events where e.at.value >= onset && e.at.value < until {
                switch (event.kind, e.kind) {
                case (_, .powerLoss), (.occlusion, .clearOcclusion), (.pressureSensorFault, .clearSensorFault): until = e.at.value
                default: break
                }
            }
            until = min(until, timeline.firstTime(after: onset, notIn: .delivering) ?? until)
            let seconds = Double(until - onset) / 1e9
            let strokes = Double(timeline.strokes(at: until) - timeline.strokes(at: onset))
            if seconds > bound.seconds && strokes > bound.strokes {
                fail("\(f.type) at \(f.at_s) s never raised \(expected) in \(seconds) s and \(Int(strokes)) strokes; bound \(bound.seconds) s / \(bound.strokes) strokes")
            }
        }

        // The reservoir: never more commanded than it held; empty is alarmed.
        // What the reservoir held: the first fill and every accepted refill's volume.
        let fill = scenario.plant.reservoirFill.microlitres + r.refills.reduce(0) { $0 + $1.added_ul }
        let confirmed = r.commanded_ul - Double(previous?.uncertainStrokes ?? 0) * r.stroke_volume_ul
        if confirmed > fill + 1e-9 { fail("commanded \(confirmed) µL (confirmed) from a reservoir filled with \(fill) µL") }
        // The plant's truth: the reservoir held less than a stroke at some moment.
        let emptied = result.plant.lowestReservoir.value < scenario.plant.strokeVolume.value
        if emptied, !r.alarms.contains(where: { $0.type == AlarmType.reservoirEmpty.rawValue }) {
            fail("the reservoir ran out (\(r.commanded_ul) of \(fill) µL commanded) without reservoir_empty")
        }

        // No high alarm without its hazard.
        var allowedHigh = Set(r.faults.compactMap(\.expected_alarm))
        // A slip under the tolerance need not alarm, but it is a real loss of motion: it may.
        if hazards.contains(where: { if case .encoderSlip = $0.kind { true } else { false } }) { allowedHigh.insert(AlarmType.motionMismatch.rawValue) }
        // The ledger may run out first: a restart counts its uncertain strokes as delivered.
        if emptied || r.commanded_ul > fill - r.stroke_volume_ul + 1e-9 { allowedHigh.insert(AlarmType.reservoirEmpty.rawValue) }
        // A stop of an hour or more must sound delivery_stopped within the hour (and a second),
        // restarts inside it included (the journal keeps when it began), and keep it sounding: at
        // most 15 minutes (and a second) silent after an acknowledgement while the stop lasts.
        let longestStop = SafetyLimits().longestStopWithoutAlarm.value
        let reannounce = SafetyLimits().reannounceHigh.seconds + 1
        for stop in timeline.stops(until: scenario.duration.value) where stop.to - stop.from >= longestStop {
            allowedHigh.insert(AlarmType.deliveryStopped.rawValue)
            let due = stop.from + longestStop + 1_000_000_000
            guard stop.to > due else { continue }
            let stopped = r.alarms.first {
                $0.type == AlarmType.deliveryStopped.rawValue && $0.at_s * 1e9 <= Double(due) && ($0.cleared_at_s.map { $0 * 1e9 >= Double(due) } ?? true)
            }
            guard let a = stopped else {
                fail("delivery stopped at \(Double(stop.from) / 1e9) s for \(Double(stop.to - stop.from) / 1e9) s without delivery_stopped")
                continue
            }
            let acks = r.commands.filter { $0.type == "acknowledge" }.map(\.at_s)
            for ack in acks where ack > a.at_s && (ack + reannounce) * 1e9 < Double(stop.to) {
                guard !acks.contains(where: { $0 > ack && $0 <= ack + reannounce }) else { continue }   // acknowledged again meanwhile
                if !sounding(a, at: ack + reannounce, report: r) {
                    fail("delivery_stopped silent more than \(reannounce) s after the acknowledgement at \(ack) s while delivery stayed stopped")
                }
            }
        }
        for a in r.alarms where a.priority == "high" && !allowedHigh.contains(a.type) {
            fail("high alarm \(a.type) at \(a.at_s) s without its hazard (injected: \(hazardNames.joined(separator: ", ")))")
        }
        // No sensor-fault alarm on a working sensor: it blinds the occlusion detector and holds
        // boluses back (medium, but a false one is a hazard of its own).
        if !hazards.contains(where: { if case .pressureSensorFault = $0.kind { true } else { false } }),
           let a = r.alarms.first(where: { $0.type == AlarmType.pressureSensorFault.rawValue }) {
            fail("pressure_sensor_fault at \(a.at_s) s on a working sensor")
        }
        // No patient bolus outside its limits (the prescription's lockout and daily count).
        if let rule = scenario.prescription.patientBolus {
            let accepted = r.boluses.filter { $0.kind == "patient" && $0.accepted }.map(\.requested_at_s)
            for (i, t) in accepted.enumerated() {
                if i > 0, t - accepted[i - 1] < rule.lockout.seconds { fail("patient bolus at \(t) s inside the lockout") }
                if accepted.filter({ $0 > t - 86_400 && $0 <= t }).count > rule.maxPerDay {
                    fail("more than \(rule.maxPerDay) patient boluses in 24 h at \(t) s")
                }
            }
        }
        violations += dosingViolations(result, scenario: scenario, emptied: emptied, lastStep: previous).map { Violation(seed: seed, what: $0) }

        // A full kink that was alarmed gets no more strokes until it is released (a restart must
        // not forget it: review finding 3).
        for (i, e) in scenario.events.enumerated() {
            guard case .occlusion(let fraction) = e.kind, fraction >= 1 else { continue }
            let release = scenario.events[(i + 1)...].first { $0.kind == .clearOcclusion }?.at.value ?? scenario.duration.value
            guard let alarm = r.alarms.first(where: { $0.type == AlarmType.occlusion.rawValue && $0.at_s >= e.at.seconds && $0.at_s * 1e9 < Double(release) }) else { continue }
            let from = Int64(alarm.at_s * 1e9)
            let pushed = timeline.plantStrokes(at: release) - timeline.plantStrokes(at: from)
            if pushed > 1 { fail("\(pushed) strokes into the kinked line after its occlusion alarm at \(alarm.at_s) s, before its release at \(Double(release) / 1e9) s") }
        }
        // Every refill beyond tolerance leaves refill_discrepancy sounding, also while an earlier one is acknowledged.
        for f in r.refills where f.beyond_tolerance {
            if !r.alarms.contains(where: { $0.type == AlarmType.refillDiscrepancy.rawValue && sounding($0, at: f.at_s, report: r) }) {
                fail("the refill at \(f.at_s) s was beyond tolerance (\(f.discrepancy_ul) µL) and refill_discrepancy did not sound")
            }
        }
        let name = hazards.isEmpty ? "-" : hazardNames.joined(separator: "+")
        return Outcome(seed: seed, violations: violations, scenarioJSON: json, hazard: name, simulatedSeconds: r.duration_s)
    }

    /// The invariants judged at every step (the first violation is kept), and what the checks
    /// after the run need from the steps.
    struct StepChecks {
        let stroke: Int64
        let strokesPerMinute: Int64
        private(set) var previous: SimulationStep?
        private(set) var firstViolation: String?
        private(set) var timeline = Timeline()
        private var minute: Deque<(at: Int64, strokes: Int64)> = []

        init(stroke: Int64, strokesPerMinute: Int64) {
            self.stroke = stroke
            self.strokesPerMinute = strokesPerMinute
        }

        mutating func observe(_ step: SimulationStep) {
            defer { previous = step }
            timeline.observe(step)
            guard firstViolation == nil else { return }
            minute.append((step.at.value, step.plantStrokes))
            while let first = minute.first, first.at < step.at.value - 60_000_000_000 { minute.removeFirst() }
            if let first = minute.first, step.plantStrokes - first.strokes > strokesPerMinute {
                firstViolation = "at \(step.at.seconds) s the plant made \(step.plantStrokes - first.strokes) strokes in a minute: faster than the motor's 2 mL/h (\(strokesPerMinute) strokes)"
            }
            // Commanded never exceeds programmed + one stroke, across power losses too. A restart
            // counts strokes intended but never confirmed as delivered (never repeated: the
            // patient may get less, not more), so the check is on the confirmed ones, and on what
            // the plant really moved.
            let confirmed = step.commandedStrokes - step.uncertainStrokes
            if !DeliveryBound.holds(delivered: Nanolitres(confirmed * stroke), programmed: step.programmed, strokeVolume: Nanolitres(stroke)) {
                firstViolation = "at \(step.at.seconds) s commanded \(confirmed) confirmed strokes > programmed \(step.programmed.value) nL + 1 stroke"
            }
            if !DeliveryBound.holds(delivered: Nanolitres(step.plantStrokes * stroke), programmed: step.programmed + step.programmeLostAtRestarts,
                                    strokeVolume: Nanolitres(stroke)) {
                firstViolation = "at \(step.at.seconds) s the plant made \(step.plantStrokes) strokes > programmed \(step.programmed.value) nL (+ \(step.programmeLostAtRestarts.value) nL accrued before restarts) + 1 stroke"
            }
            // No stroke while halted or suspended.
            if let p = previous, p.state != .delivering, step.state != .delivering,
               step.commandedStrokes - step.uncertainStrokes > p.commandedStrokes - p.uncertainStrokes || step.plantStrokes > p.plantStrokes {
                firstViolation = "at \(step.at.seconds) s a stroke while \(step.state.rawValue)"
            }
        }
    }

    /// What the checker needs of a run's history: the state and the commanded strokes over time,
    /// kept as change points.
    struct Timeline {
        private var states: [(at: Int64, state: TherapyState)] = []
        private var strokeMarks: [(at: Int64, strokes: Int64)] = []
        private var plantMarks: [(at: Int64, strokes: Int64)] = []

        mutating func observe(_ step: SimulationStep) {
            if states.last?.state != step.state { states.append((step.at.value, step.state)) }
            if strokeMarks.last?.strokes != step.commandedStrokes { strokeMarks.append((step.at.value, step.commandedStrokes)) }
            if plantMarks.last?.strokes != step.plantStrokes { plantMarks.append((step.at.value, step.plantStrokes)) }
        }

        func plantStrokes(at t: Int64) -> Int64 { plantMarks.last { $0.at <= t }?.strokes ?? 0 }

        /// The stretches in which the therapy was not delivering, up to `end`.
        func stops(until end: Int64) -> [(from: Int64, to: Int64)] {
            var result: [(from: Int64, to: Int64)] = []
            for (i, s) in states.enumerated() where s.state != .delivering {
                if i > 0, states[i - 1].state != .delivering { continue }   // halted → suspended: one stop
                let to = states[(i + 1)...].first { $0.state == .delivering }?.at ?? end
                result.append((s.at, to))
            }
            return result
        }

        /// The state the last step at or before `t` left (delivering before the first step).
        func state(at t: Int64) -> TherapyState { states.last { $0.at <= t }?.state ?? .delivering }

        /// The first step after `t` in another state than `state`.
        func firstTime(after t: Int64, notIn state: TherapyState) -> Int64? { states.first { $0.at > t && $0.state != state }?.at }

        func strokes(at t: Int64) -> Int64 { strokeMarks.last { $0.at <= t }?.strokes ?? 0 }
    }

    /// The documented detection bound of each hazard (docs/safety.md "Limits", docs/occlusion-detection.md),
    /// in seconds and in strokes; a detection within either passes (-1: that form does not apply).
    static func latencyBound(hazard: ScenarioEvent.Kind, fault: Report.Fault, report r: Report, scenario s: Scenario)
        -> (seconds: Double, strokes: Double) {
        let p = s.plant
        switch hazard {
        case .occlusion where !(fault.detector?.detector_armed ?? true):
            // Kinked before the detector armed (docs/occlusion-detection.md "Before the line is
            // learned"): within the no-plausible-line time, or before the pressure reaches the
            // ceiling (plus its readings and a stroke).
            let rise = Double(p.strokeVolume.value) / p.complianceNanolitresPerMMHg
            let l = SafetyLimits()
            return (blockedAtStartBoundSeconds, ((l.occlusionCeilingMMHg - p.baselineMMHg) / rise).rounded(.up) + 1)
        case .occlusion:
            // docs/occlusion-detection.md "Latency bound", with the detector as it was set at the
            // onset. Evidence counts only in windows with a stroke (a window without one holds
            // it), so the windows take max(D, T) each. In strokes at the highest basal rate (a
            // bolus adds strokes, not time); in time at the lowest basal rate (a bolus only
            // shortens it). Either passes. Where the learned rise is further off than the kink
            // test tolerates, only the growth backstop can alarm, and it needs its own count of
            // windows.
            let d = fault.detector.flatMap { $0.detector_armed ? $0 : nil } ?? r.learned
            let rise = Double(p.strokeVolume.value) / p.complianceNanolitresPerMMHg
            let window = d.detector_window_s ?? OcclusionDetector.longestWindowSeconds
            var windows = Double(d.detector_required_windows ?? OcclusionDetector.minimumRequiredWindows)
            if let learned = d.stroke_rise_mmhg, abs(learned / rise - 1) > OcclusionDetector.kinkTolerance, let growth = d.detector_growth_windows {
                windows = Double(growth)
            }
            let noise = (p.pressureNoiseMMHg * p.pressureNoiseMMHg + p.sensorFloorMMHg * p.sensorFloorMMHg).squareRoot()
            let rx = s.prescription
            let fast = Double(p.strokeVolume.value) / (rx.nanolitresPerDay(rx.basal.maximumDailyDose) / 86_400)
            let slow = Double(p.strokeVolume.value) / (rx.nanolitresPerDay(rx.basal.minimumDailyDose) / 86_400)
            // Settle: the retained excess must reach the alarm's threshold (4 σ_L), and a window
            // must pass the Q test: under a kink Q ≈ g + (1 − a) E (g the kink's rise per window
            // at the lowest basal, E the excess so far), so E grows until g + (1 − a) E clears
            // k σ_Q + the model allowance by 3 σ_Q. Where a window holds less than that (clamped
            // windows on faint, slow lines) the excess must build up first.
            let sigmaL = noise / (window * 2).squareRoot()
            let a = Double.exp(-window / max(d.detector_tau_test_s ?? p.timeConstantSeconds * OcclusionDetector.tauTestMargin, 1e-3))
            let sigmaQ = sigmaL * (1 + a * a).squareRoot()
            let g = rise * window / slow
            let excess = max(OcclusionDetector.excessSigmas * sigmaL,
                             ((OcclusionDetector.windowSigmas + 3) * sigmaQ + OcclusionDetector.modelAllowance * rise - g) / max(1 - a, 1e-3))
            let settle = (excess / rise).rounded(.up) + 1
            // One chain of windows may fail by chance (a window misses the kink test's tolerance,
            // about 3.8 σ, with probability near 10⁻⁴): the windows of a failed chain and of the
            // one that alarms, 2W + 1. Two failures in one episode: below 10⁻⁶.
            let allowed = 2 * windows + 1
            let strokes = settle + max((allowed * window / fast).rounded(.up), allowed) + (2 * p.timeConstantSeconds / fast).rounded(.up)
            let seconds = settle * slow + allowed * max(window, slow) + 2 * p.timeConstantSeconds
            return (seconds, strokes)
        case .motorStall, .encoderSlip:
            // Motion tolerance over the window, and never less than one stroke's counts: a lost
            // fraction f shows after tolerance / f strokes, plus the one being judged.
            let l = SafetyLimits()
            let tolerance = max(l.motionTolerance * Double(l.motionWindowStrokes), l.motionToleranceStrokes)
            let f: Double = if case .encoderSlip(let x) = hazard { x } else { 1 }
            return (-1, (tolerance / f).rounded(.up) + 1)
        case .pressureSensorFault: return (3, -1)          // the issue's requirement
        case .battery:
            let l = SafetyLimits()
            return ((l.batteryPeriod + l.watchdogPeriod).seconds, -1)
        default: return (.infinity, .infinity)
        }
    }
}

extension Swarm {
    /// A kink before the detector armed is alarmed within this long of learning (the
    /// no-plausible-line time and the longest span) — or as the pressure reaches the ceiling.
    public static let blockedAtStartBoundSeconds = OcclusionDetector.noPlausibleLineSeconds + OcclusionDetector.longestSpanSeconds + 15
}

extension ScenarioEvent.Kind {
    /// A clinician or patient command rather than something that happens to the pump.
    var isCommand: Bool {
        switch self {
        case .patientBolus, .clinicianBolus, .acknowledge, .clinicianClear, .suspend, .resume, .refill: true
        default: false
        }
    }
}

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
    static func dosingScenarioJSON(seed: UInt64, rng: inout Xoshiro256) -> Data {
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
        var prescription: [String: Any] = [:]
        var doses: [Double] = []
        var stepMinutes: [Int] = []
        // Start: UTC midnight, or a few hours before a DST change in one of the zones.
        var start: [String: Any]? = nil
        var change: (dayBefore: String, firstMinute: Int, lastMinute: Int)?
        var changeOffsetSeconds = 0.0
        if chance(0.75) {
            let z = pick(dstZones)
            let c = pick(z.changes)
            change = c
            // Local start: 18:00–23:59 the evening before the change day.
            let startMinute = Int(uniform(18 * 60, 24 * 60))
            start = ["at": "\(c.dayBefore)T\(hhmm(startMinute)):00", "zone": z.zone]
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
            prescription["mode"] = "flex"
            prescription["steps"] = zip(stepMinutes, doses).map { ["start": hhmm($0), "daily_dose_ug": $1] as [String: Any] }
        } else {
            doses = [dose(uniform(0.5, 6))]
            prescription["mode"] = "continuous"
            prescription["daily_dose_ug"] = doses[0]
        }
        // A new concentration that keeps every step within the pump's 0.048–24 mL/day.
        let c1Options = strengths.filter { c in c != c0 && doses.allSatisfy { $0 / c >= 0.05 && $0 / c <= 23.9 } }
        let c1 = c1Options.isEmpty ? c0 : pick(c1Options)
        // A patient bolus of at most 60 µL at the weaker strength, over the default 10 minutes.
        let bolusUg = min(morphine ? 3750 : 100, (min(c0, c1) * 0.06 * uniform(0.2, 1)).rounded(.down))
        if bolusUg >= 1 { prescription["patient_bolus"] = ["dose_ug": bolusUg, "lockout": "1h", "max_per_day": 4] }

        // Long enough to see the DST change, the bridge (the dead space at the slowest step) and two
        // hours after it; at most 20 h (a long bridge is seen well into its course: CI's time).
        let deadSpaceUl = (uniform(100, 600)).rounded()
        let refillAt = change != nil && chance(0.5) ? max(600, changeOffsetSeconds + uniform(-3 * 3600, 3600)) : uniform(600, 10 * 3600)
        let bridgeSeconds = deadSpaceUl / 1000 / (doses.min()! / c0) * 86_400
        let duration = min(20 * 3600, max(6 * 3600, changeOffsetSeconds + 3 * 3600, refillAt + bridgeSeconds + 2 * 3600)).rounded()
        var events: [[String: Any]] = []
        func add(_ at: Double, _ type: String, _ fields: [String: Any] = [:]) {
            guard at >= 0, at < duration else { return }
            var e = fields
            e["at"] = at.rounded()
            e["type"] = type
            events.append(e)
        }
        // The refill: around the DST change when there is one, anywhere early otherwise.
        add(refillAt, "refill", ["added_ml": 30, "concentration_ug_per_ml": c1, "dead_space_ml": deadSpaceUl / 1000])
        // During the bridge (dead space at 0.5–6 mL/day: 0.4–29 h): a bolus, a suspension, power losses.
        func inBridge() -> Double { uniform(60, 4 * 3600) }
        if chance(0.5) {
            let over = pick([600.0, 1800, 3600])
            add(refillAt + inBridge(), "clinician_bolus", ["dose_ug": (min(c0, c1) * 0.1 * uniform(0.1, 1)).rounded(.down) + 1, "over": over])
        }
        if chance(0.3) {
            let t = refillAt + inBridge()
            add(t, "suspend")
            add(t + uniform(60, 3 * 3600), "resume")
        }
        for _ in 0..<(chance(0.5) ? Int(uniform(1, 3)) : 0) {
            let t = refillAt + inBridge()
            add(t, "power_loss")
            if chance(0.3) { add(t + uniform(0.1, 30), "power_loss") }
        }
        // A restart in the repeated (or skipped) hour.
        if change != nil, chance(0.5) { add(changeOffsetSeconds + uniform(0, 7200), "power_loss") }
        // A long suspension, with restarts and acknowledgements in it (delivery_stopped must sound
        // and keep sounding across them).
        if chance(0.15) {
            let t = uniform(600, duration / 2)
            let resume = t + uniform(3600, 4 * 3600)
            add(t, "suspend")
            for _ in 0..<Int(uniform(1, 4)) { add(uniform(t, resume), pick(["acknowledge", "power_loss"])) }
            add(resume, "resume")
        }
        for _ in 0..<Int(uniform(0, 3)) { add(uniform(0, duration), "acknowledge") }
        for _ in 0..<Int(uniform(0, 6)) { add(uniform(0, duration), "patient_bolus") }
        events.sort { ($0["at"] as? Double ?? 0) < ($1["at"] as? Double ?? 0) }

        var scenario: [String: Any] = [
            "name": "swarm seed \(seed) (dosing)", "seed": Double(seed % 9_007_199_254_740_991), "duration": duration,
            "drug": ["name": drug, "concentration_ug_per_ml": c0],
            "reservoir": ["capacity_ml": 40, "fill_ml": 40], "prescription": prescription,
            "plant": ["stroke_volume_nl": Double(Int(uniform(100, 1000))), "dead_space_ul": deadSpaceUl,
                      "baseline_pressure_mmhg": uniform(ValidPlant.restingMMHg), "pressure_noise_mmhg": uniform(0, 1)],
            "events": events,
        ]
        if let start { scenario["start"] = start }
        return (try? JSONSerialization.data(withJSONObject: scenario, options: [.sortedKeys, .prettyPrinted])) ?? Data()
    }
}

extension Swarm {
    /// The plant's drug against the independent reference (`DosingRecord`): never more than asked
    /// (from the start, in any hour, in any day, and within the daily cap), and, where nothing
    /// physical took drug away (stall, slip, leak, an emptied reservoir), never less.
    ///
    /// Tolerances, in strokes of the strongest drug the run held: the scheduler may lead or trail
    /// by one stroke, and the minute grid adds one; a window has two ends. A restart may lose (short
    /// only) its strokes counted as delivered but never confirmed, the programme after its last
    /// checkpoint, and what accrued since the dose loop's last wake (up to its longest sleep, 5 s,
    /// while the programme catches up with uncertain strokes: seed 5400), with a stroke of
    /// fraction. Plus a millionth of the amount for floating-point sums.
    static func dosingViolations(_ result: SimulationResult, scenario: Scenario, emptied: Bool, lastStep: SimulationStep?) -> [String] {
        var found: [String] = []
        let d = result.dosing
        var strongest = scenario.prescription.drug.concentration
        for e in scenario.events { if case .refill(_, _, let c?, _, _) = e.kind { strongest = max(strongest, c) } }
        let strokeUg = Double(scenario.plant.strokeVolume.value) * Double(strongest.value) / 1e9
        let total = d.reference.micrograms(fromUTCSeconds: d.startUTCSeconds, toUTCSeconds: d.endUTCSeconds)
        let over = 2 * strokeUg + 1e-6 * total
        let restarts = scenario.events.filter { $0.kind == .powerLoss }.map { d.startUTCSeconds + $0.at.seconds }
        let sleep = SafetyLimits().doseLoopMaximumSleep.seconds
        let sinceWake = restarts.reduce(0.0) { $0 + d.reference.micrograms(fromUTCSeconds: $1 - sleep, toUTCSeconds: $1) }
        let lostUg = Double(((lastStep?.uncertainStrokes ?? 0) + Int64(restarts.count)) * scenario.plant.strokeVolume.value
                            + (lastStep?.programmeLostAtRestarts.value ?? 0)) * Double(strongest.value) / 1e9 + sinceWake
        let under = over + lostUg
        let judgeShortfall = !emptied && !scenario.events.contains {
            switch $0.kind { case .motorStall, .encoderSlip, .leak: true; default: false }
        }
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        for (window, name) in [(nil, "from the start"), (3600.0, "in an hour"), (86_400.0, "in a day")] as [(Double?, String)] {
            let allowance = window == nil ? 0 : strokeUg
            let x = d.extremes(windowSeconds: window)
            if x.excess > over + allowance {
                found.append("the plant delivered \(f(x.excess)) µg more than prescribed \(name) (to \(x.excessAtSeconds) s; tolerance \(f(over + allowance)) µg)")
            }
            if judgeShortfall, -x.shortfall > under + allowance {
                found.append("the plant delivered \(f(-x.shortfall)) µg less than prescribed \(name) (to \(x.shortfallAtSeconds) s; tolerance \(f(under + allowance)) µg)")
            }
        }
        let cap = Double(scenario.prescription.dailyCap.value) / 1000
        let most = d.mostCommitted(inWindowOfSeconds: 86_400)
        if most > cap + over { found.append("the plant delivered \(f(most)) µg in 24 h, above the daily cap of \(f(cap)) µg") }
        return found
    }
}

extension Swarm {
    /// The alarm is active at `t` and sounding: raised or re-announced at or before `t`, after the
    /// last acknowledgement up to `t` (the report's `commands` list every acknowledgement).
    static func sounding(_ a: Report.Alarm, at t: Double, report r: Report) -> Bool {
        guard a.at_s <= t, a.cleared_at_s.map({ $0 >= t }) ?? true else { return false }
        let lastSounded = ([a.at_s] + a.reannounced_at_s).filter { $0 <= t }.max() ?? a.at_s
        let lastAck = r.commands.filter { $0.type == "acknowledge" && $0.at_s <= t && $0.at_s >= a.at_s }.map(\.at_s).max()
        return lastAck.map { lastSounded >= $0 } ?? true
    }
}
