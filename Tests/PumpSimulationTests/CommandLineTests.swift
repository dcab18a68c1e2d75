import Foundation
import Testing

/// Runs the built `pumpctl` as a user would, to check exit statuses and output.
struct CLI {
    static var binary: URL {
        // The test bundle sits next to the products of the same build.
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpctl")
    }

    static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

@Suite("pumpctl", .enabled(if: FileManager.default.isExecutableFile(atPath: CLI.binary.path)))
struct CommandLineTests {
    /// Finding 17.B5: `pumpctl program FILE` read the file with no ambiguity check: a duplicate
    /// daily dose was previewed and would be programmed with its first value (pumpd's own
    /// prescription reader refuses it), a null as "absent". Refused before anything is sent.
    @Test func aProgramFileIsReadOneWayOnly() throws {
        let folder = FileManager.default.temporaryDirectory
        let drug = #""drug": {"name": "baclofen", "concentration_ug_per_ml": 500}"#
        let cases = [(#"{\#(drug), "prescription": {"mode": "continuous", "daily_dose_ug": 300, "daily_dose_ug": 350}}"#, "prescription.daily_dose_ug: is given twice"),
                     (#"{\#(drug), "prescription": {"mode": "continuous", "daily_dose_ug": 300, "patient_bolus": null}}"#, "prescription.patient_bolus: is null")]
        for (text, message) in cases {
            let file = folder.appendingPathComponent("program-\(UUID().uuidString).json")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let r = try CLI.run(["program", file.path, "--socket", "/nonexistent/pumpd.sock", "--key", "/nonexistent/clinician.key", "--yes"])
            #expect(r.status == 64 && r.err.contains(message) && !r.err.contains("connect"), "\(r.err)")
        }
    }

    @Test func invalidScenarioExitsNonZeroWithOneLineNamingTheField() throws {
        let path = try CLI.file(#"{"duration": "1d", "drug": {"name": "baclofen", "concentration_ug_per_ml": 500}, "prescription": {"mode": "flex", "steps": [{"start": "00:00", "daily_dose_ug": 200}, {"start": "25:00", "daily_dose_ug": 200}]}}"#)
        let r = try CLI.run(["simulate", path])
        #expect(r.status != 0)
        #expect(r.err.split(separator: "\n").count == 1)
        #expect(r.err.contains("prescription.steps[1].start"))
        #expect(r.out.isEmpty)
    }

    /// Every invalid scenario of the parser tests, through the binary: non-zero, one line, the field.
    @Test(arguments: ScenarioTests.invalid.indices)
    func everyInvalidScenarioExitsNonZero(index: Int) throws {
        let (json, path) = ScenarioTests.invalid[index]
        let r = try CLI.run(["simulate", try CLI.file(json)])
        #expect(r.status == 2)
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains(path), "\(r.err)")
        #expect(r.out.isEmpty)
    }

    @Test func missingFileIsAnError() throws {
        let r = try CLI.run(["simulate", "/nonexistent/scenario.json"])
        #expect(r.status != 0 && r.err.contains("/nonexistent/scenario.json"))
    }

    @Test func runsAScenarioAndWritesTheReport() throws {
        let path = try CLI.file(ScenarioTests.valid)
        let report = path + ".report.json"
        let r = try CLI.run(["simulate", path, "--report", report, "--seed", "3"])
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        #expect(json["seed"] as? Int == 3 && json["final_state"] as? String == "delivering")
        #expect(r.out.contains("Final:     delivering"))
    }

    @Test func noScenarioRunsTheDemo() throws {
        let r = try CLI.run(["simulate"])
        #expect(r.status == 0)
        #expect(r.out.contains("kink on day 3") && r.out.contains("occlusion") && r.out.contains("Final:     halted"))
    }

    @Test func faultTablePrintsAndTheSafetyPageShowsItUnchanged() throws {
        let r = try CLI.run(["faults"])
        #expect(r.status == 0 && r.out.contains("| `occlusion` | stop | high | clinician |"))
        let page = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/safety.md"), encoding: .utf8)
        for line in r.out.split(separator: "\n") {
            #expect(page.contains(line), "docs/safety.md lacks: \(line)")
        }
    }
}
