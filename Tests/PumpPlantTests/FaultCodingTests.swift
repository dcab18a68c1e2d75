import Foundation
import Testing
import PumpCore
import PumpHAL
import PumpPlant

/// `Fault`'s JSON form is the scenario file's event without `at` (docs/scenarios.md): checked
/// against JSON written by hand, its defaults and its refusals.
@Suite("Fault JSON")
struct FaultCodingTests {
    func decode(_ json: String) throws -> Fault { try JSONDecoder().decode(Fault.self, from: Data(json.utf8)) }

    @Test func handWrittenJSONDecodesToTheFault() throws {
        let cases: [(String, Fault)] = [
            (#"{"type":"occlusion","fraction":0.5}"#, .occlusion(fraction: 0.5)),
            (#"{"type":"occlusion"}"#, .occlusion(fraction: 1)),                              // the default: fully
            (#"{"type":"clear_occlusion"}"#, .clearOcclusion),
            (#"{"type":"motor_stall"}"#, .motorStall),
            (#"{"type":"encoder_slip","fraction":0.2}"#, .encoderSlip(fraction: 0.2)),
            (#"{"type":"leak","fraction":0.25}"#, .leak(fraction: 0.25)),
            (#"{"type":"pressure_sensor_fault","mode":"stuck"}"#, .pressureSensorFault(.stuck)),
            (#"{"type":"clear_sensor_fault"}"#, .clearSensorFault),
            (#"{"type":"battery","percent":14}"#, .battery(percent: 14)),
            (#"{"type":"cough","mmhg":60,"over":1.5}"#, .cough(mmHg: 60, over: Nanoseconds(1_500_000_000))),
            (#"{"type":"cough"}"#, .cough(mmHg: 40, over: Nanoseconds(1_000_000_000))),      // 40 mmHg for 1 s
            (#"{"type":"driver_fault"}"#, .driverFault),
            (#"{"type":"dropped_encoder_edges","count":2}"#, .droppedEncoderEdges(count: 2)),
            (#"{"type":"gauge_failing"}"#, .gaugeFailing),
            (#"{"type":"motor_command_failure","kind":"no_acknowledge","errno":121}"#, .motorCommandFailure(.noAcknowledge, errno: 121)),
        ]
        for (json, fault) in cases {
            #expect(try decode(json) == fault, "\(json)")
            // And back: the same fault, under the same type name.
            let again = try JSONEncoder().encode(fault)
            #expect(try JSONDecoder().decode(Fault.self, from: again) == fault, "\(json)")
            #expect(String(decoding: again, as: UTF8.self).contains(#""type":"\#(json.split(separator: "\"")[3])""#))
        }
    }

    @Test func encodesTheScenarioFieldsInSeconds() throws {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        let json = String(decoding: try e.encode(Fault.cough(mmHg: 40, over: Nanoseconds(2_500_000_000))), as: UTF8.self)
        #expect(json == #"{"mmhg":40,"over":2.5,"type":"cough"}"#)
    }

    @Test func outOfRangeValuesAreRefusedNamingTheirKey() {
        for (json, key) in [(#"{"type":"occlusion","fraction":1.5}"#, "fraction"), (#"{"type":"encoder_slip"}"#, "fraction"),
                            (#"{"type":"battery","percent":101}"#, "percent"), (#"{"type":"cough","over":4}"#, "over"),
                            (#"{"type":"cough","over":0}"#, "over"), (#"{"type":"cough","mmhg":151}"#, "mmhg"),
                            (#"{"type":"kink"}"#, "type")] {
            do {
                _ = try decode(json)
                Issue.record("\(json) decoded")
            } catch {
                #expect("\(error)".contains(key), "\(json): \(error)")
            }
        }
    }

    /// `failNextCommand` was the fake's own door; now the failure is a fault like the others.
    @Test func aMotorCommandFailureFailsTheNextCommandOnce() async throws {
        let plant = Plant(parameters: PlantParameters(), seed: 1)
        let motor = FakeMotorDriver(plant: plant)
        plant.apply(.motorCommandFailure(.timeout, errno: nil))
        await #expect(throws: HALError(.timeout)) { try await motor.enable() }
        try await motor.enable()
        #expect(motor.isEnabled)
    }
}
