import Foundation
import PumpConfig
import PumpCore
import PumpPlant
import PumpHAL

/// Plays the rig's physics against real pins: the fakes' `Plant`, driven by the STEP edges it
/// samples instead of by calls. Each `tick` is one poll: sample the motor outputs, stroke the
/// plant on each forward STEP edge while enabled, answer with encoder edges, and refresh the
/// sensor registers. Commands (from the suite) inject hazards; events report what the pins did,
/// stamped with the caller's monotonic clock so the suite can time the controller at the pin.
///
/// Commands: a fault as one JSON line (`Fault`'s Codable form, `{"type":"encoder_slip","fraction":1}`),
/// applied through `Plant.apply`; `press`, `status`, `levels`, `holders <line>…`, `quit`.
///
/// Event lines: `ready`, `enable 0|1` (ENABLE left/reached its active level), `stroke n=…
/// enabled=0|1`, `kink` (a full occlusion applied), `slip`, `battery <percent>`, `fault <type>` (any
/// other fault applied), `hazard-stroke` (first stroke into the kinked line), `encoder n=…` (a count done), `hazard-sample`
/// (first pressure written after it), `status …`, `levels enable=0|1 alarm=0|1|-`,
/// `holder <line> <consumer>:<in|out>`,
/// `error …`; each ends with ` t=<ns>`.
public final class PlantRunner<IO: PlantIO> {
    public struct Timing: Sendable {
        /// Width of each encoder level (a rising and a falling edge per count).
        public var encoderLevelNanoseconds: Int64 = 2_000_000
        public var pressurePeriodNanoseconds: Int64 = 10_000_000
        public var batteryPeriodNanoseconds: Int64 = 500_000_000
        public var buttonPressNanoseconds: Int64 = 300_000_000
        public init() {}
    }

    public let io: IO
    public let plant: Plant
    private let stepper: Board.Stepper
    private let buttonActiveHigh: Bool
    private let alarmActiveHigh: Bool
    private let timing: Timing
    private let emit: (String) -> Void

    private var start: Int64 = 0
    private var last: MotorPins?
    private var encoderHigh = false, encoderChangeAt: Int64 = 0, emittedCounts: Int64 = 0
    private var pressureDue: Int64 = 0, batteryDue: Int64 = 0
    private var buttonReleaseAt: Int64?
    private var hazard: Hazard = .none
    public private(set) var counters = Counters()

    enum Hazard { case none, kinked, strokedIntoKink }

    public struct Counters: Sendable, Equatable {
        public var strokes = 0, strokesDisabled = 0, samples = 0, enableActiveSamples = 0, encoderCounts = 0
    }

    public init(io: IO, board: Board, plant: Plant, timing: Timing = Timing(), emit: @escaping (String) -> Void) throws(HALError) {
        guard let s = board.stepper else { throw HALError(.notFound, "board \(board.name) has no stepper") }
        self.io = io
        self.plant = plant
        stepper = s
        buttonActiveHigh = board.bolusButton?.active == .high
        alarmActiveHigh = board.alarmOutput?.active != .low
        self.timing = timing
        self.emit = emit
    }

    /// The plant's default physics with the board's stroke and encoder.
    public static func defaultPlant(board: Board, seed: UInt64) -> Plant {
        var p = PlantParameters()
        p.strokeVolume = board.strokeVolume
        p.encoderCountsPerStroke = board.encoderCountsPerStroke
        p.reservoirFill = .millilitres(40)
        // The chip's registers are written with the true pressure: the ADC's window or its rail
        // makes a pressure past the board's top read "above range", as on a rig.
        p.sensorMaxMMHg = .infinity
        return Plant(parameters: p, seed: seed)
    }

    /// Inputs at rest (no driver fault, button released, encoder low), first register values.
    public func begin(at t: Int64) async throws(HALError) {
        start = t
        try await io.setFault(stepper.faultActive == .low)
        try await io.setButton(!buttonActiveHigh)
        try await io.setEncoder(false)
        try await refreshPressure(at: t)
        try await refreshBattery(at: t)
        emit("ready battery=\(io.canSetBattery ? 1 : 0) t=\(t)")
    }

    /// One poll of the pins.
    public func tick(at t: Int64) async throws(HALError) {
        let pins = try await io.sampleMotor()
        let enabled = pins.enable == (stepper.enableActive == .high)
        counters.samples += 1
        if enabled { counters.enableActiveSamples += 1 }
        let previous = last
        last = pins
        if previous.map({ ($0.enable == (stepper.enableActive == .high)) != enabled }) ?? true {
            // Who held the line when it changed: a low level while pumpd still holds it was set by
            // pumpd, not left by a released line.
            emit("enable \(enabled ? 1 : 0) holder=\(io.holder(ofLine: stepper.enableLine).map(String.init(describing:)) ?? "unknown") t=\(t)")
        }
        plant.advance(to: t - start)
        plant.setEnabled(enabled)
        if let previous, pins.step, !previous.step, pins.direction {
            plant.stroke()
            if enabled { counters.strokes += 1 } else { counters.strokesDisabled += 1 }
            emit("stroke n=\(counters.strokes) enabled=\(enabled ? 1 : 0) t=\(t)")
            if enabled, hazard == .kinked {
                hazard = .strokedIntoKink
                emit("hazard-stroke t=\(t)")
            }
        }
        try await driveEncoder(at: t)
        if let r = buttonReleaseAt, t >= r {
            try await io.setButton(!buttonActiveHigh)
            buttonReleaseAt = nil
        }
        if t >= pressureDue { try await refreshPressure(at: t) }
        if t >= batteryDue { try await refreshBattery(at: t) }
    }

