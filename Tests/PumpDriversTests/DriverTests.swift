import Testing
import PumpCore
import PumpHAL
import PumpDrivers
import PumpFakes
import PumpPlant

let nack = HALError(.noAcknowledge, errno: 121)

@Suite("ADS1115 pressure sensor")
struct ADS1115Tests {
    // AIN0, ±4.096 V, 128 SPS, 500 mV = 0 mmHg, 4500 mV = 300 mmHg.
    let config = ADS1115.Configuration(address: 0x48, channel: 0, fullScaleMillivolts: 4096, dataRateSPS: 128,
                                       calibration: ((500, 0), (4500, 300)))

    @Test func configWordIsExact() {
        let s = ADS1115PressureSensor(bus: ExpectationI2CBus([]), configuration: config, sleeper: RecordingSleeper())
        // OS=1 | MUX=100 (AIN0/GND) | PGA=001 | MODE=1 | DR=100 | COMP_QUE=11
        #expect(s.startConversionWord == 0xC383)
        var other = config
        other.channel = 3; other.fullScaleMillivolts = 256; other.dataRateSPS = 860
        #expect(ADS1115PressureSensor(bus: ExpectationI2CBus([]), configuration: other, sleeper: RecordingSleeper()).startConversionWord == 0xFBE3)
    }

    @Test func singleShotReadWithBigEndianBytes() async throws {
        let bus = ExpectationI2CBus([
            // 0xC383 goes out MSB first: as an SMBus word (LSB first) that is 0x83C3.
            .writeWord(address: 0x48, register: 0x01, value: 0x83C3),
            // Still converting: config reads back 0x4383 (OS = 0), i.e. SMBus word 0x8343.
            .readWord(address: 0x48, register: 0x01, result: .success(0x8343)),
            .readWord(address: 0x48, register: 0x01, result: .success(0x83C3)),
            // 2500 mV = code 20000 = 0x4E20, on the wire 0x4E then 0x20: SMBus word 0x204E.
            .readWord(address: 0x48, register: 0x00, result: .success(0x204E)),
        ])
        let sleeper = RecordingSleeper()
        let s = ADS1115PressureSensor(bus: bus, configuration: config, sleeper: sleeper)
        #expect(try await s.read() == CentiMMHg(15_000))        // 150.00 mmHg
        try bus.done()
        #expect(sleeper.waits == [8_693_750, 2_173_437])          // one conversion at 128 SPS, then a quarter
    }

