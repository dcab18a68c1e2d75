import Testing
import PumpCore
import PumpHAL
import PumpDrivers
import PumpFakes

/// The ABP2 against the ordered-expectation bus, byte for byte. Counts are written as the wire
/// bytes (most significant first); the arithmetic is in the comments. The transfer function:
/// mmHg = (counts − 1 677 722) × (Pmax − Pmin) / 13 421 772 + Pmin, where 13 421 772 =
/// 15 099 494 − 1 677 722 (90 % and 10 % of 2^24).
@Suite("ABP2 pressure sensor")
struct ABP2Tests {
    /// A 0–300 mmHg part, so the arithmetic stays readable.
    let config = ABP2.Configuration(address: 0x28, rangeMMHg: 0...300)
    let command = I2CExpectation.write(address: 0x28, bytes: [0xAA, 0x00, 0x00])
    static func status(_ byte: UInt8) -> I2CExpectation { .read(address: 0x28, count: 1, result: .success([byte])) }
    static func data(_ bytes: [UInt8]) -> I2CExpectation { .read(address: 0x28, count: 7, result: .success(bytes)) }

    func sensor(_ bus: ExpectationI2CBus, _ sleeper: RecordingSleeper = RecordingSleeper(), _ c: ABP2.Configuration? = nil) -> ABP2PressureSensor<ExpectationI2CBus> {
        ABP2PressureSensor(bus: bus, configuration: c ?? config, sleeper: sleeper, clock: sleeper)
    }

    @Test func commandThenBusyPollThenSevenBytes() async throws {
        let bus = ExpectationI2CBus([
            command,
            Self.status(0x60),   // powered (bit 6) and busy (bit 5)
            Self.status(0x40),   // powered, done
            // Status 0x40; pressure 0x800000 = 8 388 608: (8 388 608 − 1 677 722) × 300 / 13 421 772
            // = 6 710 886 × 300 / 13 421 772 = 150 mmHg exactly (6 710 886 is half the span).
            // Temperature 0x600000 = 6 291 456: 6 291 456 × 200 / 16 777 215 − 50 = 25.0000045 °C.
            Self.data([0x40, 0x80, 0x00, 0x00, 0x60, 0x00, 0x00]),
        ])
        let sleeper = RecordingSleeper()
        let m = try await sensor(bus, sleeper).measure()
        #expect(m.pressure == CentiMMHg(15_000) && m.temperatureMilliCelsius == 25_000)
        try bus.done()
        #expect(sleeper.waits == [5_000_000, 1_000_000])   // the conversion, then one 1 ms poll
    }

    /// Points of the line, through `read()` (what the controller calls).
    static let points: [([UInt8], Int32)] = [
        // 0x19999A = 1 677 722 = Output_min: Pmin, 0 mmHg.
        ([0x19, 0x99, 0x9A], 0),
        // 0xE66666 = 15 099 494 = Output_max: Pmax, 300.00 mmHg.
        ([0xE6, 0x66, 0x66], 30_000),
        // 0x5DDDDE = 6 151 646: (6 151 646 − 1 677 722) = 4 473 924 = 13 421 772 / 3, so 100.00 mmHg.
        ([0x5D, 0xDD, 0xDE], 10_000),
        // 0x0CCCCD = 838 861, the window's low end (5 % of 2^24 = 838 860.8):
        // (838 861 − 1 677 722) × 300 / 13 421 772 = −838 861 × 300 / 13 421 772 = −18.750006 → −18.75 mmHg.
        ([0x0C, 0xCC, 0xCD], -1_875),
        // 0xF33333 = 15 938 355, the high end (95 % = 15 938 355.2):
        // 14 260 633 × 300 / 13 421 772 = 318.750006 → 318.75 mmHg.
        ([0xF3, 0x33, 0x33], 31_875),
    ]

    @Test(arguments: points)
    func transferFunction(counts: [UInt8], centiMMHg: Int32) async throws {
        let bus = ExpectationI2CBus([command, Self.status(0x40), Self.data([0x40] + counts + [0x60, 0x00, 0x00])])
        #expect(try await sensor(bus).read() == CentiMMHg(centiMMHg))
        try bus.done()
    }

