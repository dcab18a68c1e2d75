import Foundation
import Testing
import PumpCore
import PumpPlant
import PumpSimulation

/// A scenario file's hazard event and `Fault`'s JSON are one format: what the Codable form writes,
/// the scenario parser reads back as the same fault (and the swarm relies on it).
@Suite("Fault wire format")
struct FaultWireTests {
    static let scenarioFaults: [Fault] = [
        .occlusion(fraction: 0.75), .clearOcclusion, .motorStall, .encoderSlip(fraction: 0.3), .leak(fraction: 0.1),
        .pressureSensorFault(.nack), .clearSensorFault, .battery(percent: 4.5), .cough(mmHg: 12.5, over: Nanoseconds(2_345_678_901)),
    ]

    @Test func theScenarioParserReadsWhatFaultWrites() throws {
        for fault in Self.scenarioFaults {
            var event = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(fault)) as? [String: Any])
            event["at"] = 60
            let s = try scenario(baclofen(rateMlPerDay: 0.5, hours: 1, events: [event]))
            #expect(s.events.map(\.kind) == [.fault(fault)], "\(fault)")
        }
    }

    /// The test-only faults are not scenario events: a scenario file still refuses them by name.
    @Test func testOnlyFaultsAreNotScenarioEvents() throws {
        let event: [String: Any] = ["at": 60, "type": "driver_fault"]
        #expect(throws: (any Error).self) { try scenario(baclofen(rateMlPerDay: 0.5, hours: 1, events: [event])) }
    }
}
