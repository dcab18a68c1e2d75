import Controller
import PumpCore

/// Keeps a flood of refused requests out of the log and the journal while keeping its shape.
/// In each interval (from its first refusal, `interval` long) the first `recordedPerInterval`
/// refusals are recorded one by one, so a clinician's one mistaken request shows its full reason;
/// the rest are only counted, by the field their reason names, and the interval closes with one
/// summary (`RemoteRefusalSummary`). Signed refusals (the signature matched: a replay, an expired
/// or out-of-role request) and unsigned ones (junk) have a share each, so junk cannot crowd a
/// signed refusal out of the record. A sustained flood therefore writes at most
/// `2 × (recordedPerInterval + 1)` events per interval, whatever its rate (docs/commands.md,
/// "Floods"). Accepted requests are never counted away: they need a key.
public struct RefusalDigest: Sendable {
    public static let interval = Nanoseconds.seconds(60)
    public static let recordedPerInterval = 10
    /// Field names kept apart in a summary; the rest are counted under `otherField`.
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

    /// One kind of refusal's interval.
    private struct Share: Sendable {
        var start: MonotonicInstant?
        var recorded = 0
        var counted: [String: Int] = [:]
        /// The requests recorded in this interval (by their bytes' hash): the same bytes again (a
        /// replayed capture) are counted, not recorded, so replaying one captured request cannot
        /// use up the signed share (an outside attack did, 15 replays).
        var seen: Set<Int> = []
    }
    private var unsigned = Share()
    private var signed = Share()

    public init() {}

    /// The summaries of intervals that have ended by `now` (or, `final`, of the open ones: pumpd
    /// is stopping), where any refusal in them was only counted.
    public mutating func close(at now: MonotonicInstant, final: Bool = false) -> [RemoteRefusalSummary] {
        [Self.close(&unsigned, signed: false, at: now, final: final), Self.close(&signed, signed: true, at: now, final: final)].compactMap { $0 }
    }

    private static func close(_ share: inout Share, signed: Bool, at now: MonotonicInstant, final: Bool) -> RemoteRefusalSummary? {
        guard let s = share.start, final || now - s >= interval else { return nil }
        defer { share = Share() }
        guard !share.counted.isEmpty else { return nil }
        let byField = share.counted.map { RemoteRefusalSummary.FieldCount(field: $0.key, count: $0.value) }
            .sorted { ($0.count, $1.field) > ($1.count, $0.field) }
        return RemoteRefusalSummary(interval: now - s, count: share.counted.values.reduce(0, +), byField: byField, signed: signed)
    }

    /// A refusal of `error`, `signed` or not: whether to record it; first the summaries of the
    /// intervals it ends, if any ended.
    /// `request`: the request's bytes' hash (nil: not known).
    public mutating func refused(_ error: FieldError, signed isSigned: Bool, request: Int? = nil,
                                 at now: MonotonicInstant) -> (closed: [RemoteRefusalSummary], verdict: Verdict) {
        let closed = close(at: now)
        let verdict = isSigned ? Self.take(&signed, error, request: request, at: now) : Self.take(&unsigned, error, request: request, at: now)
        return (closed, verdict)
    }

    private static func take(_ share: inout Share, _ error: FieldError, request: Int?, at now: MonotonicInstant) -> Verdict {
        if share.start == nil { share.start = now }
        if share.recorded < recordedPerInterval, request.map({ !share.seen.contains($0) }) ?? true {
            share.recorded += 1
            if let request { share.seen.insert(request) }
            return .record
        }
        let name = key(error)
        let k = share.counted[name] != nil || share.counted.count < fieldsPerSummary ? name : otherField
        share.counted[k, default: 0] += 1
        return .counted
    }

    /// The field a refusal is counted under. An unknown key is the client's own text: counted
    /// under its parent, so a client cannot mint field names to push real reasons into "other".
    static func key(_ error: FieldError) -> String {
        if error.message.hasPrefix("unknown field") {
            let parent = error.path.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
            return Printable.escaped(String(parent.prefix(fieldLength))) + ".(unknown field)"
        }
        return Printable.escaped(String(error.path.prefix(fieldLength)))
    }
}