    /// A 0–400 mbar part from its board section's unit: 400 mbar = 40 000 Pa, / 133.322387415 Pa
    /// per mmHg = 300.024630 mmHg. Half the span (0x800000, as above) is 150.012315 → 150.01 mmHg.
    @Test func rangeInMillibarIsConvertedOnce() async throws {
        let mbar = ABP2.Configuration(address: 0x28, range: 0...400, unit: .mbar)
        #expect(abs(mbar.rangeMMHg.upperBound - 300.024_630_338) < 1e-6 && mbar.rangeMMHg.lowerBound == 0)
        let bus = ExpectationI2CBus([command, Self.status(0x40), Self.data([0x40, 0x80, 0x00, 0x00, 0x60, 0x00, 0x00])])
        #expect(try await sensor(bus, RecordingSleeper(), mbar).read() == CentiMMHg(15_001))
        try bus.done()
    }

    /// Exact definitions: psi = 4.4482216152605 N / 0.00064516 m² = 6894.757293 Pa, so 5 psi =
    /// 34 473.786 Pa = 258.574626 mmHg; 1 bar = 100 000 Pa = 750.061576 mmHg; 40 kPa = 400 mbar.
    @Test func unitsConvertWithExactConstants() {
        #expect(abs(ABP2.Configuration(range: 0...5, unit: .psi).rangeMMHg.upperBound - 258.574_626_019) < 1e-6)
        #expect(abs(ABP2.Configuration(range: -1...1, unit: .bar).rangeMMHg.lowerBound + 750.061_575_846) < 1e-6)
        #expect(abs(ABP2.Configuration(range: 0...40, unit: .kPa).rangeMMHg.upperBound - 300.024_630_338) < 1e-6)
        #expect(ABP2.Configuration(range: 0...1, unit: .psi).address == 0x28)
    }

    /// Saturated low or far below the part's range: a sensor fault, never a pressure. Saturated
    /// high: a pressure above what the part shows (318.75 mmHg here: 95 % of the output,
    /// (15 938 355 − 1 677 722) × 300 / 13 421 772), `aboveRange`, which the watchdog counts
    /// towards the occlusion ceiling (until 2026-12-05 a sensor fault too).
    @Test(arguments: [
        ([UInt8(0x00), 0x00, 0x00], HALError.Kind.invalidData),   // 0: the bottom rail
        ([0x0C, 0xCC, 0xCC], .invalidData),                      // 838 860: one count under 5 % (−18.750028 mmHg would have been read)
        ([0xFF, 0xFF, 0xFF], .aboveRange),                       // 16 777 215: the top rail
        ([0xF3, 0x33, 0x34], .aboveRange),                       // 15 938 356: one count over 95 %
    ])
    func outputsOutsideTheWindowAreNeverPressures(counts: [UInt8], kind: HALError.Kind) async throws {
        let bus = ExpectationI2CBus([command, Self.status(0x40), Self.data([0x40] + counts + [0x60, 0x00, 0x00])])
        do {
            let p = try await sensor(bus).read()
            Issue.record("read \(p)")
        } catch {
            #expect(error.kind == kind, "\(error)")
            #expect(error.detail.contains(kind == .invalidData ? "838861–15938355 counts" : "above 15938355 counts (at or beyond 318 mmHg)"), "\(error)")
        }
        try bus.done()
        #expect(abs(config.measurableMMHg.upperBound - 318.75) < 1e-4 && abs(config.measurableMMHg.lowerBound + 18.75) < 1e-4)
    }

