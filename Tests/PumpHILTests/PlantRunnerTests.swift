import Foundation
import PumpConfig
import PumpCore
import PumpDrivers
import PumpFakes
import PumpPlant
import PumpHAL
import PumpHIL
import PumpSync
import Testing

let boards = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Boards")
func hilBoard() throws -> Board { try Board.load(path: boards.appendingPathComponent("hil-kernel-sim.json").path) }

/// Register-level pins and chips: what the plant writes, recorded; the motor pins it samples, set by the test.
final class RecordingIO: PlantIO, Sendable {
    struct State {
        var pins = MotorPins(step: false, direction: true, enable: false)
        var alarm: Bool? = false
        var encoder: [Bool] = [], fault: [Bool] = [], button: [Bool] = []
        var pressure: [Double] = [], battery: [(Double, Double)] = []
    }
    let state = Locked(State())
    nonisolated(nonsending) func sampleMotor() async throws(HALError) -> MotorPins { state.withLock { $0.pins } }
    nonisolated(nonsending) func sampleAlarm() async throws(HALError) -> Bool? { state.withLock { $0.alarm } }
    nonisolated(nonsending) func setEncoder(_ high: Bool) async throws(HALError) { state.withLock { $0.encoder.append(high) } }
    nonisolated(nonsending) func setFault(_ high: Bool) async throws(HALError) { state.withLock { $0.fault.append(high) } }
    nonisolated(nonsending) func setButton(_ high: Bool) async throws(HALError) { state.withLock { $0.button.append(high) } }
    nonisolated(nonsending) func writePressure(mmHg: Double) async throws(HALError) { state.withLock { $0.pressure.append(mmHg) } }
    var canSetBattery: Bool { true }
    nonisolated(nonsending) func writeBattery(percent: Double, millivolts: Double) async throws(HALError) {
        state.withLock { $0.battery.append((percent, millivolts)) }
    }
    func holder(ofLine name: String) -> LineHolder? { LineHolder(consumer: "pumpd", isOutput: true) }
    func set(step: Bool? = nil, enable: Bool? = nil) {
        state.withLock { s in
            if let step { s.pins.step = step }
            if let enable { s.pins.enable = enable }
        }
    }
}

/// A plant runner on recorded pins, stepped through virtual time by the test.
struct Rig {
    let io = RecordingIO()
    let runner: PlantRunner<RecordingIO>
    let log = EventLog()
    var t: Int64 = 1_000_000_000

    init() throws {
        let board = try hilBoard()
        let sink = log
        runner = try PlantRunner(io: io, board: board, plant: PlantRunner<RecordingIO>.defaultPlant(board: board, seed: 3)) { e in
            sink.lines.withLock { $0.append(e) }
        }
    }

    /// Polls every 200 µs for `milliseconds`.
    mutating func run(milliseconds: Int) async throws {
        for _ in 0..<(milliseconds * 5) {
            try await runner.tick(at: t)
            t += 200_000
        }
    }

    /// One STEP pulse of 20 ms, as the board's driver makes it.
    mutating func pulse() async throws {
        io.set(step: true)
        try await run(milliseconds: 20)
        io.set(step: false)
        try await run(milliseconds: 80)
    }

    func events(_ prefix: String) -> [String] { log.lines.withLock { $0.filter { $0.hasPrefix(prefix) } } }

    final class EventLog: Sendable { let lines = Locked<[String]>([]) }
}

@Suite("HIL plant")
struct PlantRunnerTests {
    @Test func restingLevelsAndFirstRegisters() async throws {
        var rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        let s = rig.io.state.withLock { $0 }
        // nFAULT (active low) and the button (active low) rest high; the encoder rests low.
        #expect(s.fault == [true] && s.button == [true] && s.encoder == [false])
        #expect(s.pressure.count == 1 && abs(s.pressure[0] - 10) < 2)
        #expect(s.battery.count == 1 && s.battery[0].0 == 100)
        #expect(rig.events("ready battery=1").count == 1)
        try await rig.run(milliseconds: 100)
        // A pressure every 10 ms, each a fresh noisy sample (a stuck sensor repeats one code).
        let pressures = rig.io.state.withLock { $0.pressure }
        #expect(pressures.count >= 10 && Set(pressures).count == pressures.count)
    }

