/// Judges a finished swarm run against the controller's invariants: the delivery bound, alarm
/// latencies, the reservoir, high alarms and delivery_stopped, bolus limits, kinks, refills.
import Controller
import Foundation
import PumpCore

extension Swarm {
    /// The checks after a run, each a step of its own; `found` keeps the violations in the order
    /// the checks run.
    struct RunJudge {
        let scenario: Scenario
        let result: SimulationResult
        let r: Report
        let timeline: Timeline
        let previous: SimulationStep?
        /// What happened to the pump (the scenario's events that are not commands).
        let hazards: [ScenarioEvent]
        var found: [String] = []

        init(scenario: Scenario, result: SimulationResult, timeline: Timeline, lastStep: SimulationStep?) {
            self.scenario = scenario
            self.result = result
            self.r = result.report
            self.timeline = timeline
            self.previous = lastStep
            self.hazards = scenario.events.filter { !$0.kind.isCommand }
        }

        mutating func fail(_ what: String) { found.append(what) }

        /// Every check, in order.
        mutating func judgeAll() {
            judgeDeliveryBound()
            judgeAlarmLatencies()
            let (fill, emptied) = judgeReservoir()
            judgeHighAlarms(fill: fill, emptied: emptied)
            judgePatientBoluses()
            found += dosingViolations(result, scenario: scenario, emptied: emptied, lastStep: previous)
            judgeKinks()
            judgeRefills()
        }

        /// No double dose across power loss: what the plant really moved stays within the
        /// programme plus one stroke.
        mutating func judgeDeliveryBound() {
            // (The report gives µL to the nanolitre: back to whole nanolitres exactly.)
            func nl(_ ul: Double) -> Nanolitres { Nanolitres(Int64((ul * 1000).rounded())) }
            let lost = previous?.programmeLostAtRestarts ?? Nanolitres(0)
            if !DeliveryBound.holds(delivered: nl(r.delivered_ul), programmed: nl(r.programmed_ul) + lost, strokeVolume: nl(r.stroke_volume_ul)) {
                fail("the plant delivered \(r.delivered_ul) µL > programmed \(r.programmed_ul) µL + 1 stroke")
            }
        }

        /// Every observable hazard alarmed within its bound. The faults the simulator tracked are
        /// the scenario's hazards in order (an alarm-less hazard such as a cough is tracked too).
        mutating func judgeAlarmLatencies() {
            let tracked = FaultTracker(strokeVolume: scenario.plant.strokeVolume, limits: SafetyLimits())
            let faultEvents = scenario.events.filter { if case .some = tracked.expectedAlarm(for: $0.kind) { true } else { false } }
            for (event, f) in zip(faultEvents, r.faults) {
                guard let expected = f.expected_alarm else { continue }
                if case .fault(.occlusion(let fraction)) = event.kind, fraction < 1 { continue }   // may alarm; need not (docs)
                // Injected while the pump was stopped (a halt the clinician could not clear yet, a
                // suspension, an empty reservoir): nothing to observe, and a later alarm of the same
                // type belongs to a later hazard.
                let onset = event.at.value
                guard timeline.state(at: onset) == .delivering else { continue }
                let bound = latencyBound(hazard: event.kind, fault: f, report: r, scenario: scenario)
                // An occlusion is seen through the pressure sensor: while the sensor is out its
                // clock stops (it runs again from the repair, the line's pressure then whatever
                // the strokes built meanwhile).
                let blinded = event.kind.isOcclusion
                if let latency = f.latency_s {
                    let (seconds, strokes) = blinded ? observed(from: onset, to: onset + Int64(latency * 1e9))
                                                     : (latency, Double(f.strokes_since_fault))
                    // Within the bound in strokes or in time (either holds where the other is loose).
                    if seconds > bound.seconds && strokes > bound.strokes {
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
                    case (_, .powerLoss), (.fault(.occlusion), .fault(.clearOcclusion)), (.fault(.pressureSensorFault), .fault(.clearSensorFault)): until = e.at.value
                    default: break
                    }
                }
                until = min(until, timeline.firstTime(after: onset, notIn: .delivering) ?? until)
                let (seconds, strokes) = blinded ? observed(from: onset, to: until)
                                                 : (Double(until - onset) / 1e9, Double(timeline.strokes(at: until) - timeline.strokes(at: onset)))
                if seconds > bound.seconds && strokes > bound.strokes {
                    fail("\(f.type) at \(f.at_s) s never raised \(expected) in \(seconds) s and \(Int(strokes)) strokes; bound \(bound.seconds) s / \(bound.strokes) strokes")
                }
            }
        }