    /// A broken wire reads 0 V (−37.5 mmHg through this calibration): below the board's valid
    /// window (250–4750 mV) a sensor fault, never a pressure. The ADC's top code (4095.9 mV at
    /// ±4.096 V) is saturated: the pressure is at least 269.7 mmHg, which the sensor cannot show,
    /// so it is `aboveRange` (until 2026-12-05 it was read as 269.7 mmHg).
    @Test(arguments: [(Int16(0), HALError.Kind?.some(.invalidData)), (Int16(1_600), .invalidData), (Int16(2_000), nil), (Int16(20_000), nil),
                      (Int16(32_767), .aboveRange)])
    func readingsOutsideTheTransducersWindowAreInvalidData(code: Int16, failure: HALError.Kind?) async throws {
        let valid = failure == nil
        var windowed = config
        windowed.validMillivolts = 250...4750
        // Codes at ±4.096 V: 1600 → 200 mV, 2000 → 250 mV, 20000 → 2500 mV, 32767 → 4095.9 mV.
        let word = UInt16(bitPattern: code).byteSwapped
        let bus = ExpectationI2CBus([
            .writeWord(address: 0x48, register: 0x01, value: 0x83C3),
            .readWord(address: 0x48, register: 0x01, result: .success(0x83C3)),
            .readWord(address: 0x48, register: 0x00, result: .success(word)),
        ])
        let s = ADS1115PressureSensor(bus: bus, configuration: windowed, sleeper: RecordingSleeper())
        do {
            let p = try await s.read()
            #expect(valid, "read \(p) from \(code)")
        } catch {
            #expect(!valid && error.kind == failure, "\(error)")
            if failure == .invalidData { #expect(error.detail.contains("250–4750 mV"), "\(error)") }
            if failure == .aboveRange { #expect(error.detail.contains("top (269 mmHg)"), "\(error)") }
        }
    }

    /// The bench boards' transducer (0.5–4.5 V for 0–1034.2 mmHg, window 250–4750 mV, ±6.144 V):
    /// 4800 mV (code 25 600) is past the window's top, 1098.8 mmHg: above range, not a fault;
    /// code 25 333 (4749.9 mV) is a pressure, 1034.2 × 4249.9 / 4000 = 1098.8 mmHg.
    /// A transducer whose voltage falls as pressure rises (500 mV = 1034.2 mmHg, 4500 mV = 0): the
    /// end of the window that means the higher pressure is its bottom. Below 250 mV (code 1 067,
    /// 200.1 mV) is above range; above 4750 mV (code 25 600) is a sensor fault. (Outside attack,
    /// 2026-12-05: the docs named the window's top; the driver follows the slope.)
    @Test func aFallingCalibrationsAboveRangeIsItsLowEnd() async throws {
        let falling = ADS1115.Configuration(address: 0x48, channel: 0, fullScaleMillivolts: 6144, dataRateSPS: 128,
                                            calibration: ((500, 1034.2), (4500, 0)), validMillivolts: 250...4750)
        func read(_ code: Int16) async -> HALError.Kind? {
            let bus = ExpectationI2CBus([
                .writeWord(address: 0x48, register: 0x01, value: ADS1115PressureSensor(bus: ExpectationI2CBus([]), configuration: falling,
                                                                                      sleeper: RecordingSleeper()).startConversionWord.byteSwapped),
                .readWord(address: 0x48, register: 0x01, result: .success(0x0080)),
                .readWord(address: 0x48, register: 0x00, result: .success(UInt16(bitPattern: code).byteSwapped)),
            ])
            do { _ = try await ADS1115PressureSensor(bus: bus, configuration: falling, sleeper: RecordingSleeper()).read(); return nil } catch { return error.kind }
        }
        #expect(await read(1_067) == .aboveRange)
        #expect(await read(25_600) == .invalidData)
        #expect(await read(10_000) == nil)
        #expect(abs(falling.measurableMMHg.upperBound - 1098.8375) < 1e-9)
    }

    @Test func pastTheWindowsTopIsAboveRange() async throws {
        let bench = ADS1115.Configuration(address: 0x48, channel: 0, fullScaleMillivolts: 6144, dataRateSPS: 128,
                                          calibration: ((500, 0), (4500, 1034.2)), validMillivolts: 250...4750)
        func read(_ code: Int16) async throws(HALError) -> CentiMMHg {
            let bus = ExpectationI2CBus([
                .writeWord(address: 0x48, register: 0x01, value: ADS1115PressureSensor(bus: ExpectationI2CBus([]), configuration: bench,
                                                                                      sleeper: RecordingSleeper()).startConversionWord.byteSwapped),
                .readWord(address: 0x48, register: 0x01, result: .success(0x0080)),
                .readWord(address: 0x48, register: 0x00, result: .success(UInt16(bitPattern: code).byteSwapped)),
            ])
            return try await ADS1115PressureSensor(bus: bus, configuration: bench, sleeper: RecordingSleeper()).read()
        }
        await #expect(throws: HALError(.aboveRange, "ADS1115 at 0x48: 4800 mV is at or beyond the transducer's top (1098 mmHg)")) {
            try await read(25_600)
        }
        let top = try await read(25_333)
        #expect(abs(top.mmHg - 1034.2 * (25_333.0 * 6144 / 32_768 - 500) / 4000) < 0.01, "\(top)")
        #expect(abs(bench.measurableMMHg.upperBound - 1098.8375) < 1e-9 && abs(bench.measurableMMHg.lowerBound + 64.6375) < 1e-9)
    }

    @Test func negativeCodesAndCalibration() {
        let s = ADS1115PressureSensor(bus: ExpectationI2CBus([]), configuration: config, sleeper: RecordingSleeper())
        #expect(s.mmHg(fromRaw: 0) == -37.5)                     // 0 mV is below the 500 mV zero
        #expect(s.mmHg(fromRaw: Int16(bitPattern: 0xFF38)) < -37.5)
        #expect(abs(s.mmHg(fromRaw: 32_767) - 269.69) < 0.01)      // 4095.875 mV at full scale
    }

    @Test func nackPassesThroughWithItsErrno() async {
        let bus = ExpectationI2CBus([.writeWord(address: 0x48, register: 0x01, value: 0x83C3, error: nack)])
        let s = ADS1115PressureSensor(bus: bus, configuration: config, sleeper: RecordingSleeper())
        await #expect(throws: nack) { try await s.read() }
        #expect(throws: Never.self) { try bus.done() }
    }

    @Test func conversionThatNeverCompletesIsATimeout() async throws {
        let busy = I2CExpectation.readWord(address: 0x48, register: 0x01, result: .success(0x8343))
        let bus = ExpectationI2CBus([.writeWord(address: 0x48, register: 0x01, value: 0x83C3), busy, busy, busy])
        let s = ADS1115PressureSensor(bus: bus, configuration: config, sleeper: RecordingSleeper())
        do {
            _ = try await s.read()
            Issue.record("read succeeded")
        } catch {
            #expect(error.kind == .timeout)
        }
        try bus.done()
    }

    /// The board check's identification, against the datasheet's power-on registers (config
    /// 8583h, Lo_thresh 8000h, Hi_thresh 7FFFh) and a TMP102's (config 60A0h, T_LOW 4B00h = 75 °C,
    /// T_HIGH 5000h = 80 °C; 0x48 is its default address too), which a config-only check took for
    /// an ADS1115 configured since power-on.
    @Test(arguments: [
        (UInt16(0x8583), UInt16(0x8000), UInt16(0x7FFF), true, "power-on values"),
        (UInt16(0xC383), UInt16(0x8000), UInt16(0x7FFF), true, "configured since power-on"),
        (UInt16(0xC380), UInt16(0x0000), UInt16(0x8000), true, "configured since power-on"),   // ALERT/RDY as conversion ready
        (UInt16(0x60A0), UInt16(0x4B00), UInt16(0x5000), false, "another chip"),                // TMP102
        (UInt16(0xFFFF), UInt16(0xFFFF), UInt16(0xFFFF), false, "another chip"),
    ])
    func identificationByTheThresholds(config: UInt16, lo: UInt16, hi: UInt16, matches: Bool, says: String) async throws {
        // SMBus words carry the first wire byte (the register's high byte) in their low half.
        let bus = ExpectationI2CBus([
            .readWord(address: 0x48, register: 0x01, result: .success(config.byteSwapped)),
            .readWord(address: 0x48, register: 0x02, result: .success(lo.byteSwapped)),
            .readWord(address: 0x48, register: 0x03, result: .success(hi.byteSwapped)),
        ])
        let id = try await ADS1115.identify(bus: bus, address: 0x48)
        #expect(id.matches == matches && id.detail.contains(says), "\(id)")
        try bus.done()
    }
}

@Suite("MAX17048 fuel gauge")
struct MAX17048Tests {
    @Test func vcellAndSocBigEndian() async throws {
        let bus = ExpectationI2CBus([
            // VCELL 3.900 V = 49920 × 78.125 µV = 0xC300: on the wire 0xC3, 0x00 → SMBus word 0x00C3.
            .readWord(address: 0x36, register: 0x02, result: .success(0x00C3)),
            // SOC 87.5 % = 0x5780 (87 + 128/256): SMBus word 0x8057.
            .readWord(address: 0x36, register: 0x04, result: .success(0x8057)),
        ])
        let r = try await MAX17048Gauge(bus: bus, address: 0x36).read()
        #expect(r.voltage == Millivolts(3900) && r.stateOfCharge == PerMille(percent: 87.5))
        try bus.done()
    }

