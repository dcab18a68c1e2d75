import Testing
import PumpHAL
import PumpFakes

/// The raw transfers of the expectation bus: in one order with the SMBus calls, byte-exact.
@Suite("Ordered-expectation raw I²C transfers")
struct RawTransferFakeTests {
    @Test func writeReadAndWriteReadInOrderWithSMBus() async throws {
        let bus = ExpectationI2CBus([
            .write(address: 0x28, bytes: [0xAA, 0x00, 0x00]),
            .readWord(address: 0x36, register: 0x02, result: .success(0x00C3)),
            .read(address: 0x28, count: 2, result: .success([0x40, 0x12])),
            .writeRead(address: 0x50, bytes: [0x00, 0x10], count: 3, result: .success([1, 2, 3])),
        ])
        try await bus.write(address: 0x28, bytes: [0xAA, 0x00, 0x00])
        #expect(try await bus.readWord(address: 0x36, register: 0x02) == 0x00C3)
        #expect(try await bus.read(address: 0x28, count: 2) == [0x40, 0x12])
        #expect(try await bus.writeRead(address: 0x50, bytes: [0x00, 0x10], count: 3) == [1, 2, 3])
        try bus.done()
    }

    @Test func oneWrongByteFailsTheCallAndDone() async {
        let bus = ExpectationI2CBus([.write(address: 0x28, bytes: [0xAA, 0x00, 0x00])])
        await #expect(throws: HALError.self) { try await bus.write(address: 0x28, bytes: [0xAA, 0x00, 0x01]) }
        do { try bus.done(); Issue.record("done() passed") } catch {
            #expect(error.messages == ["unexpected write(addr 0x28, [0xaa 0x0 0x1]): expected write(addr 0x28, [0xaa 0x0 0x0])"])
        }
    }

    /// A read of another length, or a script answering the wrong number of bytes, is a failure,
    /// never bytes passed on.
    @Test func lengthsMustMatch() async {
        let other = ExpectationI2CBus([.read(address: 0x28, count: 7, result: .success([0, 0, 0, 0, 0, 0, 0]))])
        await #expect(throws: HALError.self) { try await other.read(address: 0x28, count: 1) }
        #expect(throws: ExpectationFailure.self) { try other.done() }
        let short = ExpectationI2CBus([.writeRead(address: 0x28, bytes: [1], count: 2, result: .success([9]))])
        await #expect(throws: HALError.self) { try await short.writeRead(address: 0x28, bytes: [1], count: 2) }
        do { try short.done(); Issue.record("done() passed") } catch {
            #expect(error.messages.count == 1 && error.messages[0].contains("answers 1 bytes"), "\(error)")
        }
    }

    @Test func scriptedErrorsAndLeftovers() async throws {
        let nack = HALError(.noAcknowledge, errno: 121)
        let bus = ExpectationI2CBus([.read(address: 0x28, count: 1, result: .failure(nack)), .write(address: 0x28, bytes: [1])])
        await #expect(throws: nack) { try await bus.read(address: 0x28, count: 1) }
        do { try bus.done(); Issue.record("done() passed with an expectation left") } catch {
            #expect(error.messages == ["expected but never happened: write(addr 0x28, [0x1])"])
        }
    }
}
