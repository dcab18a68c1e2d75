import Controller
import PumpCore
import PumpFakes
import PumpPlant
import PumpSync
import Testing

/// A journal on virtual time whose storage stalls: an intent asked for during a stall becomes
/// durable only when the stall ends. Each time the dose loop has to wait for an intent, a stroke
/// would have been held back; the fake counts those waits.
final class StallingJournal: DoseJournal, Sendable {
    struct State {
        var now: Int64 = 0
        var requests: [(through: Int64, durableAt: Int64)] = []
        var stalls: [Range<Int64>] = []
        var waits: [Int64] = []
    }
    let state = Locked(State())

    var durableIntentThrough: Int64 {
        state.withLock { s in s.requests.filter { $0.durableAt <= s.now }.map(\.through).max() ?? 0 }
    }
    func requestIntent(throughStroke: Int64, utcNanoseconds: Int64) {
        state.withLock { s in
            let end = s.stalls.first { $0.contains(s.now) }?.upperBound ?? s.now
            s.requests.append((throughStroke, end))
        }
    }
    func awaitIntent(throughStroke: Int64) async -> Bool {
        state.withLock { $0.waits.append($0.now) }
        return true
    }
    func record(_ checkpoint: JournalCheckpoint, events: [JournalEvent]) {}
    func recordProgram(_ program: ProgramRecord) -> Bool { true }
    /// A stall is slow storage, not a failing one.
    var failure: String? { nil }
    func awaitCommit() async -> Bool { true }
}

@Suite("Journal stalls")
struct JournalStallTests {
    /// 24 mL/day (a stroke every 0.9 s) with a 1 mL/h bolus on top (2 mL/h in all, the motor's maximum), 2 s storage stalls every
    /// 30 s: with intents 5 s ahead no stroke waits after the first; the stroke count matches a
    /// run without any journal, stroke for stroke.
    @Test func twoSecondStallsNeverHoldAStrokeBack() async throws {
        let (withStalls, waits) = try await run(lookahead: SafetyLimits().journalLookahead, stalls: true)
        let (reference, _) = try await run(lookahead: nil, stalls: false)
        #expect(waits.count == 1, "only the very first intent is waited for: \(waits)")
        #expect(withStalls == reference)
    }

    /// Without lookahead every stall holds strokes back (what the lookahead is for).
    @Test func withoutLookaheadStallsHoldStrokesBack() async throws {
        let (_, waits) = try await run(lookahead: .zero, stalls: true)
        #expect(waits.count > 20)
    }

    /// Returns the stroke times and the instants the dose loop waited for the journal.
    private func run(lookahead: Nanoseconds?, stalls: Bool) async throws -> ([Int64], [Int64]) {
        let plant = Plant(parameters: PlantParameters(), seed: 9)
        var limits = SafetyLimits()
        if let lookahead { limits.journalLookahead = lookahead }
        let drug = Drug(limits: DrugLibrary.baclofen, concentration: .microgramsPerMillilitre(50))
        let rx = Prescription(drug: drug, basal: .continuous(.microgramsPerDay(1200)), patientBolus: nil, dailyCap: DrugLibrary.baclofen.maxDailyDose)
        let config = ControllerConfiguration(prescription: rx, strokeVolume: Nanolitres(250), reservoirCapacity: .millilitres(60),
                                             reservoirFill: .millilitres(60), limits: limits)
        let journal = StallingJournal()
        if stalls { journal.state.withLock { $0.stalls = stride(from: Int64(10), to: 600, by: 30).map { ($0 * 1_000_000_000)..<(($0 + 2) * 1_000_000_000) } } }
        let controller = PumpController(configuration: config, motor: FakeMotorDriver(plant: plant), pressure: FakePressureSensor(plant: plant),
                                        battery: FakeBatteryGauge(plant: plant), now: .zero, utcNanoseconds: 0,
                                        journal: lookahead == nil ? nil : journal)
        let bolusAt: Int64 = 120_000_000_000
        var t: Int64 = 0, strokes: [Int64] = [], last: Int64 = 0, bolusGiven = false
        while t < 600_000_000_000 {
            journal.state.withLock { $0.now = t }
            plant.advance(to: t)
            if t == bolusAt, !bolusGiven {
                bolusGiven = true
                let o = await controller.handle(.clinicianBolus(dose: .micrograms(25), duration: .minutes(30)), now: MonotonicInstant(nanoseconds: t), utcNanoseconds: t)
                #expect(o.accepted, "\(o.reason ?? "")")
            }
            let next = await controller.doseLoopStep(now: MonotonicInstant(nanoseconds: t), utcNanoseconds: t).nanoseconds
            let c = controller.snapshot().scheduler.commandedStrokes
            if c > last { strokes += Array(repeating: t, count: Int(c - last)); last = c }
            t = max(next, t + 1)
            if !bolusGiven, t > bolusAt { t = bolusAt }
        }
        return (strokes, journal.state.withLock { $0.waits })
    }
}