    @Test func missingGaugeIsANack() async {
        let bus = ExpectationI2CBus([.readWord(address: 0x36, register: 0x02, result: .failure(nack))])
        await #expect(throws: nack) { try await MAX17048Gauge(bus: bus, address: 0x36).read() }
    }
}

@Suite("Stepper driver")
struct StepperTests {
    let config = Stepper.Configuration(enableActiveHigh: false, faultActiveHigh: false, stepPulseNanoseconds: 20_000,
                                       stepPeriodNanoseconds: 5_000_000, encoderCountsPerStep: 2, encoderTimeoutNanoseconds: 50_000_000)
    /// Waits nothing in these tests reach.
    let idle = RecordingSleeper()

    @Test func enableIsActiveLowAndDisableIsTheSafeLevel() async throws {
        let en = ExpectationOutputLine("EN", [.set(false), .set(true)])
        let d = StepperMotorDriver(configuration: config, step: ExpectationOutputLine("STEP", []), direction: ExpectationOutputLine("DIR", []),
                                   enable: en, fault: ScriptedInputLine([]), encoder: ScriptedInputLine([]), sleeper: idle, clock: idle)
        try await d.enable()
        try await d.disable()
        try en.done()
    }

    @Test func stepsPulseAtTheConfiguredWidthAndCountTheEncoder() async throws {
        let step = ExpectationOutputLine("STEP", [.set(true), .set(false), .set(true), .set(false)])
        let dir = ExpectationOutputLine("DIR", [.set(true)])
        // The kernel's queue after each pulse: drained until it answers "no edge" (nil).
        let encoder = ScriptedInputLine([.edge(.rising), .edge(.falling), .edge(.rising), .edge(nil),
                                         .edge(.rising), .edge(.rising), .edge(nil),
                                         .edge(nil)])                 // feedback(): nothing new
        let sleeper = RecordingSleeper()
        let d = StepperMotorDriver(configuration: config, step: step, direction: dir, enable: ExpectationOutputLine("EN", []),
                                   fault: ScriptedInputLine([.level(true)]), encoder: encoder, sleeper: sleeper, clock: sleeper)
        try await d.step(count: 2, direction: .forward)
        try step.done()
        try dir.done()
        #expect(sleeper.waits == [1_000, 20_000, 4_980_000, 20_000, 4_980_000])
        let fb = try await d.feedback()
        // Rising edges only: 4 counts for 2 steps of 2; nFAULT high (inactive).
        #expect(fb == MotorFeedback(encoderCounts: 4, driverFault: false))
        #expect(encoder.remaining == 0)
    }

