import Foundation

/// Where the storage case finds the device-mapper device under the journal's folder (docs/hil.md,
/// "Storage faults"). In the VM: a 12 MB ext4 filesystem on `dmsetup create pumpstore`. Its own
/// file: the suite's settings carry it, and only the storage case reads it.
public struct StorageFaults: Sendable {
    /// The journal's folder: an ext4 filesystem on the mapper device.
    public var directory: String
    /// The device-mapper name; its table is a linear map of one whole device.
    public var mapperName: String
    /// The first 512-byte sector of the filesystem's free blocks when it was made. The case fails
    /// every sector from there on (the blocks any file's data is given) and keeps the metadata and
    /// ext4's own journal good: a card whose data area fails. (Failing the metadata as well aborts
    /// ext4's journal, and the filesystem stays read-only until it is mounted again.)
    public var dataSector: Int
    public var dmsetupPath: String
    public var pumpctlPath: String
    public init(directory: String, mapperName: String, dataSector: Int, dmsetupPath: String, pumpctlPath: String) {
        self.directory = directory
        self.mapperName = mapperName
        self.dataSector = dataSector
        self.dmsetupPath = dmsetupPath
        self.pumpctlPath = pumpctlPath
    }
}
