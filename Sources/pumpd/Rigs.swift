import Controller
import Foundation
import Logging
import PumpConfig
import PumpCore
import PumpDrivers
import PumpPlant
import PumpHAL
import PumpJournal
#if canImport(PumpLinux)
import PumpLinux
#endif

/// The controller configuration a board and a prescription file give.
func controllerConfiguration(board: Board, therapy: Therapy) -> ControllerConfiguration {
    var limits = SafetyLimits()
    limits.lowReservoir = therapy.lowReservoirAlarm
    let zone: any TimeZoneRules = FoundationZone(identifier: TimeZone.current.identifier) ?? FixedOffsetZone()
    var c = ControllerConfiguration(prescription: therapy.prescription, strokeVolume: board.strokeVolume,
                                    encoderCountsPerStroke: board.encoderCountsPerStroke, reservoirCapacity: therapy.reservoirCapacity,
                                    reservoirFill: therapy.reservoirFill, limits: limits, zone: zone)
    if let s = board.stepper {
        c.limits.allowWakes(lasting: s.worstStep(strokes: c.maximumStrokesPerWake))
    }
    return c
}

/// The simulated board in real time: the fakes' plant follows the wall of a monotonic clock.
enum SimulatedRig {
    static func serve(board: Board, therapy: Therapy, journal: SQLiteJournal.Start, balance: String?, commands: CommandInterface?,
                      logger: Logger) async throws {
        var p = PlantParameters()
        p.strokeVolume = board.strokeVolume
        p.encoderCountsPerStroke = board.encoderCountsPerStroke
        p.reservoirFill = therapy.reservoirFill
        let plant = Plant(parameters: p, seed: 1)
        let clock = ContinuousClock()
        let epoch = clock.now
        let advance: @Sendable () -> Void = {
            let d = epoch.duration(to: clock.now).components
            plant.advance(to: d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000)
        }
        let scale = try balance.map { path throws(RigError) in try Balance(path: path) }
        let controller = PumpController(
            configuration: controllerConfiguration(board: board, therapy: therapy),
            motor: LiveMotor(inner: FakeMotorDriver(plant: plant), advance: advance, balance: scale),
            pressure: LivePressure(inner: FakePressureSensor(plant: plant), advance: advance),
            battery: LiveGauge(inner: FakeBatteryGauge(plant: plant), advance: advance),
            now: .zero, utcNanoseconds: SystemWallClock().utcNanoseconds(), journal: journal.journal, restoring: journal.restored)
        logger.notice("simulated board: plant model in real time; SIGUSR1 is its bolus button")
        var extras = RigExtras()
        extras.signalBolusButton = true
        extras.commands = commands
        try await Daemon.serve(controller, clock: clock, epoch: epoch, extras: extras, journal: journal.journal, loss: journal.loss, logger: logger)
    }

    /// The bench balance of the simulated board: one byte appended per stroke the motor makes,
    /// written before the step returns (kill -9 cannot lose it: the kernel holds the write).
    /// A serial port works too (the power-cut campaign's balance is a file on the VM's host): each
    /// stroke's byte has left the port before the step returns.
    final class Balance: Sendable {
        let fd: Int32
        let serial: Bool
        init(path: String) throws(RigError) {
            // Never through a link (a serial port is a device node): run as root, a link planted
            // there had root append to any file.
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw RigError(message: "--simulated-balance \(path): cannot open (errno \(errno))") }
            serial = isatty(fd) == 1
        }
        func add(strokes: Int) {
            let bytes = [UInt8](repeating: 0x2E, count: strokes)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if serial { tcdrain(fd) }
        }
    }

    struct LiveMotor: MotorDriver {
        let inner: FakeMotorDriver
        let advance: @Sendable () -> Void
        let balance: Balance?
        nonisolated(nonsending) func enable() async throws(HALError) { advance(); try await inner.enable() }
        nonisolated(nonsending) func disable() async throws(HALError) { advance(); try await inner.disable() }
        nonisolated(nonsending) func step(count: Int, direction: StepDirection) async throws(HALError) {
            advance()
            let before = inner.plant.totals.displaced
            try await inner.step(count: count, direction: direction)
            // Strokes that moved drug (a disabled or stalled motor moves none).
            let moved = Int((inner.plant.totals.displaced - before).value / max(1, inner.plant.parameters.strokeVolume.value))
            if moved > 0 { balance?.add(strokes: moved) }
        }
        nonisolated(nonsending) func feedback() async throws(HALError) -> MotorFeedback { advance(); return try await inner.feedback() }
    }

    struct LivePressure: PressureSensor {
        let inner: FakePressureSensor
        let advance: @Sendable () -> Void
        nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg { advance(); return try await inner.read() }
    }

    struct LiveGauge: BatteryGauge {
        let inner: FakeBatteryGauge
        let advance: @Sendable () -> Void
        nonisolated(nonsending) func read() async throws(HALError) -> BatteryReading { advance(); return try await inner.read() }
    }
}