    /// One command line from the suite. Returns false on `quit`.
    public func handle(_ line: String, at t: Int64) async throws(HALError) -> Bool {
        if line.hasPrefix("{") {
            let fault: Fault
            do { fault = try JSONDecoder().decode(Fault.self, from: Data(line.utf8)) } catch {
                emit("error not a fault (\(Self.reason(error))): '\(line)' t=\(t)")
                return true
            }
            try await inject(fault, at: t)
            return true
        }
        let words = line.split(separator: " ").map(String.init)
        switch words.first {
        case "press"?:
            try await io.setButton(buttonActiveHigh)
            buttonReleaseAt = t + timing.buttonPressNanoseconds
            emit("press t=\(t)")
        case "status"?:
            let c = counters
            emit("status strokes=\(c.strokes) strokes_disabled=\(c.strokesDisabled) samples=\(c.samples) enable_active_samples=\(c.enableActiveSamples) encoder_counts=\(c.encoderCounts) t=\(t)")
        case "levels"?:
            // The outputs at this instant, as active (1) or not (0); `-` where the jig cannot see.
            let pins = try await io.sampleMotor()
            let alarm = try await io.sampleAlarm().map { $0 == alarmActiveHigh ? "1" : "0" } ?? "-"
            emit("levels enable=\(pins.enable == (stepper.enableActive == .high) ? 1 : 0) alarm=\(alarm) t=\(t)")
        case "holders"?:
            for name in words.dropFirst() {
                emit("holder \(name) \(io.holder(ofLine: name).map(String.init(describing:)) ?? "unknown") t=\(t)")
            }
        case "quit"?:
            return false
        default:
            emit("error unknown command '\(line)' t=\(t)")
        }
        return true
    }

    /// A fault from the suite, through the plant's one way in; a full kink arms the hazard timing.
    private func inject(_ fault: Fault, at t: Int64) async throws(HALError) {
        plant.apply(fault)
        switch fault {
        case .occlusion(let f) where f >= 1:
            hazard = .kinked
            emit("kink t=\(t)")
        case .encoderSlip: emit("slip t=\(t)")
        case .battery(let p):
            try await refreshBattery(at: t)
            emit("battery \(p) t=\(t)")
        default: emit("fault \(fault.name) t=\(t)")
        }
    }

    /// A decoding error in a few words: the key and what is wrong with it.
    static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let c)?, .keyNotFound(_, let c)?, .typeMismatch(_, let c)?, .valueNotFound(_, let c)?:
            c.debugDescription
        default: "\(error)"
        }
    }

    /// One encoder count is a high level then a low level, each held `encoderLevelNanoseconds`.
    private func driveEncoder(at t: Int64) async throws(HALError) {
        guard t >= encoderChangeAt else { return }
        if encoderHigh {
            try await io.setEncoder(false)
            encoderHigh = false
            emittedCounts += 1
            counters.encoderCounts += 1
            emit("encoder n=\(counters.encoderCounts) t=\(t)")
            encoderChangeAt = t + timing.encoderLevelNanoseconds
        } else if emittedCounts < plant.feedback().encoderCounts {
            try await io.setEncoder(true)
            encoderHigh = true
            encoderChangeAt = t + timing.encoderLevelNanoseconds
        }
    }

    private func refreshPressure(at t: Int64) async throws(HALError) {
        pressureDue = t + timing.pressurePeriodNanoseconds
        plant.advance(to: t - start)
        guard let reading = try? plant.readPressure() else { return }
        try await io.writePressure(mmHg: reading.mmHg)
        if hazard == .strokedIntoKink {
            hazard = .none
            emit("hazard-sample t=\(t)")
        }
    }

    private func refreshBattery(at t: Int64) async throws(HALError) {
        batteryDue = t + timing.batteryPeriodNanoseconds
        guard io.canSetBattery, let b = try? plant.readBattery() else { return }
        try await io.writeBattery(percent: b.stateOfCharge.percent, millivolts: Double(b.voltage.value))
    }
}

extension Fault {
    /// The fault as the HIL plant's command: its JSON on one line (keys sorted).
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A fault's fields are strings, whole numbers and finite numbers: they always encode.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
