import PumpCore
import Foundation
import Glibc

/// Files pumpctl keeps for its user beside what it was given (the request counter beside a key
/// file, a saved request): read and written only as regular files of this user's own with one
/// link, never through a link, never blocking on a FIFO. Run as root with the rig's key folder
/// (owned by the service user), pumpctl wrote `clinician.key.counter` through whatever that user
/// had put there (outside attack: a link to a root-only file was overwritten with a number).
public enum OwnerOnlyFile {
    /// The file's bytes, or nil when it is missing or not this user's own regular file.
    public static func read(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard isOwn(fd) else { return nil }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            data.append(contentsOf: buffer[..<n])
            if data.count > 1 << 20 { return nil }   // no file of ours is that long
        }
        return data
    }

    /// Replaces the file's bytes (created 0600 if missing). `field` names the option in errors.
    public static func write(_ data: Data, to path: String, field: String) throws(FieldError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw FieldError(field, errno == ELOOP ? "\(path) is a symbolic link: not written" : "cannot write \(path) (errno \(errno))")
        }
        defer { close(fd) }
        guard isOwn(fd) else { throw FieldError(field, "\(path) is not a file of this user's own (another user's, a device, or a second link): not written") }
        guard ftruncate(fd, 0) == 0 else { throw FieldError(field, "cannot write \(path) (errno \(errno))") }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { throw FieldError(field, "cannot write \(path) (errno \(errno))") }
            offset += n
        }
    }

    private static func isOwn(_ fd: Int32) -> Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_uid == geteuid() && st.st_nlink == 1
    }
}
