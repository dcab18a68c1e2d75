import Foundation

/// `dmsetup` on the storage case's device. Tables are swapped with suspend, load, resume; the
/// suspend lets the filesystem flush first, as a card would have what was written before it failed.
/// Its own type: the one place the case changes the device under the journal.
struct DeviceMapper {
    let faults: StorageFaults
    let workDirectory: String
    private(set) var lastOutput = ""

    init(faults: StorageFaults, workDirectory: String) {
        self.faults = faults
        self.workDirectory = workDirectory
    }

    /// The device's table now, when it is one linear target from sector 0.
    mutating func table() -> LinearTable? {
        let (status, lines) = Suite.run(faults.dmsetupPath, ["table", faults.mapperName])
        lastOutput = lines.joined(separator: " | ")
        guard status == 0, lines.count == 1 else { return nil }
        return LinearTable(lines[0])
    }

    /// nil when loaded, else what went wrong.
    func load(_ table: LinearTable) -> String? { load(table.text) }

    /// `dmsetup suspend` (I/O already issued completes; new I/O waits, neither failing nor
    /// landing: a storage that stalls) or `resume`. nil when done, else what went wrong.
    func hold(_ on: Bool) -> String? {
        let (status, lines) = Suite.run(faults.dmsetupPath, [on ? "suspend" : "resume", faults.mapperName, "--noudevsync"])
        return status == 0 ? nil : "dmsetup \(on ? "suspend" : "resume"): exit \(status.map(String.init) ?? "none"): \(lines.joined(separator: " | "))"
    }

    func load(_ text: String) -> String? {
        let file = "\(workDirectory)/storage-table"
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) else { return "cannot write \(file)" }
        for step in [["suspend", faults.mapperName], ["load", faults.mapperName, file], ["resume", faults.mapperName]] {
            let (status, lines) = Suite.run(faults.dmsetupPath, step + ["--noudevsync"])
            if status != 0 {
                _ = Suite.run(faults.dmsetupPath, ["resume", faults.mapperName, "--noudevsync"])
                return "dmsetup \(step[0]): exit \(status.map(String.init) ?? "none"): \(lines.joined(separator: " | "))"
            }
        }
        return nil
    }
}