    /// The status byte's error bits, in the poll or in the data read, are typed faults.
    @Test(arguments: [
        // Memory integrity (bit 2) while polling: the calibration is suspect; nothing more is read.
        ([Self.status(0x44)], HALError.Kind.deviceFault, "memory integrity"),
        // Math saturation (bit 0) in the data's status byte.
        ([Self.status(0x40), Self.data([0x41, 0x80, 0x00, 0x00, 0x60, 0x00, 0x00])], .invalidData, "math saturation"),
        // A floating bus (all ones) or an unpowered part (bit 6 clear) is no ABP2 status.
        ([Self.status(0xFF)], .invalidData, "not an ABP2's"),
        ([Self.status(0x00)], .invalidData, "not an ABP2's"),
        // Busy again in the data read: those counts belong to no finished conversion.
        ([Self.status(0x40), Self.data([0x60, 0x80, 0x00, 0x00, 0x60, 0x00, 0x00])], .busy, "busy in the data read"),
    ])
    func statusErrorBitsAreFaults(after: [I2CExpectation], kind: HALError.Kind, says: String) async throws {
        let bus = ExpectationI2CBus([command] + after)
        do {
            let p = try await sensor(bus).read()
            Issue.record("read \(p)")
        } catch {
            #expect(error.kind == kind && error.detail.contains(says), "\(error)")
        }
        try bus.done()
    }

    /// Busy for ever: given up 20 ms after the command, on the clock. 5 ms of conversion, then a
    /// poll each millisecond: reads at 5, 6, …, 20 ms (16), the last one finding the deadline.
    @Test func busyForeverIsATimeoutOnTheClock() async throws {
        let bus = ExpectationI2CBus([command] + Array(repeating: Self.status(0x60), count: 16))
        let sleeper = RecordingSleeper()
        do {
            _ = try await sensor(bus, sleeper).read()
            Issue.record("read succeeded")
        } catch {
            #expect(error.kind == .timeout, "\(error)")
        }
        try bus.done()
        #expect(sleeper.waits == [5_000_000] + Array(repeating: 1_000_000, count: 15))
    }

    /// Under load each sleep wakes 5× late: the 5 ms wait ends at 25 ms, past the deadline, so
    /// the first busy status ends it (a count of polls would have waited 16 polls, 80 ms).
    @Test func busyTimeoutIsADeadlineHoweverLateTheSleepsWake() async throws {
        let bus = ExpectationI2CBus([command, Self.status(0x60)])
        let late = RecordingSleeper(overshoot: 5)
        await #expect(throws: HALError.self) { try await sensor(bus, late).read() }
        try bus.done()
        #expect(late.waits == [5_000_000])
    }

    @Test func nackOnTheCommandPassesThroughWithItsErrno() async throws {
        let bus = ExpectationI2CBus([.write(address: 0x28, bytes: [0xAA, 0x00, 0x00], error: nack)])
        await #expect(throws: nack) { try await sensor(bus).read() }
        try bus.done()
    }

    /// A bus that answers fewer bytes than asked (not the expectation bus: it refuses to) gives
    /// invalidData, never an index out of range.
    @Test func shortAnswersAreInvalidData() async {
        struct Short: I2CTransfers {
            nonisolated(nonsending) func write(address: UInt8, bytes: [UInt8]) async throws(HALError) {}
            nonisolated(nonsending) func read(address: UInt8, count: Int) async throws(HALError) -> [UInt8] { count == 1 ? [0x40] : [0x40, 0x80] }
            nonisolated(nonsending) func writeRead(address: UInt8, bytes: [UInt8], count: Int) async throws(HALError) -> [UInt8] { [] }
        }
        let s = ABP2PressureSensor(bus: Short(), configuration: config, sleeper: RecordingSleeper(), clock: RecordingSleeper())
        await #expect(throws: HALError(.invalidData, "ABP2 at 0x28: 2 bytes for 7")) { try await s.read() }
    }

    /// The board check reads the status byte only (no command).
    @Test(arguments: [(UInt8(0x40), true, "it has no ID register"), (0xFF, false, "not an ABP2's"), (0x00, false, "not an ABP2's"),
                      (0x44, false, "memory integrity test failed")])
    func identificationByTheStatusByte(status: UInt8, matches: Bool, says: String) async throws {
        let bus = ExpectationI2CBus([Self.status(status)])
        let id = try await ABP2.identify(bus: bus, address: 0x28)
        #expect(id.matches == matches && id.detail.contains(says), "\(id)")
        try bus.done()
    }
}