    @Test func stepsWhileEnabledStrokeAndAnswerWithEncoderEdges() async throws {
        var rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        try await rig.run(milliseconds: 10)
        try await rig.pulse()  // disabled: counted apart, no encoder answer
        rig.io.set(enable: true)
        for _ in 0..<5 { try await rig.pulse() }
        #expect(rig.runner.counters.strokes == 5 && rig.runner.counters.strokesDisabled == 1)
        // One count per stroke on this board: five rising edges, each followed by a falling one.
        let encoder = rig.io.state.withLock { $0.encoder }.dropFirst()
        #expect(Array(encoder) == Array(repeating: [true, false], count: 5).flatMap { $0 })
        #expect(rig.runner.counters.encoderCounts == 5)
        #expect(rig.events("enable 1 holder=pumpd:out").count == 1)
        #expect(rig.runner.plant.totals.displaced == Nanolitres(5 * 250))
    }

    @Test func slipSilencesTheEncoder() async throws {
        var rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        rig.io.set(enable: true)
        try await rig.run(milliseconds: 10)
        try await rig.pulse()
        _ = try await rig.runner.handle(#"{"type":"encoder_slip","fraction":1}"#, at: rig.t)
        for _ in 0..<3 { try await rig.pulse() }
        #expect(rig.runner.counters.strokes == 4 && rig.runner.counters.encoderCounts == 1)
    }

    @Test func kinkReportsTheHazardsFirstSampleAfterTheFirstStrokeIntoIt() async throws {
        var rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        rig.io.set(enable: true)
        try await rig.run(milliseconds: 10)
        _ = try await rig.runner.handle(#"{"type":"occlusion","fraction":1}"#, at: rig.t)
        try await rig.run(milliseconds: 500)
        #expect(rig.events("hazard-stroke").isEmpty && rig.events("hazard-sample").isEmpty)
        let before = rig.runner.plant.totals.pressureMMHg
        for _ in 0..<4 { try await rig.pulse() }
        #expect(rig.events("hazard-stroke").count == 1 && rig.events("hazard-sample").count == 1)
        // A blocked line keeps each stroke: 250 nL ÷ 200 nL/mmHg = 1.25 mmHg per stroke.
        #expect(abs(rig.runner.plant.totals.pressureMMHg - before - 5) < 0.01)
        rig.io.set(enable: false)
        try await rig.run(milliseconds: 1)
        #expect(rig.events("enable 0 holder=pumpd:out").count == 1)
    }

    @Test func buttonPressIsAHeldActiveLevelThenRelease() async throws {
        var rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        _ = try await rig.runner.handle("press", at: rig.t)
        try await rig.run(milliseconds: 299)
        #expect(rig.io.state.withLock { $0.button } == [true, false])
        try await rig.run(milliseconds: 2)
        #expect(rig.io.state.withLock { $0.button } == [true, false, true])
    }

    @Test func batteryAndStatusCommands() async throws {
        let rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        #expect(try await rig.runner.handle(#"{"type":"battery","percent":4}"#, at: rig.t))
        let last = try #require(rig.io.state.withLock { $0.battery.last })
        #expect(abs(last.0 - 4) < 0.01 && abs(last.1 - 3432) < 1)
        #expect(try await rig.runner.handle("status", at: rig.t))
        #expect(rig.events("status strokes=0 ").count == 1)
        #expect(try await rig.runner.handle(#"{"type":"battery"}"#, at: rig.t))
        #expect(try await rig.runner.handle("fly", at: rig.t))
        #expect(rig.events("error ").count == 2)
        #expect(try await rig.runner.handle("quit", at: rig.t) == false)
    }

    /// `levels` reports ENABLE and the alarm output as active or not from the board's polarity
    /// (hil-kernel-sim: both active high), and `-` where the jig cannot see the alarm line.
    @Test func levelsReportActiveFromTheBoardsPolarity() async throws {
        let rig = try Rig()
        try await rig.runner.begin(at: rig.t)
        rig.io.set(enable: false)
        rig.io.state.withLock { $0.alarm = true }
        #expect(try await rig.runner.handle("levels", at: rig.t))
        rig.io.set(enable: true)
        rig.io.state.withLock { $0.alarm = false }
        #expect(try await rig.runner.handle("levels", at: rig.t))
        rig.io.state.withLock { $0.alarm = nil }
        #expect(try await rig.runner.handle("levels", at: rig.t))
        #expect(rig.events("levels ").map { $0.components(separatedBy: " t=")[0] }
                == ["levels enable=0 alarm=1", "levels enable=1 alarm=0", "levels enable=1 alarm=-"])
    }
}

/// The plant's register words decode, through the real drivers, to what it meant to write.
@Suite("HIL chip registers")
struct ChipRegisterTests {
    /// Registers as i2c-stub holds them: one word each, returned as written.
    final class StubBus: I2CBus, Sendable {
        let words = Locked<[UInt16: UInt16]>([:])
        nonisolated(nonsending) func readByte(address: UInt8, register: UInt8) async throws(HALError) -> UInt8 { 0 }
        nonisolated(nonsending) func writeByte(address: UInt8, register: UInt8, value: UInt8) async throws(HALError) {}
        nonisolated(nonsending) func readWord(address: UInt8, register: UInt8) async throws(HALError) -> UInt16 {
            words.withLock { $0[UInt16(address) << 8 | UInt16(register)] ?? 0 }
        }
        nonisolated(nonsending) func writeWord(address: UInt8, register: UInt8, value: UInt16) async throws(HALError) {
            words.withLock { $0[UInt16(address) << 8 | UInt16(register)] = value }
        }
    }