/// The Linux rig: lines by name from the board's GPIO chip, the board's I²C bus, chip drivers.
enum LinuxRig {
    static func serve(board: Board, therapy: Therapy, journal: SQLiteJournal.Start, commands: CommandInterface?, logger: Logger) async throws {
        #if canImport(PumpLinux)
        guard let label = board.gpioChipLabel, let s = board.stepper, let sensor = board.pressureSensor, let gauge = board.fuelGauge else {
            throw RigError(message: "board \(board.name): not a complete linux board")
        }
        do {
            let chip = try GPIOChip(label: label)
            // ENABLE first, at its inactive level: the motor is disabled from the moment of the request.
            let enable = try chip.output(named: s.enableLine, initial: s.enableActive == .low)
            let step = try chip.output(named: s.stepLine, initial: false)
            let direction = try chip.output(named: s.directionLine, initial: true)
            let fault = try chip.input(named: s.faultLine, edges: .both)
            // The driver counts rising edges: only those are requested (see GPIOChip.input).
            let encoder = try chip.input(named: s.encoderLine, edges: .rising)
            let sleeper = TaskSleeper()
            let motor = StepperMotorDriver(
                configuration: Stepper.Configuration(
                    enableActiveHigh: s.enableActive == .high, faultActiveHigh: s.faultActive == .high,
                    stepPulseNanoseconds: Int64(s.stepPulseMicroseconds) * 1000,
                    stepPeriodNanoseconds: 1_000_000_000 / Int64(s.maxStepRateHz),
                    encoderCountsPerStep: board.encoderCountsPerStroke,
                    encoderTimeoutNanoseconds: Int64(s.encoderTimeoutMilliseconds) * 1_000_000),
                step: step, direction: direction, enable: enable, fault: fault, encoder: encoder, sleeper: sleeper, clock: sleeper)
            let bus = try LinuxI2CBus(number: board.i2cBus, adapterName: board.i2cAdapterName)
            // Whichever chip the board names: its section builds its driver (PumpConfig's registry).
            let pressure = sensor.section.makeSensor(bus: bus, sleeper: sleeper)
            let battery = MAX17048Gauge(bus: bus, address: gauge.address)
            var extras = RigExtras()
            extras.commands = commands
            if let a = board.alarmOutput {
                extras.alarmOutput = try chip.output(named: a.name, initial: a.active == .low)
                extras.alarmActiveHigh = a.active == .high
            }
            if let b = board.bolusButton {
                // A press is the edge to the active level. The pin's own bias holds the idle level,
                // so a button wired with no resistor does not float (docs/board-files.md).
                extras.bolusButton = try chip.input(named: b.name, edges: b.active == .high ? .rising : .falling,
                                                    bias: b.active == .high ? .pullDown : .pullUp)
                extras.bolusActiveHigh = b.active == .high
            }
            if let path = board.watchdogDevice {
                let wd = try HardwareWatchdog(path: path)
                if let asked = board.watchdogTimeoutSeconds {
                    let granted = try wd.setTimeout(seconds: asked)
                    guard granted >= Board.watchdogTimeoutRange.lowerBound else {
                        wd.close()
                        throw HALError(.unsupported, "\(path) granted a \(granted) s timeout for \(asked) s: under the shortest the board allows, \(Board.watchdogTimeoutRange.lowerBound) s (watchdog_timeout_s)")
                    }
                    logger.notice("hardware watchdog \(path): timeout \(granted) s (board asked \(asked) s)")
                }
                extras.feedWatchdog = { () throws(HALError) in try wd.feed() }
                extras.closeWatchdog = { wd.close() }
            }
            let controller = PumpController(
                configuration: controllerConfiguration(board: board, therapy: therapy),
                motor: motor, pressure: pressure, battery: battery, now: .zero, utcNanoseconds: SystemWallClock().utcNanoseconds(),
                journal: journal.journal, restoring: journal.restored)
            logger.notice("linux board: chip '\(label)', \(bus.path), libgpiod \(GPIOLibrary.version) (API v\(GPIOLibrary.api))")
            let clock = ContinuousClock()
            try await Daemon.serve(controller, clock: clock, epoch: clock.now, extras: extras, journal: journal.journal, loss: journal.loss, logger: logger)
        } catch let e as HALError {
            throw RigError(message: "board \(board.name): \(e)")
        }
        #else
        throw RigError(message: "this build has no Linux backend (built without the LinuxBackend trait)")
        #endif
    }
}
