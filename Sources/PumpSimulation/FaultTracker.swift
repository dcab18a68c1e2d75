import Controller
import PumpCore
import PumpPlant

/// Matches each injected fault with the alarm that should catch it, to report detection latency
/// and the volume commanded in between.
struct FaultTracker {
    struct Entry {
        var type: String
        var at: MonotonicInstant
        var expected: AlarmType?
        var strokesAtFault: Int64
        var detectedAt: MonotonicInstant?
        var strokesAtDetection: Int64?
        var detector: Report.Learned?
    }
    let strokeVolume: Nanolitres
    let limits: SafetyLimits
    private(set) var list: [Entry] = []

    init(strokeVolume: Nanolitres, limits: SafetyLimits) {
        self.strokeVolume = strokeVolume
        self.limits = limits
    }

    /// The alarm a fault should raise (nil: none is expected, e.g. a cough or a leak).
    func expectedAlarm(for kind: ScenarioEvent.Kind) -> AlarmType?? {
        switch kind {
        case .fault(.occlusion): .some(.occlusion)
        case .fault(.motorStall): .some(.motionMismatch)
        case .fault(.encoderSlip(let f)): .some(f >= limits.motionTolerance ? .motionMismatch : nil)
        case .fault(.leak): .some(nil)
        case .fault(.pressureSensorFault): .some(.pressureSensorFault)
        case .fault(.battery(let p)):
            .some(p <= limits.batteryEndOfService.percent ? .batteryEndOfService
                  : p <= limits.batteryElectiveReplacement.percent ? .batteryElectiveReplacement : nil)
        case .fault(.cough): .some(nil)
        case .doseLoopHang: .some(.doseLoopStalled)
        default: .none   // not a fault: a command or a clearing event (or one scenario files cannot name)
        }
    }

    /// `detector`: the occlusion detector's state at the onset (the simulator passes it for occlusions).
    mutating func injected(_ e: ScenarioEvent, at now: MonotonicInstant, strokes: Int64, detector: Report.Learned? = nil) {
        guard case .some(let expected) = expectedAlarm(for: e.kind) else { return }
        list.append(Entry(type: e.kind.name, at: now, expected: expected, strokesAtFault: strokes, detector: detector))
    }

    mutating func alarmRaised(_ a: AlarmRecord, strokes: Int64) {
        for i in list.indices where list[i].detectedAt == nil && list[i].expected == a.type && a.raisedAt >= list[i].at {
            list[i].detectedAt = a.raisedAt
            list[i].strokesAtDetection = strokes
        }
    }

    func entries(endStrokes: Int64) -> [Report.Fault] {
        list.map { e in
            let strokes = (e.strokesAtDetection ?? endStrokes) - e.strokesAtFault
            return Report.Fault(
                type: e.type, at_s: e.at.seconds, detected_at_s: e.detectedAt?.seconds,
                latency_s: e.detectedAt.map { ($0 - e.at).seconds }, alarm: e.detectedAt == nil ? nil : e.expected?.rawValue,
                expected_alarm: e.expected?.rawValue,
                volume_since_fault_ul: (strokeVolume * strokes).microlitres, strokes_since_fault: strokes, detector: e.detector)
        }
    }
}

enum ReportBuilder {
    /// One controller's life between power losses: its final state, and how many of its alarm
    /// and bolus records it restored from the journal (already reported by the life before).
    struct Life {
        var core: ControllerCore
        var restoredAlarms = 0
        var restoredBoluses = 0
    }

