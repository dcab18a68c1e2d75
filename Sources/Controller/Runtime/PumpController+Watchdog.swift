import PumpCore
import PumpHAL
import PumpSync

/// The watchdog's tick: read every sensor, let the core judge, cut the motor on its own path.
extension PumpController {
    /// One watchdog tick: read every sensor, let the core judge, and disable the motor on the
    /// watchdog's own path if delivery must not run.
    /// `utcNanoseconds`: the wall clock, for the journal's event times (without it, events reach
    /// the journal at the dose loop's next wake).
    @discardableResult
    /// `onHaltDecision`: called the moment this tick decides to stop a running motor, before the
    /// driver is told (a daemon timestamps it: halt decision → ENABLE at the pin).
    @inlinable nonisolated(nonsending) public func watchdogStep(now: MonotonicInstant, utcNanoseconds: Int64? = nil,
                                                               onHaltDecision: (@Sendable () -> Void)? = nil) async -> StepOutcome {
        // Two conversions back to back: the pressure cannot move between them, so their
        // difference is the sensor's own noise (SensorHealthMonitor), unless a stroke fell in
        // between, which the mark taken before them tells the core.
        // The battery is read every `batteryPeriod`; `nextBatteryRead` only moves on under the lock
        // below, and only this step moves it, so it is read together with the mark.
        let (mark, batteryDue) = state.withLock { ($0.core.strokeMark, now >= $0.nextBatteryRead) }
        // Every failed read's error goes to the core with the readings (nothing is dropped).
        var errors: [ReadDevice: HALError] = [:]
        func read<T>(_ device: ReadDevice, _ body: () async throws(HALError) -> T) async -> T? {
            do { return try await body() } catch {
                if errors[device] == nil { errors[device] = error }
                return nil
            }
        }
        let p = await read(.pressureSensor) { () async throws(HALError) in try await pressure.read() }
        let p2 = p == nil ? nil : await read(.pressureSensor) { () async throws(HALError) in try await pressure.read() }
        let fb = await read(.motor) { () async throws(HALError) in try await motor.feedback() }
        var b: BatteryReading?
        if batteryDue { b = await read(.batteryGauge) { () async throws(HALError) in try await battery.read() } }
        let readings = WatchdogReadings(pressure: p, pressureRepeat: p2, strokeMarkBeforePressure: mark, motor: fb, battery: b, batteryDue: batteryDue,
                                        readErrors: errors)
        let (cut, outcome) = state.withLock { g in
            if batteryDue { g.nextBatteryRead = now + limits.batteryPeriod }
            g.core.watchdogTick(at: now, readings: readings)
            // A step that has not come back in time is a driver fault: the halt cuts ENABLE below,
            // whether delivering or suspended with the stroke left to finish.
            if g.strokeUnderWay, g.strokeSeenAt == nil { g.strokeSeenAt = now }
            if let seen = g.strokeSeenAt, now - seen > limits.strokeUnderWayLimit, !g.strokeOverdueReported {
                g.strokeOverdueReported = true
                g.core.motorCommandFailed(HALError(.timeout, "step not confirmed within \(limits.strokeUnderWayLimit.value / 1_000_000) ms"), at: now)
            }
            return (g.motorEnabled && mustCut(g), StepOutcome(g.core))
        }
        if cut {
            onHaltDecision?()
            await safeState(now: now)
        }
        if let journal {
            let failure = journal.failure
            state.withLock { g in
                if let failure { g.core.journalFailed("not writing: \(failure)", at: now) } else { g.core.journalRecovered(at: now) }
            }
            if let utcNanoseconds { journalize(now: now, utcNanoseconds: utcNanoseconds) }
        }
        return outcome
    }
}