        /// Seconds and commanded strokes from `from` to `to` while the pressure sensor worked
        /// (outside every stretch from a `pressure_sensor_fault` to its `clear_sensor_fault`).
        func observed(from: Int64, to: Int64) -> (seconds: Double, strokes: Double) {
            var seconds = Double(to - from) / 1e9, strokes = Double(timeline.strokes(at: to) - timeline.strokes(at: from))
            func cut(_ a: Int64, _ b: Int64) {
                let (lo, hi) = (max(a, from), min(b, to))
                guard lo < hi else { return }
                seconds -= Double(hi - lo) / 1e9
                strokes -= Double(timeline.strokes(at: hi) - timeline.strokes(at: lo))
            }
            var outSince: Int64?
            for e in scenario.events {
                switch e.kind {
                case .fault(.pressureSensorFault): outSince = outSince ?? e.at.value
                case .fault(.clearSensorFault):
                    if let a = outSince { cut(a, e.at.value) }
                    outSince = nil
                default: break
                }
            }
            if let a = outSince { cut(a, scenario.duration.value) }
            return (seconds, strokes)
        }

        /// The reservoir: never more commanded than it held; empty is alarmed. Returns what it
        /// held and whether the plant really ran out.
        mutating func judgeReservoir() -> (fill: Double, emptied: Bool) {
            // What the reservoir held: the first fill and every accepted refill's volume.
            let fill = scenario.plant.reservoirFill.microlitres + r.refills.reduce(0) { $0 + $1.added_ul }
            let confirmed = r.commanded_ul - Double(previous?.uncertainStrokes ?? 0) * r.stroke_volume_ul
            if confirmed > fill + 1e-9 { fail("commanded \(confirmed) µL (confirmed) from a reservoir filled with \(fill) µL") }
            // The plant's truth: the reservoir held less than a stroke at some moment.
            let emptied = result.plant.lowestReservoir.value < scenario.plant.strokeVolume.value
            if emptied, !r.alarms.contains(where: { $0.type == AlarmType.reservoirEmpty.rawValue }) {
                fail("the reservoir ran out (\(r.commanded_ul) of \(fill) µL commanded) without reservoir_empty")
            }
            return (fill, emptied)
        }

