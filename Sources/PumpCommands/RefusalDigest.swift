import Controller
import PumpCore

/// Keeps a flood of refused requests out of the log and the journal while keeping its shape.
/// In each interval (from its first refusal, `interval` long) the first `recordedPerInterval`
/// refusals are recorded one by one, so a clinician's one mistaken request shows its full reason;
/// the rest are only counted, by the field their reason names, and the interval closes with one
/// summary (`RemoteRefusalSummary`). A sustained flood therefore writes at most
/// `recordedPerInterval + 1` events per interval, whatever its rate (docs/commands.md, "Floods").
/// Accepted requests are never counted away: they need a key.
public struct RefusalDigest: Sendable {
    public static let interval = Nanoseconds.seconds(60)
    public static let recordedPerInterval = 10
    /// Field names kept apart in a summary; the rest are counted under `otherField` (field names
    /// can quote a client's bytes, so their variety is the client's to choose).
    public static let fieldsPerSummary = 16
    public static let otherField = "other"
    /// Longest field name kept (longer ones are cut, then escaped).
    static let fieldLength = 48

    public enum Verdict: Equatable, Sendable {
        /// Record this refusal as its own event.
        case record
        /// Counted into the interval's summary.
        case counted
    }

    private var start: MonotonicInstant?
    private var recorded = 0
    private var counted: [String: Int] = [:]

    public init() {}

    /// The summary of an interval that has ended by `now` (or, `final`, of the open one: pumpd is
    /// stopping), if any refusal in it was only counted.
    public mutating func close(at now: MonotonicInstant, final: Bool = false) -> RemoteRefusalSummary? {
        guard let s = start, final || now - s >= Self.interval else { return nil }
        defer { start = nil; recorded = 0; counted = [:] }
        guard !counted.isEmpty else { return nil }
        let byField = counted.map { RemoteRefusalSummary.FieldCount(field: $0.key, count: $0.value) }
            .sorted { ($0.count, $1.field) > ($1.count, $0.field) }
        return RemoteRefusalSummary(interval: now - s, count: counted.values.reduce(0, +), byField: byField)
    }

    /// A refusal whose reason names `field`: whether to record it; first the summary of the
    /// interval it ends, if one ended.
    public mutating func refused(field: String, at now: MonotonicInstant) -> (closed: RemoteRefusalSummary?, verdict: Verdict) {
        let closed = close(at: now)
        if start == nil { start = now }
        if recorded < Self.recordedPerInterval {
            recorded += 1
            return (closed, .record)
        }
        let name = Printable.escaped(String(field.prefix(Self.fieldLength)))
        let key = counted[name] != nil || counted.count < Self.fieldsPerSummary ? name : Self.otherField
        counted[key, default: 0] += 1
        return (closed, .counted)
    }
}
