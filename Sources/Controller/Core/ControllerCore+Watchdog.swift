import PumpCore
import PumpHAL

/// The watchdog's judgement: every monitor judges its tick's readings and raises or ends alarms.
extension ControllerCore {
    /// One watchdog tick: every monitor judges its readings. Whether the motor must then be off is
    /// `motorStop`'s answer, the one the watchdog acts on.
    public mutating func watchdogTick(at now: MonotonicInstant, readings: WatchdogReadings) {
        lastWatchdogTick = now
        for device in ReadDevice.allCases { if let e = readings.readErrors[device] { readFailed(device, e, at: now) } }
        // Heartbeat of the dose loop.
        if now - lastHeartbeat > limits.heartbeatTimeout { raise(.doseLoopStalled, at: now) }

        // Pressure sensor and occlusion.
        // The dose loop runs alongside on the rig: a stroke that moved between the two conversions
        // was handed to the motor before the second one, so it is still in flight now, or was
        // when the mark was taken, or has been confirmed since.
        let still = readings.strokeMarkBeforePressure.map { $0 == strokeMark } ?? false
        let trusted = sensor.observe(readings.pressure, repeat: readings.pressureRepeat,
                                     readAboveRange: readings.readErrors[.pressureSensor]?.kind == .aboveRange, motorStill: still, limits: limits)
        set(.pressureSensorFault, present: sensor.fault != nil, at: now)
        occlusion.tick(at: now, reading: trusted, aboveRange: sensor.aboveRange, delivering: state == .delivering,
                       occlusionAlarmActive: alarms.isActive(.occlusion), basalStrokeInterval: scheduler.slowestBasalStrokeInterval)
        // Latched by the alarm book (the detector reads the latch from it), raised the moment the
        // detector finds one, delivering or not (a blocked line seen while suspended must not be
        // forgotten by the resume); the cause is gone once delivery has stopped and the retained
        // pressure has drained (the kink released).
        if occlusion.detectedNow { raise(.occlusion, at: now) }
        set(.occlusion, present: occlusion.occluded && !(state != .delivering && occlusion.causeGone), at: now)

        // Motion and the driver's own fault line.
        if let fb = readings.motor {
            if motion.observe(commandedStrokes: scheduler.commandedStrokes, strokesInFlight: strokesInFlight,
                              encoderCounts: fb.encoderCounts, limits: limits) {
                if state == .delivering { raise(.motionMismatch, at: now) }
            }
            // Dropped encoder edges are motion nobody measured: as unknown as a mismatch. At this
            // loop's stroke rates the kernel's buffer only overflows under a burst of edges, which
            // is what a runaway motor makes; so the policy is the mismatch's (FaultTable).
            if fb.droppedEncoderEdges > droppedEncoderEdgesSeen {
                droppedEncoderEdgesSeen = fb.droppedEncoderEdges
                if state == .delivering { raise(.motionMismatch, at: now) }
            }
            // A mismatch is about strokes: once they have stopped, a clinician may judge it.
            if state != .delivering { set(.motionMismatch, present: false, at: now) }
            let measured = Nanolitres(configuration.strokeVolume.value * motion.measuredCounts / configuration.encoderCountsPerStroke)
            ledger.recordMeasured(total: measuredBefore + measured)
            set(.motorDriverFault, present: fb.driverFault, at: now)
        }

        // Delivery stopped for long: the patient is without drug.
        set(.deliveryStopped, present: stoppedSince.map { now - $0 >= limits.longestStopWithoutAlarm } ?? false, at: now)
        // Silenced alarms whose condition lasts sound again.
        for type in alarms.reannounceSilenced(at: now, after: limits.reannouncement(after:)) { record(.alarmReannounced(type), at: now) }

        // Battery.
        if readings.batteryDue {
            battery.observe(readings.battery.map { ($0.stateOfCharge, $0.voltage) }, limits: limits)
            if let b = readings.battery, !battery.gaugeFault, battery.last?.stateOfCharge == b.stateOfCharge { batteryTrend.observe(b.stateOfCharge, at: now) }
            set(.batteryGaugeFault, present: battery.gaugeFault, at: now)
            set(.batteryEndOfService, present: battery.endOfService, at: now)
            set(.batteryElectiveReplacement, present: battery.electiveReplacement, at: now)
        }
    }
}
