import Testing
import PumpCore
import PumpHAL
@testable import PumpPlant
import PumpFakes

func seconds(_ s: Double) -> Int64 { Int64(s * 1e9) }

@Suite("Plant model")
struct PlantTests {
    func plant(_ edit: (inout PlantParameters) -> Void = { _ in }) -> Plant {
        var p = PlantParameters()
        edit(&p)
        let plant = Plant(parameters: p, seed: 42)
        plant.setEnabled(true)
        return plant
    }

    @Test func strokeIntoAnOpenLineDecaysWithTheTimeConstant() {
        let p = plant()
        p.stroke()
        #expect(abs(p.totals.pressureMMHg - 11.25) < 1e-9)              // 250 nL / 200 nL/mmHg
        p.advance(to: seconds(10))                                        // one τ = 0.05 × 200 = 10 s
        #expect(abs(p.totals.pressureMMHg - (10 + 1.25 * 0.367_879_441)) < 1e-6)
        p.advance(to: seconds(100))
        #expect(abs(p.totals.pressureMMHg - 10) < 1e-3)
        #expect(p.totals.delivered == Nanolitres(250))                    // it all went to the patient
    }

    @Test func fullOcclusionHoldsEveryStroke() {
        let p = plant()
        p.apply(.occlusion(fraction: 1))
        for _ in 0..<4 { p.stroke() }
        p.advance(to: seconds(3600))
        #expect(abs(p.totals.pressureMMHg - 15) < 1e-9)
        #expect(p.totals.delivered == .zero)
        p.apply(.clearOcclusion)                                           // the kink releases
        p.advance(to: seconds(3700))
        #expect(p.totals.delivered == Nanolitres(1000))
    }

    @Test func partialOcclusionSlowsTheDecay() {
        let p = plant()
        p.apply(.occlusion(fraction: 0.9))                                 // τ becomes 100 s
        p.stroke()
        p.advance(to: seconds(100))
        #expect(abs(p.totals.pressureMMHg - (10 + 1.25 * 0.367_879_441)) < 1e-6)
    }

    @Test func slipStallLeakAndDisabledDriver() async throws {
        let p = plant()
        p.apply(.encoderSlip(fraction: 0.2))
        for _ in 0..<10 { p.stroke() }
        #expect(p.feedback().encoderCounts == 32)                         // 80 % of 4 counts × 10
        #expect(p.totals.displaced == Nanolitres(2000))
        p.apply(.encoderSlip(fraction: 0))
        p.apply(.motorStall)
        p.stroke()
        #expect(p.feedback().encoderCounts == 32 && p.totals.displaced == Nanolitres(2000))
        p.apply(.clearMotorStall)
        p.apply(.leak(fraction: 0.5))
        p.stroke()
        #expect(p.totals.leaked == Nanolitres(125))
        p.setEnabled(false)                                                // ENABLE low: STEP ignored
        p.stroke()
        #expect(p.totals.strokesWhileDisabled == 1 && p.totals.displaced == Nanolitres(2250))
    }

    @Test func emptyReservoirPumpsNothing() {
        let p = plant { $0.reservoirFill = Nanolitres(600) }
        for _ in 0..<4 { p.stroke() }
        #expect(p.totals.displaced == Nanolitres(600))
        #expect(p.totals.reservoir == .zero)
    }

    @Test func coughIsASpikeThatDecays() {
        let p = plant()
        p.apply(.cough(mmHg: 40, over: Nanoseconds(seconds(1))))
        p.advance(to: seconds(1))
        let peak = p.totals.pressureMMHg
        #expect(abs(peak - (10 + 40 * (1 - 0.904_837_418))) < 1e-6)      // 40 × (1 − e^−0.1)
        p.advance(to: seconds(61))
        #expect(abs(p.totals.pressureMMHg - 10) < 0.01)
    }

