#if LinuxBackend && os(Linux)
import PumpHAL

/// Maps an OS error number to a `HALError` kind. Linux numbering (x86_64 and arm64 agree).
public enum LinuxErrno {
    public static let EPERM: Int32 = 1, ENOENT: Int32 = 2, EIO: Int32 = 5, ENXIO: Int32 = 6, EAGAIN: Int32 = 11
    public static let EACCES: Int32 = 13, EBUSY: Int32 = 16, ENODEV: Int32 = 19, EINVAL: Int32 = 22
    public static let EOPNOTSUPP: Int32 = 95, ETIMEDOUT: Int32 = 110, EREMOTEIO: Int32 = 121, ENOTUNIQ: Int32 = 76

    public static func kind(of errno: Int32) -> HALError.Kind {
        switch errno {
        // A Raspberry Pi's I²C controller reports a missing acknowledge as EREMOTEIO; other
        // adapters use ENXIO.
        case EREMOTEIO, ENXIO: .noAcknowledge
        case EIO: .bus
        case ETIMEDOUT: .timeout
        case EAGAIN, EBUSY: .busy
        case ENODEV, ENOENT: .notFound
        case EOPNOTSUPP: .unsupported
        default: .other
        }
    }

    public static func error(_ errno: Int32, _ detail: String) -> HALError {
        HALError(kind(of: errno), errno: errno, detail)
    }
}
#endif
