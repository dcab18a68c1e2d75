#if LinuxBackend && os(Linux)
import CI2C
import PumpHAL
import SystemPackage

/// OS error numbers are swift-system's `Errno` (named members, not bare numbers), and each one
/// maps onto a `HALError` kind here, once, so the controller's policy never depends on a
/// particular errno or bus.
extension Errno {
    /// EREMOTEIO (121, Linux only; swift-system does not name it): a Raspberry Pi's I²C
    /// controller reports a missing acknowledge with it.
    public static var remoteIO: Errno { Errno(rawValue: 121) }
    /// ENOTUNIQ (76, Linux only): libgpiod's "more than one chip with this label".
    public static var notUnique: Errno { Errno(rawValue: 76) }
    /// The calling thread's errno, read right after the call that failed.
    public static var last: Errno { Errno(rawValue: pump_errno()) }

    /// What this error means to a driver and the watchdog.
    public var halKind: HALError.Kind {
        switch self {
        // Other adapters report a missing acknowledge as ENXIO.
        case .remoteIO, .noSuchAddressOrDevice: .noAcknowledge
        case .ioError: .bus
        case .timedOut: .timeout
        case .resourceTemporarilyUnavailable, .resourceBusy: .busy
        case .operationNotSupportedByDevice, .noSuchFileOrDirectory: .notFound
        case .notSupported: .unsupported
        default: .other
        }
    }
}

extension HALError {
    /// A failed system call, its errno mapped onto a kind (`Errno.halKind`).
    public init(_ errno: Errno, _ detail: String) {
        self.init(errno.halKind, errno: errno.rawValue, detail)
    }
}
#endif