    /// libgpiod 2 numbers each line's events 1, 2, 3, … (the kernel's 32-bit counter, which
    /// wraps): a gap is edges the kernel dropped.
    @Test func sequenceGapsCountDroppedEdges() {
        var s = EdgeSequence()
        #expect(s.observe(1) == 0 && s.observe(2) == 0)
        #expect(s.observe(6) == 3)          // 3, 4, 5 lost
        #expect(s.observe(7) == 0)
        #expect(s.observe(nil) == 0)        // an interface without numbers (libgpiod 1.6)
        #expect(s.dropped == 3)
        var late = EdgeSequence()
        #expect(late.observe(5) == 4)       // lost before the first read
        var wrapping = EdgeSequence()
        #expect(wrapping.observe(UInt32.max - 1) == Int64(UInt32.max) - 2)
        #expect(wrapping.observe(UInt32.max) == 0 && wrapping.observe(0) == 0 && wrapping.observe(1) == 0)
        #expect(wrapping.observe(4) == 2)   // 2, 3 lost after the wrap
    }

    @Test func droppedEdgesReachTheMotorFeedback() async throws {
        // The line numbers its edges 1, 2, then 5: two lost in the kernel's buffer.
        let encoder = NumberedInputLine([(.rising, 1), (.rising, 2), (.rising, 5)])
        let d = StepperMotorDriver(configuration: config, step: ExpectationOutputLine("STEP", []), direction: ExpectationOutputLine("DIR", []),
                                   enable: ExpectationOutputLine("EN", []), fault: NumberedInputLine([]), encoder: encoder,
                                   sleeper: idle, clock: idle)
        let fb = try await d.feedback()
        #expect(fb == MotorFeedback(encoderCounts: 3, driverFault: false, droppedEncoderEdges: 2))
    }

