import PumpCore
import PumpHAL

/// Restart: the core starts from the journal's last state (`RestoredState`).
extension ControllerCore {
    /// Starts from the journal's last state (see `RestoredState`). Strokes intended but never
    /// confirmed count as delivered and raise `delivery_uncertain`; a bolus that was running is
    /// not resumed; alarms that were active stay active (and with them a halt or a suspension).
    public init(configuration: ControllerConfiguration, now: MonotonicInstant, utcNanoseconds: Int64, restoring r: RestoredState) {
        self.init(configuration: configuration, now: now, utcNanoseconds: utcNanoseconds)
        let stroke = configuration.strokeVolume
        // Intents run at most `restoreLead` strokes ahead of the programme a checkpoint records.
        // A journal whose programme lags further (a stale progress row: another writer, a damaged
        // or rolled-back file) would leave the dose loop issuing nothing for hours while it says
        // delivering; the programme continues from the intents instead, and the uncertain
        // strokes raise `delivery_uncertain` below.
        let floor = stroke * (r.intendedStrokes - Self.restoreLead(configuration))
        if r.programmed < floor {
            record(.journalError("the journal's programme lagged its intents by \((floor - r.programmed).value / stroke.value + Self.restoreLead(configuration)) strokes; the programme continues from the intents"), at: now)
        }
        scheduler.restore(programmed: max(r.programmed, floor), commandedStrokes: r.intendedStrokes)
        ledger = ReservoirLedger(capacity: configuration.reservoirCapacity, filled: r.reservoirFilled)
        ledger.recordCommanded(stroke * (r.intendedStrokes - r.commandedBeforeFill))
        filledAtStroke = r.commandedBeforeFill
        if let p = r.prescription, p != configuration.prescription { scheduler.reprogram(p, at: now, utcNanoseconds: utcNanoseconds) }
        if let low = r.lowReservoir { lowReservoirLevel = low }
        reservoirKnown = r.reservoirKnown
        ledger.recordMeasured(total: r.measuredSinceFill)
        measuredBefore = r.measuredSinceFill
        refills = r.refills
        if let b = r.bridge {
            // The bridge ends by volume the motor pushed; strokes a restart counts as delivered may
            // never have moved. When the old drug is the stronger one, ending early would push it at
            // the new plan (an overdose: swarm seeds 6838, 7221), so they count as not pushed; when
            // it is the weaker, as pushed. Either way the error is a shortfall.
            let unpushed = b.concentration > scheduler.prescription.drug.concentration ? stroke * r.uncertainStrokes : .zero
            scheduler.restoreBridge(concentration: b.concentration, remaining: b.remaining + unpushed)
        }
        scheduler.restartConcentrationSegments()
        for a in r.activeAlarms {
            alarms.restore(a.type, acknowledged: a.acknowledged, acknowledgedAt: a.acknowledgedUTCNanoseconds.map { now - Nanoseconds(utcNanoseconds - $0) },
                           causePresent: a.causePresent, at: now)
        }
        state = alarms.stopsDelivery ? .halted : r.state == .delivering ? .delivering : .suspended
        if state != .delivering {
            scheduler.setDelivering(false, at: now, utcNanoseconds: utcNanoseconds)
            // The stop goes on: counted from when it began (from the restart if not known).
            stoppedSince = r.stoppedSinceUTCNanoseconds.map { now - Nanoseconds(max(0, utcNanoseconds - $0)) } ?? now
        }
        if let low = r.batteryLowest { battery.restore(lowest: low, limits: configuration.limits) }
        // The detector restores itself: the learned line, a latched occlusion's drain target (the
        // alarm book keeps it latched; its cause stays present until the retained pressure is seen
        // to drain: a fresh detector would call a still-kinked line clear), and the strokes the programme is assumed to have made before the restart.
        occlusion.restart(OcclusionDetector.Restart(
            memory: r.lineMemory, occlusionLatched: alarms.isActive(.occlusion), restingMMHg: r.occlusionRestingMMHg,
            history: r.state == .delivering && state == .delivering
                ? assumedHistory(before: now - Nanoseconds(max(0, utcNanoseconds - r.lastRecordUTCNanoseconds)), boluses: r.boluses,
                                 endUTCNanoseconds: r.lastRecordUTCNanoseconds)
                : nil))
        // Bolus times move into this run's monotonic frame by their age on the journal's
        // timeline (a wall-clock step across the restart moves neither lockout nor cap).
        boluses.restore(r.boluses.map {
            BolusRecord(kind: $0.kind, requestedAt: now - ($0.age ?? Nanoseconds(utcNanoseconds - $0.requestedUTCNanoseconds)),
                        dose: $0.dose, duration: $0.duration, refusal: nil)
        })
        let interrupted = r.boluses.contains { $0.requestedUTCNanoseconds + $0.duration.value > r.lastRecordUTCNanoseconds }
        record(.restarted(RestartSummary(uncertainStrokes: r.uncertainStrokes,
                                         outage: Nanoseconds(max(0, utcNanoseconds - r.lastRecordUTCNanoseconds)),
                                         interruptedBolus: interrupted)), at: now)
        if r.journalLossUnreviewed, !alarms.isActive(.journalLost) {
            raise(.journalLost, at: now)
            set(.journalLost, present: false, at: now)
        }
        if r.uncertainStrokes > 0 {
            raise(.deliveryUncertain, at: now)
            set(.deliveryUncertain, present: false, at: now)   // ends when acknowledged
        }
        if interrupted { bolusInterrupted(at: now) }
    }

    /// Most strokes the journal's intents can legitimately run ahead of its last checkpoint's
    /// programme: the motor's top rate over twice the intent lookahead and a second of commit
    /// lag, plus one wake's strokes.
    static func restoreLead(_ c: ControllerConfiguration) -> Int64 {
        let window = c.limits.journalLookahead.value * 2 + 1_000_000_000
        let volume = Int128(PumpLimits.maximumTotalRateNanolitresPerDay) * Int128(window) / Int128(Nanoseconds.days(1).value)
        return Int64(volume / Int128(c.strokeVolume.value)) + 1 + c.maximumStrokesPerWake
    }

    /// The programme up to the last journal record (`end`) as the detector assumes it ran
    /// (`OcclusionDetector.AssumedHistory`): the basal at the rate in force, and the journal's
    /// boluses in strokes of the drug in force.
    private func assumedHistory(before end: MonotonicInstant, boluses: [RestoredState.Bolus], endUTCNanoseconds: Int64) -> OcclusionDetector.AssumedHistory {
        let stroke = Double(configuration.strokeVolume.value)
        return OcclusionDetector.AssumedHistory(
            end: end, basalStrokes: scheduler.strokesExpected(within: OcclusionDetector.assumedHistory),
            boluses: boluses.map {
                OcclusionDetector.AssumedHistory.Bolus(start: end - Nanoseconds(endUTCNanoseconds - $0.requestedUTCNanoseconds), duration: $0.duration,
                                                       strokes: Double(scheduler.concentrationInForce.volume(of: $0.dose).value) / stroke)
            })
    }
}
