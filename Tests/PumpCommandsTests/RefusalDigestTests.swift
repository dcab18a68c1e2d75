import Controller
import PumpCore
import Testing
@testable import PumpCommands

/// Floods of refused requests (issue 18, part 5): counted, not recorded one by one.
@Suite("Refusal digest")
struct RefusalDigestTests {
    func at(_ s: Double) -> MonotonicInstant { MonotonicInstant(nanoseconds: Int64(s * 1e9)) }
    func junk(_ field: String, _ reason: String = "not a JSON object") -> FieldError { FieldError(field, reason) }

    /// 1 000 refusals/s for ten minutes (virtual time): 10 recorded one by one and one summary per
    /// minute, 110 events in all, and every refusal accounted for in the summaries' counts.
    @Test func aTenMinuteFloodWritesElevenEventsAMinute() {
        var d = RefusalDigest()
        var recorded = 0, summaries: [RemoteRefusalSummary] = []
        for i in 0..<600_000 {
            let (closed, verdict) = d.refused(junk(i % 3 == 0 ? "frame" : "envelope.mac"), signed: false, at: at(Double(i) / 1000))
            summaries += closed
            if verdict == .record { recorded += 1 }
        }
        summaries += d.close(at: at(600), final: true)
        #expect(recorded == 10 * 10)
        #expect(summaries.count == 10 && summaries.allSatisfy { !$0.signed })
        #expect(summaries.map(\.count).reduce(0, +) + recorded == 600_000)
        // Each minute: 60 000 refusals, 10 recorded; of the 59 990 counted, one in three was "frame".
        let first = summaries[0]
        #expect(first.count == 59_990 && first.byField.map(\.field) == ["envelope.mac", "frame"], "\(first)")
        #expect(first.byField.first { $0.field == "frame" }?.count == 20_000 - 4)   // 20 000 "frame", 4 of them among the first 10
    }

    /// A lone mistake is recorded in full and closes with no summary (nothing was only counted).
    @Test func aFewRefusalsAreAllRecorded() {
        var d = RefusalDigest()
        for i in 0..<10 { #expect(d.refused(junk("body.counter"), signed: true, at: at(Double(i))).verdict == .record) }
        #expect(d.close(at: at(70)).isEmpty)
        #expect(d.refused(junk("body.counter"), signed: true, at: at(71)).verdict == .record)   // a new interval
    }

    /// From the outside attack: during a junk flood a replayed or expired signed request showed up
    /// only as a count. Signed refusals have their own share: the first 10 of a minute are recorded
    /// whatever the junk does.
    @Test func junkCannotCrowdSignedRefusalsOutOfTheRecord() {
        var d = RefusalDigest()
        for i in 0..<5_000 { _ = d.refused(junk("envelope"), signed: false, at: at(Double(i) / 1000)) }
        for i in 0..<10 { #expect(d.refused(junk("body.counter", "replayed"), signed: true, at: at(5 + Double(i))).verdict == .record) }
        #expect(d.refused(junk("body.counter", "replayed"), signed: true, at: at(16)).verdict == .counted)
        let closed = d.close(at: at(61))
        #expect(closed.map(\.signed) == [false] && closed.first?.count == 4_990, "\(closed)")
        #expect(d.close(at: at(70)).map(\.count) == [1])
    }

    /// The second attack: replaying one captured request 15 times used up the signed share, and
    /// a clinician's own replay and a patient's out-of-role request were then only counted. The
    /// same bytes again are counted, not recorded.
    @Test func replayingOneCaptureDoesNotUseUpTheSignedShare() {
        var d = RefusalDigest()
        #expect(d.refused(junk("body.counter", "replayed"), signed: true, request: 42, at: at(0)).verdict == .record)
        for i in 1...15 { #expect(d.refused(junk("body.counter", "replayed"), signed: true, request: 42, at: at(Double(i))).verdict == .counted) }
        for i in 0..<9 { #expect(d.refused(junk("body.command.type", "out of role"), signed: true, request: 100 + i, at: at(20)).verdict == .record) }
        #expect(d.close(at: at(61)).first?.count == 15)
    }

    /// Field names are the client's to choose where it names an unknown key: those count under
    /// their parent, so minted names cannot push real reasons into "other". Other names: at most
    /// 16 kept apart, the rest under "other", each cut to 48 characters and escaped.
    @Test func fieldNamesFromTheClientAreBoundedAndEscaped() {
        var d = RefusalDigest()
        for i in 0..<10 { _ = d.refused(junk("x"), signed: false, at: at(Double(i) / 100)) }
        for i in 0..<1000 { _ = d.refused(junk("envelope.k\(i)\n" + String(repeating: "y", count: 100), "unknown field"), signed: false, at: at(1 + Double(i) / 100)) }
        _ = d.refused(junk("envelope"), signed: false, at: at(20))
        let minted = d.close(at: at(61))
        #expect(minted.first?.byField == [.init(field: "envelope.(unknown field)", count: 1000), .init(field: "envelope", count: 1)], "\(minted)")
        for i in 0..<10 { _ = d.refused(junk("x"), signed: false, at: at(100 + Double(i) / 100)) }
        for i in 0..<1000 { _ = d.refused(junk("f\(i)\n" + String(repeating: "y", count: 100)), signed: false, at: at(101 + Double(i) / 100)) }
        let s = d.close(at: at(161)).first!
        #expect(s.count == 1000 && s.byField.count == 17)
        #expect(s.byField.first == .init(field: "other", count: 1000 - 16))
        #expect(s.byField.allSatisfy { !$0.field.contains("\n") && $0.field.count <= 48 + 5 })
    }
}