    static func build(scenario: Scenario, seed: UInt64, core: ControllerCore, earlier: [Life] = [], restoredAlarms: Int = 0,
                      restoredBoluses: Int = 0, plant: Plant.Totals, dosing: DosingRecord,
                      faults: [Report.Fault], commands: [Report.Command], refills: [Report.Refill] = [],
                      baseline: FixedThresholdDetector) -> Report {
        let lives = earlier + [Life(core: core, restoredAlarms: restoredAlarms, restoredBoluses: restoredBoluses)]
        let alarms = mergedAlarms(lives)
        let boluses = lives.flatMap { $0.core.boluses.history.dropFirst($0.restoredBoluses) }
        let programmed = core.scheduler.programmedVolume
        // Each life's concentration segments from where its programme started; a later life
        // takes over from its first segment on.
        var segments: [(from: Nanolitres, concentration: NanogramsPerMillilitre)] = []
        for life in lives {
            let own = life.core.scheduler.concentrationSegments
            if let start = own.first?.from { segments.removeAll { $0.from >= start } }
            segments += own
        }
        return Report(
            scenario: scenario.name, seed: seed, duration_s: scenario.duration.seconds,
            stroke_volume_ul: scenario.plant.strokeVolume.microlitres,
            programmed_ul: programmed.microlitres, commanded_ul: core.scheduler.commandedVolume.microlitres,
            delivered_ul: plant.delivered.microlitres,
            // What the prescription asked for, by the independent reference (docs/scenarios.md).
            programmed_ug: (dosing.reference.micrograms(fromUTCSeconds: dosing.startUTCSeconds, toUTCSeconds: dosing.endUTCSeconds) * 1000).rounded() / 1000,
            // What physically reached the patient, as the plant counts it (docs/scenarios.md).
            delivered_ug: (plant.deliveredMicrograms * 1_000_000).rounded() / 1_000_000,
            final_state: core.state.rawValue,
            // The controller's own figure: its programme at the concentrations it believed in force.
            controller_programmed_ug: DoseScheduler.dose(inProgrammed: programmed, segments: segments).micrograms,
            committed_ug: (plant.committedMicrograms * 1_000_000).rounded() / 1_000_000,
            alarms: alarms.map {
                Report.Alarm(type: $0.type.rawValue, priority: $0.policy.priority.rawValue, at_s: $0.raisedAt.seconds,
                             acknowledged_at_s: $0.acknowledgedAt?.seconds, cleared_at_s: $0.clearedAt?.seconds,
                             reannounced_at_s: $0.reannouncedAt.map(\.seconds))
            },
            halts: lives.flatMap(\.core.halts).map { Report.Halt(reason: $0.reason.rawValue, at_s: $0.at.seconds) },
            faults: faults,
            boluses: boluses.map {
                Report.Bolus(kind: $0.kind.rawValue, requested_at_s: $0.requestedAt.seconds, accepted: $0.accepted,
                             dose_ug: $0.dose.micrograms, reason: $0.refusal?.code)
            },
            commands: commands,
            refills: refills,
            baseline: Report.Baseline(fixed_threshold_mmhg: FixedThresholdDetector.thresholdMMHg, alarm_at_s: baseline.alarmAt?.seconds,
                                      alarm_count: baseline.alarms, strokes_since_fault: baseline.strokesSinceOcclusion),
            learned: learned(core))
    }

    /// Every alarm once: an alarm a restart restored continues the entry of the life before (its
    /// later acknowledgements, re-announcements and end are that alarm's), not a new one.
    static func mergedAlarms(_ lives: [Life]) -> [AlarmRecord] {
        var alarms: [AlarmRecord] = []
        for life in lives {
            for (k, rec) in life.core.alarms.records.enumerated() {
                guard k < life.restoredAlarms, let i = alarms.lastIndex(where: { $0.type == rec.type && $0.clearedAt == nil }) else {
                    alarms.append(rec)
                    continue
                }
                alarms[i].reannouncedAt += rec.reannouncedAt
                alarms[i].clearedAt = rec.clearedAt
                // A restored alarm that was acknowledged is marked so at the restart (`raisedAt`):
                // the earlier acknowledgement stands; a later one, or none, replaces it.
                if rec.acknowledgedAt != rec.raisedAt || alarms[i].acknowledgedAt == nil { alarms[i].acknowledgedAt = rec.acknowledgedAt }
            }
        }
        return alarms
    }

    static func learned(_ core: ControllerCore) -> Report.Learned {
        func r3(_ x: Double?) -> Double? { x.map { ($0 * 1000).rounded() / 1000 } }
        let e = core.occlusion.parameters?.line ?? core.occlusion.estimate
        let p = core.occlusion.parameters
        return Report.Learned(
            tau_s: r3(e?.tauSeconds), stroke_rise_mmhg: r3(e?.strokeRiseMMHg), baseline_mmhg: r3(e?.baselineMMHg),
            noise_mmhg: r3(e?.noiseMMHg), detector_armed: p != nil, detector_window_s: p?.windowSeconds,
            detector_required_windows: p?.requiredWindows, detector_tau_test_s: r3(p?.tauTestSeconds),
            detector_growth_windows: p?.growthWindows)
    }
}
