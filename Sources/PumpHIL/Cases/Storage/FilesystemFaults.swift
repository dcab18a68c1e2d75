import Foundation

/// What the storage case does to the filesystem under the journal: fills it, and finds where a
/// file's last block lies so that block alone can fail. Its own file: file-level tools, apart from
/// the device-mapper tables.
extension Suite {
    /// The 512-byte sector where the file's last block lies on its device (FIBMAP, root only).
    static func lastBlockSector(of path: String) -> Int? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        var blockSize: Int32 = 0
        guard fstat(fd, &st) == 0, st.st_size > 0, ioctl(fd, 2 /* FIGETBSZ */, &blockSize) == 0, blockSize >= 512 else { return nil }
        var block = Int32((Int(st.st_size) - 1) / Int(blockSize))
        guard ioctl(fd, 1 /* FIBMAP */, &block) == 0, block > 0 else { return nil }
        return Int(block) * Int(blockSize) / 512
    }

    /// Fills the filesystem with one file, allocated (`posix_fallocate`, as root into the reserved
    /// blocks too) rather than written: instant, where writing 7 MB kept the emulated guest busy
    /// for seconds. nil when full.
    static func fill(_ path: String) -> String? {
        let fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0o600)
        guard fd >= 0 else { return "cannot create \(path): errno \(errno)" }
        defer { close(fd) }
        var offset: off_t = 0
        for chunk: off_t in [1 << 20, 1 << 16, 1 << 12] {
            var result: Int32 = 0
            repeat {
                result = posix_fallocate(fd, offset, chunk)
                if result == 0 { offset += chunk }
            } while result == 0
            guard result == ENOSPC else { return "posix_fallocate \(path) at \(offset): errno \(result)" }
        }
        return offset > 0 ? nil : "\(path): nothing could be allocated"
    }
}
