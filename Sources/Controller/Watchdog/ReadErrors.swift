import PumpCore
import PumpHAL

/// A device the loops read.
public enum ReadDevice: String, Sendable, CaseIterable {
    case pressureSensor = "pressure_sensor"
    case motor
    case batteryGauge = "battery_gauge"
}

/// A failed read as recorded: which device, its error, and how many failed reads of that device
/// went unrecorded since its previous record.
public struct ReadErrorRecord: Hashable, Sendable {
    public var device: ReadDevice
    public var error: HALErrorSummary
    public var unrecordedBefore: Int
    public var description: String {
        "\(device.rawValue): \(error.kind) errno \(error.errno.map(String.init) ?? "-")"
            + (unrecordedBefore > 0 ? " (\(unrecordedBefore) more failed reads since the last record)" : "")
    }
}

/// Why reads fail, for the log and the journal: every failed read's error reaches the core, and
/// one per device per `interval` is recorded with the count of the others, so a sensor failing
/// four times a second cannot flood the journal. The policy does not depend on the kind: every
/// kind is a failed read, judged by the device's own monitor and its FaultTable row (a
/// no-acknowledge and an impossible value are both "no trustworthy reading").
struct ReadErrorDigest: Sendable {
    static let interval = Nanoseconds.seconds(60)
    private var lastRecorded: [ReadDevice: MonotonicInstant] = [:]
    private var unrecorded: [ReadDevice: Int] = [:]

    /// A read of `device` failed with `error`: the record to make now, if any.
    mutating func failed(_ device: ReadDevice, _ error: HALError, at now: MonotonicInstant) -> ReadErrorRecord? {
        if let last = lastRecorded[device], now - last < Self.interval {
            unrecorded[device, default: 0] += 1
            return nil
        }
        lastRecorded[device] = now
        defer { unrecorded[device] = 0 }
        return ReadErrorRecord(device: device, error: HALErrorSummary(error), unrecordedBefore: unrecorded[device] ?? 0)
    }
}

extension HALErrorSummary {
    public init(_ e: HALError) { self.init(kind: e.kind.rawValue, errno: e.errno) }
}
