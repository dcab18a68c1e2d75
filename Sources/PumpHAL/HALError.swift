/// Why a hardware operation failed. Drivers and backends map every OS error onto a kind, so the
/// controller's policy never depends on a particular errno or bus.
public struct HALError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// The device did not acknowledge its address (a Raspberry Pi reports EREMOTEIO, 121).
        case noAcknowledge = "no_acknowledge"
        /// A bus-level failure (EIO).
        case bus
        /// The operation did not complete in time (ETIMEDOUT).
        case timeout
        /// The device is busy or the call would block (EAGAIN).
        case busy
        /// The device or line does not exist (ENODEV, ENOENT).
        case notFound = "not_found"
        /// The device answered with something impossible (out of range, wrong ID).
        case invalidData = "invalid_data"
        /// The device measured above the top of its range (a pressure transducer or its ADC
        /// saturated high). Not a failure of the device: a pressure beyond what the sensor can
        /// show, which the watchdog counts as at least its top (an occlusion's evidence).
        case aboveRange = "above_range"
        /// The operation is not supported by this device or bus (EOPNOTSUPP).
        case unsupported
        /// The device reports its own fault (a stepper driver's nFAULT).
        case deviceFault = "device_fault"
        /// Anything else; see `errno`.
        case other
    }
    public var kind: Kind
    /// The OS error number, where one caused this.
    public var errno: Int32?
    public var detail: String
    public init(_ kind: Kind, errno: Int32? = nil, _ detail: String = "") {
        self.kind = kind
        self.errno = errno
        self.detail = detail
    }
    public var description: String {
        var s = kind.rawValue
        if let errno { s += " (errno \(errno))" }
        if !detail.isEmpty { s += ": \(detail)" }
        return s
    }
}