        /// No high alarm without its hazard; a long stop sounds delivery_stopped and keeps it
        /// sounding; no sensor-fault alarm on a working sensor.
        mutating func judgeHighAlarms(fill: Double, emptied: Bool) {
            let hazardNames = hazards.map(\.kind.name)
            // No high alarm without its hazard.
            var allowedHigh = Set(r.faults.compactMap(\.expected_alarm))
            // A slip under the tolerance need not alarm, but it is a real loss of motion: it may.
            if hazards.contains(where: { if case .fault(.encoderSlip) = $0.kind { true } else { false } }) { allowedHigh.insert(AlarmType.motionMismatch.rawValue) }
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
                // This stop's alarm: the last raised by its due time (an earlier stop's, ended
                // without a clinician clear, still has no cleared_at_s: seed 4656).
                let stopped = r.alarms.last {
                    $0.type == AlarmType.deliveryStopped.rawValue && $0.at_s * 1e9 <= Double(due) && ($0.cleared_at_s.map { $0 * 1e9 >= Double(due) } ?? true)
                }
                guard let a = stopped else {
                    fail("delivery stopped at \(Double(stop.from) / 1e9) s for \(Double(stop.to - stop.from) / 1e9) s without delivery_stopped")
                    continue
                }
                let acks = r.commands.filter { $0.type == "acknowledge" }.map(\.at_s)
                // An acknowledgement before the stop began cannot silence this stop's alarm.
                for ack in acks where ack > a.at_s && ack * 1e9 >= Double(stop.from) && (ack + reannounce) * 1e9 < Double(stop.to) {
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
            if !hazards.contains(where: { if case .fault(.pressureSensorFault) = $0.kind { true } else { false } }),
               let a = r.alarms.first(where: { $0.type == AlarmType.pressureSensorFault.rawValue }) {
                fail("pressure_sensor_fault at \(a.at_s) s on a working sensor")
            }
        }

        /// No patient bolus outside its limits (the prescription's lockout and daily count).
        mutating func judgePatientBoluses() {
            if let rule = scenario.prescription.patientBolus {
                let accepted = r.boluses.filter { $0.kind == "patient" && $0.accepted }.map(\.requested_at_s)
                for (i, t) in accepted.enumerated() {
                    if i > 0, t - accepted[i - 1] < rule.lockout.seconds { fail("patient bolus at \(t) s inside the lockout") }
                    if accepted.filter({ $0 > t - 86_400 && $0 <= t }).count > rule.maxPerDay {
                        fail("more than \(rule.maxPerDay) patient boluses in 24 h at \(t) s")
                    }
                }
            }
        }

        /// A full kink that was alarmed gets no more strokes until it is released (a restart must
        /// not forget it: review finding 3).
        mutating func judgeKinks() {
            for (i, e) in scenario.events.enumerated() {
                guard case .fault(.occlusion(let fraction)) = e.kind, fraction >= 1 else { continue }
                let release = scenario.events[(i + 1)...].first { $0.kind == .fault(.clearOcclusion) }?.at.value ?? scenario.duration.value
                guard let alarm = r.alarms.first(where: { $0.type == AlarmType.occlusion.rawValue && $0.at_s >= e.at.seconds && $0.at_s * 1e9 < Double(release) }) else { continue }
                let from = Int64(alarm.at_s * 1e9)
                let pushed = timeline.plantStrokes(at: release) - timeline.plantStrokes(at: from)
                if pushed > 1 { fail("\(pushed) strokes into the kinked line after its occlusion alarm at \(alarm.at_s) s, before its release at \(Double(release) / 1e9) s") }
            }
        }

        /// Every refill beyond tolerance leaves refill_discrepancy sounding, also while an earlier one is acknowledged.
        mutating func judgeRefills() {
            for f in r.refills where f.beyond_tolerance {
                if !r.alarms.contains(where: { $0.type == AlarmType.refillDiscrepancy.rawValue && sounding($0, at: f.at_s, report: r) }) {
                    fail("the refill at \(f.at_s) s was beyond tolerance (\(f.discrepancy_ul) µL) and refill_discrepancy did not sound")
                }
            }
        }
    }

    /// The alarm is active at `t` and sounding: raised or re-announced at or before `t`, after the
    /// last acknowledgement up to `t` (the report's `commands` list every acknowledgement).
    static func sounding(_ a: Report.Alarm, at t: Double, report r: Report) -> Bool {
        guard a.at_s <= t, a.cleared_at_s.map({ $0 >= t }) ?? true else { return false }
        let lastSounded = ([a.at_s] + a.reannounced_at_s).filter { $0 <= t }.max() ?? a.at_s
        let lastAck = r.commands.filter { $0.type == "acknowledge" && $0.at_s <= t && $0.at_s >= a.at_s }.map(\.at_s).max()
        return lastAck.map { lastSounded >= $0 } ?? true
    }
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
