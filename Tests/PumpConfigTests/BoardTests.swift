import Foundation
import Testing
import PumpCore
@testable import PumpConfig
import PumpDrivers
import PumpFakes
import PumpPlant
import PumpHAL

let boardsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Boards")

func boardJSON(_ name: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(contentsOf: boardsFolder.appendingPathComponent(name))) as? [String: Any])
}

/// The board text refused, with a problem at `path` among its problems.
func expectRefused(_ json: [String: Any], naming path: String, _ name: String? = nil) throws {
    let label = name.map { "\($0): " } ?? ""
    do {
        _ = try Board.parse(JSONSerialization.data(withJSONObject: json))
        Issue.record("\(name ?? path): accepted")
    } catch let e as ValidationErrors {
        #expect(e.problems.contains { $0.path == path }, "\(label)wanted \(path), got \(e)")
    }
}

@Suite("Board files")
struct BoardTests {
    @Test func shippedBoardsParse() throws {
        let sim = try Board.load(path: boardsFolder.appendingPathComponent("simulated.json").path)
        #expect(sim.kind == .simulated && sim.stepper == nil && sim.pressureADC == nil)
        // The simulated board's calibration is the plant's default.
        #expect(sim.strokeVolume == PlantParameters().strokeVolume)
        #expect(sim.encoderCountsPerStroke == PlantParameters().encoderCountsPerStroke)

        let pi = try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench.json").path)
        #expect(pi.kind == .linux && pi.gpioChipLabel == "pinctrl-bcm2711" && pi.i2cBus == 1)
        #expect(pi.stepper?.enableLine == "GPIO22" && pi.stepper?.enableActive == .low)
        #expect(pi.pressureADC?.configuration == ADS1115.Configuration(address: 0x48, channel: 0, fullScaleMillivolts: 6144, dataRateSPS: 128,
                                                                       calibration: ((500, 0), (4500, 1034.2)), validMillivolts: 250...4750))
        #expect(pi.fuelGauge?.address == 0x36 && pi.watchdogDevice == "/dev/watchdog")
        #expect(pi.bolusButton == Board.Line(name: "GPIO6", active: .low))

        // The Pi 5's header is on RP1: found by label and line names only (its chip number moved
        // between kernels); the wiring is the Pi 4's.
        let pi5 = try Board.load(path: boardsFolder.appendingPathComponent("rpi5-bench.json").path)
        #expect(pi5.kind == .linux && pi5.gpioChipLabel == "pinctrl-rp1" && pi5.i2cBus == 1)
        #expect(pi5.stepper == pi.stepper && pi5.pressureADC == pi.pressureADC && pi5.bolusButton == pi.bolusButton)

        let hil = try Board.load(path: boardsFolder.appendingPathComponent("hil-kernel-sim.json").path)
        #expect(hil.i2cAdapterName == "SMBus stub driver" && hil.i2cBus == nil && hil.gpioChipLabel == "pump-sim")
        #expect(hil.hilJig == .kernelSimulators && hil.lineNames == ["STEP", "DIR", "EN", "nFAULT", "ENC", "BUZZER", "BOLUS"])
        #expect(pi.hilJig == nil)
        #expect(hil.watchdogDevice == "/dev/watchdog" && hil.watchdogTimeoutSeconds == 3 && pi.watchdogTimeoutSeconds == nil)

        let rig = try Board.load(path: boardsFolder.appendingPathComponent("rpi4-hil.json").path)
        #expect(rig.hilJig == .loopback(Board.Loopback(stepIn: "GPIO16", directionIn: "GPIO19", enableIn: "GPIO20", encoderOut: "GPIO21",
                                                        faultOut: "GPIO26", bolusOut: "GPIO13", dacAddress: 0x60, dacFullScaleMillivolts: 5000)))
        // The slowest legitimate wake (4 strokes): by hand, 4 pulses at 200 Hz + 50 ms = 70 ms on the
        // bench; 4 at 10 Hz + 1 000 ms = 1.4 s on the HIL's kernel simulators, so its limit on a step
        // under way is 2.8 s, not the default 2 s (outside review of the step limit, 2026-12-05).
        #expect(pi.stepper?.worstStep(strokes: 4) == Nanoseconds.milliseconds(70))
        #expect(hil.stepper?.worstStep(strokes: 4) == Nanoseconds.milliseconds(1400))
        var limits = SafetyLimits()
        limits.allowWakes(lasting: try #require(hil.stepper).worstStep(strokes: 4))
        #expect(limits.strokeUnderWayLimit == Nanoseconds.milliseconds(2800))
        limits = SafetyLimits()
        limits.allowWakes(lasting: try #require(pi.stepper).worstStep(strokes: 4))
        #expect(limits.strokeUnderWayLimit == SafetyLimits().strokeUnderWayLimit)
    }

    /// Every file in Boards/ reads, so a board added there is checked without naming it here.
    @Test func everyBoardFileParses() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: boardsFolder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.contains("rpi4-bench-abp2.json") && files.count >= 6)
        for file in files {
            #expect(throws: Never.self, "\(file)") { try Board.load(path: boardsFolder.appendingPathComponent(file).path) }
        }
    }

    /// The ABP2 bench board: the Pi 4's wiring with the digital sensor at 0x28 in place of the
    /// ADS1115.
    @Test func abp2BoardParses() throws {
        let abp2 = try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench-abp2.json").path)
        let pi = try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench.json").path)
        #expect(abp2.pressureSensor?.model == "abp2" && abp2.pressureADC == nil && abp2.pressureSensor?.address == 0x28)
        #expect(abp2.pressureSensor?.section as? Board.ABP2 == Board.ABP2(address: 0x28, range: 0...30, unit: .psi))
        #expect(abp2.stepper == pi.stepper && abp2.fuelGauge == pi.fuelGauge && abp2.pressureSensor != pi.pressureSensor)
        #expect(pi.pressureSensor?.model == "ads1115")
    }

    /// The rig builds the sensor from the section alone (no switch on the model in pumpd): the
    /// ABP2 board's section reads through the bus it is given, byte for byte.
    @Test func theSectionBuildsItsDriver() async throws {
        let abp2 = try #require(try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench-abp2.json").path).pressureSensor)
        let bus = ExpectationI2CBus([
            .write(address: 0x28, bytes: [0xAA, 0x00, 0x00]),
            .read(address: 0x28, count: 1, result: .success([0x40])),
            // 0x800000: half of 0–30 psi = 15 psi = 103 421.359 Pa / 133.322387415 = 775.7239 mmHg.
            .read(address: 0x28, count: 7, result: .success([0x40, 0x80, 0x00, 0x00, 0x60, 0x00, 0x00])),
        ])
        #expect(try await abp2.section.makeSensor(bus: bus, sleeper: RecordingSleeper()).read() == CentiMMHg(77_572))
        try bus.done()
        // The ADS1115 section gives the driver the configuration pumpd built by hand before.
        let pi = try #require(try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench.json").path).pressureADC)
        #expect(pi.configuration == ADS1115.Configuration(address: 0x48, channel: 0, fullScaleMillivolts: 6144, dataRateSPS: 128,
                                                          calibration: ((500, 0), (4500, 1034.2)), validMillivolts: 250...4750))
    }

    /// The ABP2 section's rejections, each naming its field; the address defaults to 0x28.
    static let brokenABP2: [(String, String)] = [
        ("pressure_sensor.range", #"{}"#),
        ("pressure_sensor.range.unit", #"{"range": {"min": 0, "max": 400, "unit": "inHg"}}"#),
        ("pressure_sensor.range.unit", #"{"range": {"min": 0, "max": 400}}"#),
        ("pressure_sensor.range.max", #"{"range": {"min": 0, "unit": "mbar"}}"#),
        ("pressure_sensor.range", #"{"range": {"min": 400, "max": 0, "unit": "mbar"}}"#),
        ("pressure_sensor.range", #"{"range": {"min": 0, "max": 20, "unit": "bar"}}"#),
        // Tops out at 318.8 mmHg (95 % of the output), under the 900 mmHg ceiling: the shipped
        // board's part until 2026-12-05.
        ("pressure_sensor.range", #"{"range": {"min": 0, "max": 400, "unit": "mbar"}}"#),          // 15 000 mmHg: no ABP2
        ("pressure_sensor.range.min", #"{"range": {"min": "0", "max": 30, "unit": "psi"}}"#),
        ("pressure_sensor.address", #"{"address": "0x7f", "range": {"min": 0, "max": 30, "unit": "psi"}}"#),
        ("pressure_sensor.channel", #"{"channel": 0, "range": {"min": 0, "max": 30, "unit": "psi"}}"#),   // an ADS1115 field
        ("pressure_sensor.range.offset", #"{"range": {"min": 0, "max": 400, "unit": "mbar", "offset": 1}}"#),
        ("battery_gauge.address", #"{"address": "0x36", "range": {"min": 0, "max": 30, "unit": "psi"}}"#),
    ]

    @Test(arguments: brokenABP2.indices)
    func brokenABP2SectionNamesTheField(index: Int) throws {
        let (path, fields) = Self.brokenABP2[index]
        var json = try boardJSON("rpi4-bench-abp2.json")
        var section = try #require(JSONSerialization.jsonObject(with: Data(fields.utf8)) as? [String: Any])
        section["model"] = "abp2"
        json["pressure_sensor"] = section
        try expectRefused(json, naming: path)
    }

    /// A sensor must show every pressure up to the occlusion ceiling (900 mmHg): past its top a
    /// blocked line's pressure cannot be counted. The bench boards' transducer until 2026-12-05
    /// (0.5–4.5 V for 0–300 mmHg, window 250–4750 mV) tops out at 300 × 4250 / 4000 = 318.75 mmHg;
    /// the ABP2 board's part (0–400 mbar) at 300.02 × 14 260 633 / 13 421 772 = 318.78 mmHg.
    @Test func aSensorThatCannotShowTheCeilingIsRefused() throws {
        func problems(_ json: [String: Any]) throws -> [FieldError] {
            do { _ = try Board.parse(JSONSerialization.data(withJSONObject: json)); return [] } catch let e as ValidationErrors { return e.problems }
        }
        var ads = try boardJSON("rpi4-bench.json")
        var section = try #require(ads["pressure_sensor"] as? [String: Any])
        section["calibration"] = [["mv": 500, "mmhg": 0], ["mv": 4500, "mmhg": 300]]
        ads["pressure_sensor"] = section
        let adsProblem = try #require(try problems(ads).first { $0.path == "pressure_sensor.calibration" })
        #expect(adsProblem.message.hasPrefix("gives -18…318 mmHg; the pressure sensor must show 0…900 mmHg"), "\(adsProblem)")
        var abp2 = try boardJSON("rpi4-bench-abp2.json")
        abp2["pressure_sensor"] = ["model": "abp2", "range": ["min": 0, "max": 400, "unit": "mbar"]]
        let abp2Problem = try #require(try problems(abp2).first { $0.path == "pressure_sensor.range" })
        #expect(abp2Problem.message.hasPrefix("gives -18…318 mmHg"), "\(abp2Problem)")
        // The shipped parts show it: 1034.2 × 4250 / 4000 = 1098.8 mmHg; 30 psi: 1648.4 mmHg.
        let pi = try #require(try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench.json").path).pressureSensor)
        #expect(abs(pi.section.measurableMMHg.upperBound - 1098.8375) < 1e-9)
        let part = try #require(try Board.load(path: boardsFolder.appendingPathComponent("rpi4-bench-abp2.json").path).pressureSensor)
        #expect(abs(part.section.measurableMMHg.upperBound - 1648.4133) < 1e-4)
    }

    /// Outside attack (2026-12-05, F7): a bad value in one calibration point also reported its
    /// valid sibling as "unknown field", and an unknown model reported every ADS1115 field so.
    /// Each problem now names the one field that is wrong.
    @Test func aBadFieldIsTheOnlyProblemReported() throws {
        func problems(_ json: [String: Any]) throws -> [FieldError] {
            do { _ = try Board.parse(JSONSerialization.data(withJSONObject: json)); return [] } catch let e as ValidationErrors { return e.problems }
        }
        var board = try boardJSON("rpi4-bench.json")
        var section = try #require(board["pressure_sensor"] as? [String: Any])
        section["calibration"] = [["mv": "500", "mmhg": 0], ["mv": 4500, "mmhg": 1034.2]]
        section["valid_mv"] = ["min": "250", "max": 4750]
        board["pressure_sensor"] = section
        #expect(try problems(board).map(\.path).sorted() == ["pressure_sensor.calibration[0].mv", "pressure_sensor.valid_mv.min"])
        section = try #require(try boardJSON("rpi4-bench.json")["pressure_sensor"] as? [String: Any])
        section["model"] = "ads1015"
        board["pressure_sensor"] = section
        let p = try problems(board)
        #expect(p.map(\.path) == ["pressure_sensor.model"], "\(p)")
        #expect(p.first?.message.contains("got 'ads1015'") == true, "\(p)")
    }

    /// Outside attack: a number no reader can hold (1e999) inside an array was blamed on the
    /// array, and anywhere in the file it stopped the fail-safe holder, whose fields were good.
    @Test func anUnreadableNumberNamesItsElementAndTheHolderPassesItOver() throws {
        let text = try String(contentsOf: boardsFolder.appendingPathComponent("rpi4-bench.json"), encoding: .utf8)
        let bad = text.replacingOccurrences(of: #""mv": 500"#, with: #""mv": 1e999"#)
        #expect(bad != text)
        do {
            _ = try Board.parse(Data(bad.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.map(\.path) == ["pressure_sensor.calibration[0].mv"], "\(error)")
        }
        let hold = try Board.safeHold(Data(bad.utf8))
        #expect(hold.enableLine == "GPIO22")
        #expect(hold.passedOver.contains { $0.path == "pressure_sensor.calibration[0].mv" }, "\(hold.passedOver)")
    }

    @Test func abp2AddressDefaultsTo0x28AndUnknownModelsNameTheRegistry() throws {
        var json = try boardJSON("rpi4-bench-abp2.json")
        json["pressure_sensor"] = ["model": "abp2", "range": ["min": -5, "max": 30, "unit": "psi"]]
        let board = try Board.parse(JSONSerialization.data(withJSONObject: json))
        #expect(board.pressureSensor?.section as? Board.ABP2 == Board.ABP2(address: 0x28, range: -5...30, unit: .psi))
        json["pressure_sensor"] = ["model": "mcp3008"]
        do {
            _ = try Board.parse(JSONSerialization.data(withJSONObject: json))
            Issue.record("accepted")
        } catch let e as ValidationErrors {
            #expect(e.problems.first == FieldError("pressure_sensor.model", "must be ads1115 or abp2, got 'mcp3008'"), "\(e)")
        }
    }

    /// The jig section's own rejections, each naming its field.
    static let brokenJig: [(String, @Sendable (inout [String: Any]) -> Void)] = [
        ("hil_jig.kind", { $0["kind"] = "fpga" }),
        ("hil_jig.step_in", { $0["step_in"] = "GPIO17" }),
        ("hil_jig.pressure_dac.model", { $0["pressure_dac"] = ["model": "ad5693", "address": "0x60", "full_scale_mv": 5000] }),
        ("hil_jig.pressure_dac", { $0["pressure_dac"] = nil }),
        ("hil_jig.wiring", { $0["wiring"] = "x" }),
    ]

    @Test(arguments: brokenJig.indices)
    func brokenJigNamesTheField(index: Int) throws {
        let (path, breakIt) = Self.brokenJig[index]
        var json = try boardJSON("rpi4-hil.json")
        var jig = try #require(json["hil_jig"] as? [String: Any])
        breakIt(&jig)
        json["hil_jig"] = jig
        try expectRefused(json, naming: path)
    }

    /// One rejection per field class, each naming its field.
    static let broken: [(String, String, @Sendable (inout [String: Any]) -> Void)] = [
        ("schema missing", "schema", { $0["schema"] = nil }),
        ("schema from the future", "schema", { $0["schema"] = 2 }),
        ("kind unknown", "kind", { $0["kind"] = "arduino" }),
        ("name empty", "name", { $0["name"] = "" }),
        ("motor missing", "motor", { $0["motor"] = nil }),
        ("stroke out of range", "motor.stroke_volume_nl", { m in var x = m["motor"] as! [String: Any]; x["stroke_volume_nl"] = 5000; m["motor"] = x }),
        ("line by number", "motor.step_line", { m in var x = m["motor"] as! [String: Any]; x["step_line"] = "17"; m["motor"] = x }),
        ("line missing", "motor.enable_line", { m in var x = m["motor"] as! [String: Any]; x["enable_line"] = nil; m["motor"] = x }),
        ("line used twice", "motor.dir_line", { m in var x = m["motor"] as! [String: Any]; x["dir_line"] = "GPIO17"; m["motor"] = x }),
        ("level not high/low", "motor.enable_active", { m in var x = m["motor"] as! [String: Any]; x["enable_active"] = "on"; m["motor"] = x }),
        ("pulse too long for the rate", "motor.max_step_rate_hz", { m in var x = m["motor"] as! [String: Any]; x["step_pulse_us"] = 1000; x["max_step_rate_hz"] = 1000; m["motor"] = x }),
        ("gpio missing on linux", "gpio", { $0["gpio"] = nil }),
        ("i2c bus and name", "i2c", { $0["i2c"] = ["bus": 1, "adapter_name": "x"] }),
        ("address reserved", "pressure_sensor.address", { m in var x = m["pressure_sensor"] as! [String: Any]; x["address"] = "0x7f"; m["pressure_sensor"] = x }),
        ("address not hex", "battery_gauge.address", { m in var x = m["battery_gauge"] as! [String: Any]; x["address"] = "0xZZ"; m["battery_gauge"] = x }),
        ("same address twice", "battery_gauge.address", { m in var x = m["battery_gauge"] as! [String: Any]; x["address"] = "0x48"; m["battery_gauge"] = x }),
        ("gain not an ADS1115 range", "pressure_sensor.full_scale_mv", { m in var x = m["pressure_sensor"] as! [String: Any]; x["full_scale_mv"] = 5000; m["pressure_sensor"] = x }),
        ("data rate not offered", "pressure_sensor.data_rate_sps", { m in var x = m["pressure_sensor"] as! [String: Any]; x["data_rate_sps"] = 100; m["pressure_sensor"] = x }),
        ("channel out of range", "pressure_sensor.channel", { m in var x = m["pressure_sensor"] as! [String: Any]; x["channel"] = 4; m["pressure_sensor"] = x }),
        ("one calibration point", "pressure_sensor.calibration", { m in var x = m["pressure_sensor"] as! [String: Any]; x["calibration"] = [["mv": 500, "mmhg": 0]]; m["pressure_sensor"] = x }),
        ("calibration points at one voltage", "pressure_sensor.calibration", { m in var x = m["pressure_sensor"] as! [String: Any]; x["calibration"] = [["mv": 500, "mmhg": 0], ["mv": 500, "mmhg": 300]]; m["pressure_sensor"] = x }),
        ("calibration field missing", "pressure_sensor.calibration[1].mmhg", { m in var x = m["pressure_sensor"] as! [String: Any]; x["calibration"] = [["mv": 500, "mmhg": 0], ["mv": 4500]]; m["pressure_sensor"] = x }),
        ("wrong chip model", "pressure_sensor.model", { m in var x = m["pressure_sensor"] as! [String: Any]; x["model"] = "mcp3008"; m["pressure_sensor"] = x }),
        ("watchdog outside /dev", "watchdog_device", { $0["watchdog_device"] = "/tmp/wd" }),
        // A NUL would cut the name short in C ("/dev/zero" checked, "junk" ignored).
        ("transducer window upside down", "pressure_sensor.valid_mv", { m in var x = m["pressure_sensor"] as! [String: Any]; x["valid_mv"] = ["min": 4750, "max": 250]; m["pressure_sensor"] = x }),
        ("transducer window without max", "pressure_sensor.valid_mv.max", { m in var x = m["pressure_sensor"] as! [String: Any]; x["valid_mv"] = ["min": 250]; m["pressure_sensor"] = x }),
        ("NUL in a path", "watchdog_device", { $0["watchdog_device"] = "/dev/zero\u{0}junk" }),
        ("control character in a line name", "motor.step_line", { m in var x = m["motor"] as! [String: Any]; x["step_line"] = "GPIO17\u{1B}[2J"; m["motor"] = x }),
        ("overlong line name", "motor.dir_line", { m in var x = m["motor"] as! [String: Any]; x["dir_line"] = String(repeating: "G", count: 256); m["motor"] = x }),
        // Under three of pumpd's 1 s feeds, one late wake would reset the board.
        ("watchdog timeout too short", "watchdog_timeout_s", { $0["watchdog_timeout_s"] = 2 }),
        ("watchdog timeout too long", "watchdog_timeout_s", { $0["watchdog_timeout_s"] = 61 }),
        ("watchdog timeout without a device", "watchdog_timeout_s", { m in m["watchdog_timeout_s"] = 10; m["watchdog_device"] = nil }),
        ("unknown field", "colour", { $0["colour"] = "green" }),
        ("unknown nested field", "motor.gear_ratio", { m in var x = m["motor"] as! [String: Any]; x["gear_ratio"] = 3; m["motor"] = x }),
    ]

    @Test(arguments: broken.indices)
    func brokenBoardNamesTheField(index: Int) throws {
        let (name, path, breakIt) = Self.broken[index]
        var json = try boardJSON("rpi4-bench.json")
        breakIt(&json)
        try expectRefused(json, naming: path, name)
    }

    @Test func simulatedBoardHasNoLines() throws {
        var json = try boardJSON("simulated.json")
        json["alarm_output"] = ["line": "GPIO5", "active": "high"]
        json["gpio"] = ["chip_label": "x"]
        // Nor a watchdog: it would not be fed (outside attack: accepted silently).
        json["watchdog_device"] = "/dev/watchdog0"
        do {
            _ = try Board.parse(JSONSerialization.data(withJSONObject: json))
            Issue.record("accepted")
        } catch let e as ValidationErrors {
            #expect(Set(e.problems.map(\.path)).isSuperset(of: ["alarm_output", "gpio", "watchdog_device"]))
        }
    }

    @Test func notJSONAndMissingFile() {
        #expect(throws: ValidationErrors.self) { try Board.parse(Data("{".utf8)) }
        #expect(throws: ValidationErrors.self) { try Board.load(path: "/nonexistent/board.json") }
    }
}

/// Finding 17.A3 (outside attack of the rig path): Foundation's parser kept the first of two equal
/// keys where jq and Python keep the last, and read `null` as "absent" (the default). Expected
/// paths are written by hand from the edited text.
@Suite("Ambiguous file text")
struct AmbiguousFileTextTests {
    static let edits: [(name: String, replace: String, with: String, path: String)] = [
        ("polarity given twice", #""enable_active": "low","#, #""enable_active": "low", "enable_active": "high","#, "motor.enable_active"),
        ("the same key spelled with an escape", #""enable_active": "low","#, #""enable_active": "low", "\u0065nable_active": "high","#, "motor.enable_active"),
        ("a top-level key twice", #""watchdog_device": "/dev/watchdog""#, #""watchdog_device": "/dev/watchdog", "kind": "simulated""#, "kind"),
        ("a key twice inside an array element", #"{ "mv": 4500, "mmhg": 1034.2 }"#, #"{ "mv": 4500, "mmhg": 1034.2, "mmhg": 3 }"#, "pressure_sensor.calibration[1].mmhg"),
        ("null polarity", #""enable_active": "low","#, #""enable_active": null,"#, "motor.enable_active"),
        ("null section", #""bolus_button": { "line": "GPIO6", "active": "low" },"#, #""bolus_button": null,"#, "bolus_button"),
    ]

    @Test(arguments: edits.indices)
    func ambiguousBoardTextIsRefusedNamingTheField(index: Int) throws {
        let e = Self.edits[index]
        let text = try String(contentsOf: boardsFolder.appendingPathComponent("rpi4-bench.json"), encoding: .utf8)
        #expect(text.contains(e.replace), "\(e.name): the edit no longer applies")
        do {
            _ = try Board.parse(Data(text.replacingOccurrences(of: e.replace, with: e.with).utf8))
            Issue.record("\(e.name): accepted")
        } catch {
            #expect(error.problems.map(\.path) == [e.path], "\(e.name): \(error)")
        }
        // The unedited text still reads: the refusal is the edit's.
        _ = try Board.parse(Data(text.utf8))
    }

    /// Finding 17.B4: Foundation also reads UTF-16, which the scan (and most tools) read as bytes;
    /// an escaped duplicate polarity in a UTF-16 board file was read first-wins by pumpd. Only
    /// UTF-8 is read, by every reader (board, prescription, holder).
    @Test func textThatIsNotUTF8IsRefused() throws {
        let text = try String(contentsOf: boardsFolder.appendingPathComponent("rpi4-bench.json"), encoding: .utf8)
            .replacingOccurrences(of: #""enable_active": "low","#, with: #""enable_active": "high", "\u0065nable_active": "low","#)
        func refused(_ problems: [FieldError]?) -> Bool { problems?.contains { $0.message.hasPrefix("not UTF-8 text") } == true }
        for data in [text.data(using: .utf16)!, text.data(using: .utf16LittleEndian)!, text.data(using: .utf32)!] {
            var board: [FieldError]?, hold: [FieldError]?, therapy: [FieldError]?
            do { _ = try Board.parse(data) } catch { board = error.problems }
            do { _ = try Board.safeHold(data) } catch { hold = error.problems }
            do { _ = try Therapy.parse(data) } catch { therapy = error.problems }
            #expect(refused(board) && refused(hold) && refused(therapy), "\(String(describing: board)) \(String(describing: hold)) \(String(describing: therapy))")
        }
    }

    @Test func ambiguousPrescriptionTextIsRefused() {
        let duplicate = #"{"drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250, "daily_dose_ug": 2500}}"#
        let null = #"{"drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "reservoir": null}"#
        for (text, path) in [(duplicate, "prescription.daily_dose_ug"), (null, "reservoir")] {
            do {
                _ = try Therapy.parse(Data(text.utf8))
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.problems.map(\.path) == [path], "\(error)")
            }
        }
        // Keys equal only in a string value, and null inside a string, are not ambiguous.
        #expect(throws: Never.self) {
            try Therapy.parse(Data(#"{"name": "null \"name\": x", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}}"#.utf8))
        }
    }
}

/// Finding 17.A1: the fail-safe holder refused a board file pumpd refused, which is one way pumpd
/// fails for good, so on that rig only the pull resistor held the motor off.
@Suite("The holder's fields of a board file")
struct SafeHoldFieldsTests {
    func rpi4(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var json = try boardJSON("rpi4-bench.json")
        edit(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    @Test func aGoodFileGivesTheHoldersFields() throws {
        let h = try Board.safeHold(rpi4 { _ in })
        #expect(h.boardName == "rpi4-bench" && h.chipLabel == "pinctrl-bcm2711" && h.enableLine == "GPIO22" && h.enableActive == .low)
        #expect(h.alarmOutput == Board.Line(name: "GPIO5", active: .high) && h.watchdogDevice == "/dev/watchdog")
        #expect(h.watchdogTimeoutSeconds == nil && h.passedOver.isEmpty)
        #expect(throws: ValidationErrors.self) { try Board.safeHold(Data(contentsOf: boardsFolder.appendingPathComponent("simulated.json"))) }
    }

    @Test func problemsElsewhereArePassedOverAndNamed() throws {
        let data = try rpi4 { m in
            var p = m["pressure_sensor"] as! [String: Any]; p["channel"] = 9; m["pressure_sensor"] = p
            m["colour"] = "green"
        }
        #expect(throws: ValidationErrors.self) { try Board.parse(data) }   // pumpd refuses it
        let h = try Board.safeHold(data)
        #expect(h.enableLine == "GPIO22" && h.enableActive == .low && h.alarmOutput == Board.Line(name: "GPIO5", active: .high))
        #expect(Set(h.passedOver.map { $0.path }) == ["pressure_sensor.channel", "colour"])
        // A bad alarm section costs the alarm, not the hold.
        let noAlarm = try Board.safeHold(rpi4 { m in m["alarm_output"] = ["line": "GPIO5", "active": "loud"] })
        #expect(noAlarm.alarmOutput == nil && noAlarm.enableLine == "GPIO22")
        // 17.B6: an alarm on a line the file names for something else (the bolus button, wired
        // to ground) or with a doubtful field is not driven, and the reason is kept.
        let onButton = try Board.safeHold(rpi4 { m in m["alarm_output"] = ["line": "GPIO6", "active": "high"] })
        #expect(onButton.alarmOutput == nil && onButton.alarmNotUsed?.contains("GPIO6") == true && onButton.enableLine == "GPIO22")
        let boardText = try String(contentsOf: boardsFolder.appendingPathComponent("rpi4-bench.json"), encoding: .utf8)
        let doubtful = try Board.safeHold(Data(boardText.replacingOccurrences(of: #""alarm_output": { "line": "GPIO5", "active": "high" }"#,
                                                                             with: #""alarm_output": { "line": "GPIO5", "active": "high", "active": "low" }"#).utf8))
        #expect(doubtful.alarmOutput == nil && doubtful.alarmNotUsed?.contains("alarm_output.active") == true)
        // Given twice elsewhere: passed over too.
        let text = try String(contentsOf: boardsFolder.appendingPathComponent("rpi4-bench.json"), encoding: .utf8)
        let twice = try Board.safeHold(Data(text.replacingOccurrences(of: #""channel": 0,"#, with: #""channel": 0, "channel": 1,"#).utf8))
        #expect(twice.passedOver.map(\.path) == ["pressure_sensor.channel"] && twice.enableActive == .low)
    }

    /// Without a sure ENABLE line and polarity the holder cannot know the safe level: refused,
    /// naming the field.
    @Test(arguments: [
        ("motor.enable_active", #""enable_active": "low","#, #""enable_active": "lo","#),
        ("motor.enable_active", #""enable_active": "low","#, #""enable_active": "low", "enable_active": "high","#),
        ("motor.enable_active", #""enable_active": "low","#, #""enable_active": null,"#),
        ("motor.enable_line", #""enable_line": "GPIO22","#, #""enable_line": "22","#),
        ("gpio.chip_label", #""chip_label": "pinctrl-bcm2711""#, #""chip_label": """#),
        ("kind", #""kind": "linux""#, #""kind": "simulated""#),
        // 17.B7: a later schema may give enable_active another meaning.
        ("schema", #""schema": 1,"#, #""schema": 2,"#),
    ])
    func aFaultInTheHoldersOwnFieldsIsRefused(path: String, replace: String, with: String) throws {
        let text = try String(contentsOf: boardsFolder.appendingPathComponent("rpi4-bench.json"), encoding: .utf8)
        #expect(text.contains(replace))
        do {
            _ = try Board.safeHold(Data(text.replacingOccurrences(of: replace, with: with).utf8))
            Issue.record("accepted: \(with)")
        } catch {
            #expect(error.problems.contains { $0.path == path }, "\(error)")
        }
    }
}

@Suite("Prescription files")
struct TherapyFileTests {
    @Test func readsTheScenarioSections() throws {
        let t = try Therapy.parse(Data(#"{"name": "rx", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "reservoir": {"capacity_ml": 20, "fill_ml": 18}}"#.utf8))
        #expect(t.reservoirFill == .millilitres(18) && t.reservoirCapacity == .millilitres(20))
        #expect(t.prescription.basal == .continuous(.microgramsPerDay(250)))
    }

    @Test func refusesWithTheField() {
        do {
            _ = try Therapy.parse(Data(#"{"drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "continuous", "daily_dose_ug": 250}, "duration": "1d"}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.map(\.path) == ["duration"])
        }
    }
}
