import Foundation
import PumpCore
import PumpSimulation
import Testing

/// What Scripts/bench builds on: the trace export, the conventional pump after our halt, and the
/// plant's stroke noise.
@Suite("Bench mode and traces")
struct BenchModeTests {
    @Test func aConventionalPumpContinuesAfterOurHaltUntilTheFixedThreshold() async throws {
        var options = SimulationOptions()
        options.conventionalAfterHalt = true
        let s = try scenario(baclofen(rateMlPerDay: 5, hours: 14, events: [["at": "12h", "type": "occlusion"]]))
        let r = await Simulator.run(s, options: options).report
        let f = try #require(r.faults.first)
        #expect(f.alarm == "occlusion" && f.strokes_since_fault <= 4)
        // Default plant: 1.25 mmHg per blocked stroke over a ~10 mmHg line: 80 strokes to +100 mmHg.
        let fixed = try #require(r.baseline.strokes_since_fault)
        #expect((78...81).contains(fixed), "\(fixed)")
        let at = try #require(r.baseline.alarm_at_s)
        #expect(at > f.detected_at_s! && r.baseline.alarm_count == 1)
        // The controller itself stayed halted: it commanded nothing after its alarm.
        #expect(r.final_state == "halted")
        // Without bench mode the pump stops at our alarm and the threshold is never reached.
        let plain = await Simulator.run(s).report
        #expect(plain.baseline.alarm_at_s == nil && plain.baseline.strokes_since_fault == nil)
    }

    @Test func traceRowsFollowTheWindowAndPeriod() async throws {
        var options = SimulationOptions()
        options.traceFrom = .seconds(600)
        options.traceTo = .seconds(1200)
        options.traceEvery = .seconds(30)
        var rows: [TraceRow] = []
        let s = try scenario(baclofen(rateMlPerDay: 5, hours: 1))
        let result = await Simulator.run(s, options: options, trace: { rows.append($0) })
        #expect(rows.count == 21 && rows.first?.at == .seconds(600) && rows.last?.at == .seconds(1200))
        #expect(rows.allSatisfy { $0.pressure != nil && $0.state == .delivering })
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $1.delivered >= $0.delivered && $1.plantStrokes >= $0.plantStrokes })
        #expect(rows.last!.commandedStrokes <= result.controller.scheduler.commandedStrokes)
    }

    @Test func strokeNoiseChangesWhatIsDeliveredNotWhatIsCommanded() async throws {
        let quiet = try await run(baclofen(rateMlPerDay: 5, hours: 6))
        let noisy = try await run(baclofen(rateMlPerDay: 5, hours: 6, plant: ["stroke_noise_fraction": 0.05]))
        #expect(noisy.commanded_ul == quiet.commanded_ul)
        #expect(noisy.delivered_ul != quiet.delivered_ul)
        // 5 % per stroke over ~290 strokes: the total stays within a few percent.
        #expect(abs(noisy.delivered_ul / quiet.delivered_ul - 1) < 0.02)
        #expect(noisy.alarms.isEmpty)
    }
}