    @Test func sensorFaultsAndNoise() throws {
        let p = plant { $0.pressureNoiseMMHg = 0.3 }
        var readings: [Double] = []
        for i in 0..<2000 { p.advance(to: seconds(Double(i) * 0.25)); readings.append(try p.readPressure().mmHg) }
        let mean = readings.reduce(0, +) / Double(readings.count)
        let sd = (readings.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(readings.count)).squareRoot()
        #expect(abs(mean - 10) < 0.05)
        #expect(abs(sd - (0.09 + 0.0025).squareRoot()) < 0.03)           // transducer noise plus ADC floor
        p.apply(.pressureSensorFault(.nack))
        #expect(throws: HALError(.noAcknowledge, errno: 121, "pressure ADC did not acknowledge")) { try p.readPressure() }
        p.apply(.pressureSensorFault(.stuck))
        let a = try p.readPressure(), b = try p.readPressure()
        #expect(a == b)
        p.apply(.pressureSensorFault(.noise))
        var wild = 0
        for _ in 0..<100 where abs(try p.readPressure().mmHg - 10) > 5 { wild += 1 }
        #expect(wild > 50)
    }

    @Test func batteryDrainsAndJumps() throws {
        let p = plant()
        p.advance(to: seconds(86_400 * 10))
        let r = try p.readBattery()
        #expect(abs(r.stateOfCharge.percent - 99.7) < 0.05)
        p.apply(.battery(percent: 4))
        #expect(try p.readBattery().stateOfCharge == PerMille(percent: 4))
        p.apply(.gaugeFailing)
        #expect(throws: HALError.self) { try p.readBattery() }
    }

    @Test func sameSeedSameReadings() throws {
        func run() throws -> [CentiMMHg] {
            let p = Plant(parameters: PlantParameters(), seed: 9)
            return try (0..<50).map { i in p.advance(to: seconds(Double(i))); return try p.readPressure() }
        }
        #expect(try run() == run())
    }
}

@Suite("Ordered-expectation bus fakes")
struct ExpectationBusTests {
    @Test func matchingTransactionsPass() async throws {
        let bus = ExpectationI2CBus([
            .writeWord(address: 0x48, register: 0x01, value: 0x83C3),
            .readWord(address: 0x48, register: 0x00, result: .success(0x3412)),
            .readByte(address: 0x36, register: 0x04, result: .success(0x55)),
        ])
        try await bus.writeWord(address: 0x48, register: 0x01, value: 0x83C3)
        #expect(try await bus.readWord(address: 0x48, register: 0x00) == 0x3412)
        #expect(try await bus.readByte(address: 0x36, register: 0x04) == 0x55)
        try bus.done()
    }

    @Test func wrongRegisterValueOrOrderFails() async {
        let bus = ExpectationI2CBus([.writeByte(address: 0x48, register: 0x01, value: 0x10)])
        await #expect(throws: HALError.self) { try await bus.writeByte(address: 0x48, register: 0x01, value: 0x11) }
        #expect(throws: ExpectationFailure.self) { try bus.done() }
    }

    @Test func leftoverExpectationFailsDone() async throws {
        let bus = ExpectationI2CBus([.readWord(address: 0x36, register: 0x02, result: .success(1)),
                                     .readWord(address: 0x36, register: 0x04, result: .success(2))])
        _ = try await bus.readWord(address: 0x36, register: 0x02)
        do { try bus.done(); Issue.record("done() passed with an expectation left") } catch {
            #expect(error.messages.count == 1 && error.messages[0].contains("never happened"))
        }
    }

    @Test func scriptedErrorsCarryKindAndErrno() async {
        let nack = HALError(.noAcknowledge, errno: 121)
        let bus = ExpectationI2CBus([.readByte(address: 0x48, register: 0, result: .failure(nack))])
        await #expect(throws: nack) { try await bus.readByte(address: 0x48, register: 0) }
        #expect(throws: Never.self) { try bus.done() }
    }

    @Test func outputLineSequence() async throws {
        let enable = ExpectationOutputLine("EN", [.set(false), .set(true), .set(false)])
        try await enable.set(false)
        try await enable.set(true)
        await #expect(throws: HALError.self) { try await enable.set(true) }
        #expect(throws: ExpectationFailure.self) { try enable.done() }
    }

    @Test func scriptedInputLine() async throws {
        let line = ScriptedInputLine([.level(true), .edge(.falling), .edge(nil)])
        #expect(try await line.get())
        #expect(try await line.waitForEdge(timeoutNanoseconds: 1) == .falling)
        #expect(try await line.waitForEdge(timeoutNanoseconds: 1) == nil)
        #expect(line.remaining == 0)
    }
}