    @Test(arguments: [-20.0, 0, 10.25, 123.45, 399.9])
    func pressureRoundTripsThroughTheADS1115Driver(mmHg: Double) async throws {
        let board = try hilBoard()
        let adc = try #require(board.pressureADC)
        let bus = StubBus()
        try await bus.writeWord(address: adc.address, register: 0, value: ChipRegisters.ads1115ConversionWord(mmHg: mmHg, adc: adc))
        let sensor = ADS1115PressureSensor(
            bus: bus, configuration: ADS1115.Configuration(
                address: adc.address, channel: adc.channel, fullScaleMillivolts: adc.fullScaleMillivolts, dataRateSPS: adc.dataRateSPS,
                calibration: ((adc.calibration[0].millivolts, adc.calibration[0].mmHg), (adc.calibration[1].millivolts, adc.calibration[1].mmHg))),
            sleeper: RecordingSleeper())
        let read = try await sensor.read()
        // One code is 0.125 mV = 0.0125 mmHg on this calibration.
        #expect(abs(read.mmHg - mmHg) <= 0.02)
    }

    @Test func batteryRoundTripsThroughTheMAX17048Driver() async throws {
        let bus = StubBus()
        let w = ChipRegisters.max17048Words(percent: 14.5, millivolts: 3516)
        try await bus.writeWord(address: 0x36, register: 0x02, value: w.vcell)
        try await bus.writeWord(address: 0x36, register: 0x04, value: w.soc)
        let r = try await MAX17048Gauge(bus: bus, address: 0x36).read()
        #expect(r.stateOfCharge == PerMille(percent: 14.5) && r.voltage == Millivolts(3516))
    }

    @Test func dacCodeForTheTransducerVoltage() throws {
        let rig = try Board.load(path: boards.appendingPathComponent("rpi4-hil.json").path)
        let adc = try #require(rig.pressureADC)
        // 0.5–4.5 V for 0–1034.2 mmHg: 517.1 mmHg is 2500 mV, code 2048 of 4096 at 5 V full scale.
        #expect(abs(ChipRegisters.transducerMillivolts(mmHg: 517.1, adc: adc) - 2500) < 1e-9)
        let w = ChipRegisters.mcp4725FastWrite(millivolts: 2500, fullScaleMillivolts: 5000)
        #expect(w.register == 0x08 && w.value == 0x00)
        #expect(ChipRegisters.mcp4725FastWrite(millivolts: 9000, fullScaleMillivolts: 5000) == (0x0F, 0xFF))
    }
}