    @Test func missingEdgesAreWaitedForThenReported() async throws {
        // Stall: no edge during the pulse, none within a 2 ms timeout, polled every millisecond
        // without blocking.
        var short = config
        short.encoderTimeoutNanoseconds = 2_000_000
        let encoder = ScriptedInputLine(Array(repeating: .edge(nil), count: 5))
        let sleeper = RecordingSleeper()
        let d = StepperMotorDriver(configuration: short, step: ExpectationOutputLine("STEP", [.set(true), .set(false)]),
                                   direction: ExpectationOutputLine("DIR", [.set(false)]), enable: ExpectationOutputLine("EN", []),
                                   fault: ScriptedInputLine([.level(false)]), encoder: encoder, sleeper: sleeper, clock: sleeper)
        try await d.step(count: 1, direction: .reverse)
        #expect(sleeper.waits == [1_000, 20_000, 4_980_000, 1_000_000, 1_000_000])
        let fb = try await d.feedback()
        // No motion, and nFAULT low: the driver reports its fault.
        #expect(fb == MotorFeedback(encoderCounts: 0, driverFault: true))
        #expect(encoder.remaining == 0)
    }

    /// Under load every sleep wakes late. The encoder timeout is a deadline on the clock, not a
    /// count of the polls asked for: with each 1 ms poll waking after 5 ms, a silent encoder is
    /// given up on after the configured 50 ms (within one late poll), not after 50 polls (250 ms,
    /// as before: the HIL guest under load stretched a 1 s timeout to about 5 s, and strokes in
    /// flight that long hid a slipping motor from the watchdog).
    @Test func encoderTimeoutIsADeadlineHoweverLateTheSleepsWake() async throws {
        let encoder = ScriptedInputLine(Array(repeating: .edge(nil), count: 100))
        let late = RecordingSleeper(overshoot: 5)
        let d = StepperMotorDriver(configuration: config, step: ExpectationOutputLine("STEP", [.set(true), .set(false)]),
                                   direction: ExpectationOutputLine("DIR", [.set(true)]), enable: ExpectationOutputLine("EN", []),
                                   fault: ScriptedInputLine([]), encoder: encoder, sleeper: late, clock: late)
        try await d.step(count: 1, direction: .forward)
        // The pulse: direction setup, width, the rest of the period (1 µs, 20 µs, 4.98 ms asked, 5 µs, 100 µs, 24.9 ms taken).
        let pulse: Int64 = 5 * (1_000 + 20_000 + 4_980_000)
        let waited = late.monotonicNanoseconds() - pulse
        #expect(waited >= config.encoderTimeoutNanoseconds && waited <= config.encoderTimeoutNanoseconds + 5 * Stepper.encoderPollNanoseconds,
                "waited \(waited) ns for the encoder against a 50 ms timeout")
        #expect(late.waits.count - 3 <= 10)
    }

    @Test func lineErrorsPropagate() async {
        let d = StepperMotorDriver(configuration: config, step: ExpectationOutputLine("STEP", [.set(true, error: HALError(.bus, errno: 5))]),
                                   direction: ExpectationOutputLine("DIR", [.set(true)]), enable: ExpectationOutputLine("EN", []),
                                   fault: ScriptedInputLine([]), encoder: ScriptedInputLine([]), sleeper: idle, clock: idle)
        await #expect(throws: HALError(.bus, errno: 5)) { try await d.step(count: 1, direction: .forward) }
    }
}

/// An encoder line whose events carry the kernel's sequence numbers (as libgpiod 2's do).
final class NumberedInputLine: InputLine, @unchecked Sendable {
    private var events: [(Edge, UInt32)]
    private var sequence = EdgeSequence()
    init(_ events: [(Edge, UInt32)]) { self.events = events }
    /// As a fault line: high, nFAULT's inactive level.
    nonisolated(nonsending) func get() async throws(HALError) -> Bool { true }
    nonisolated(nonsending) func waitForEdge(timeoutNanoseconds: Int64) async throws(HALError) -> Edge? {
        guard !events.isEmpty else { return nil }
        let (edge, number) = events.removeFirst()
        sequence.observe(number)
        return edge
    }
    var droppedEdges: Int64 { sequence.dropped }
}
