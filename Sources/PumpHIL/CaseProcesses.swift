import Foundation

/// The processes a case runs: a fresh plant and a fresh pumpd, a clean stop, the plant's counters,
/// and any other program to completion. Its own file because every case starts and stops them
/// the same way (one plant and one pumpd on the lines at a time).
extension Suite {

    /// `journal`: an existing journal to continue from (nil: a new one, `--new-journal`).
    func start(case name: String, prescription: String, board boardPath: String? = nil, journal: String? = nil,
               newJournal: Bool = false, pumpdArguments: [String] = [], plantReady: ((ChildProcess) -> Bool)? = nil) -> (ChildProcess, ChildProcess)? {
        // One plant and one pumpd on the lines at a time: a plant left running answers every step
        // with an encoder edge of its own (the storage case's first versions: pumpd halted on the
        // "runaway").
        for p in current { p.stop() }
        let prescriptionPath = "\(settings.workDirectory)/\(name)-prescription.json"
        guard FileManager.default.createFile(atPath: prescriptionPath, contents: Data(prescription.utf8)) else {
            record("\(name)/setup", false, "cannot write \(prescriptionPath)")
            return nil
        }
        guard let plant = try? ChildProcess(name: "plant", executable: settings.plantCommand[0],
                                            arguments: Array(settings.plantCommand.dropFirst()) + ["--board", settings.boardPath]) else {
            record("\(name)/setup", false, "cannot start the plant")
            return nil
        }
        guard plant.waitFor("ready", timeout: 20) != nil, plantReady?(plant) ?? true else {
            record("\(name)/setup", false, "plant not ready: \(plant.lines.suffix(3).map(\.text).joined(separator: " | "))")
            plant.stop()
            return nil
        }
        guard let pumpd = try? ChildProcess(name: "pumpd", executable: settings.pumpdPath,
                                            arguments: ["--board", boardPath ?? settings.boardPath, "--prescription", prescriptionPath,
                                                        "--journal", journal ?? "\(settings.workDirectory)/\(name)-journal.sqlite"] + (journal == nil || newJournal ? ["--new-journal"] : []) + pumpdArguments) else {
            record("\(name)/setup", false, "cannot start pumpd")
            plant.stop()
            return nil
        }
        guard pumpd.waitFor("pumpd running", timeout: 60) != nil else {
            record("\(name)/setup", false, "pumpd did not start: \(pumpd.lines.suffix(3).map(\.text).joined(separator: " | "))")
            plant.stop()
            pumpd.stop()
            return nil
        }
        current = [plant, pumpd]
        return (plant, pumpd)
    }

    func terminate(_ pumpd: ChildProcess) -> Int32? {
        pumpd.signal(SIGTERM)
        return pumpd.waitForExit(timeout: 15)
    }

    func status(_ plant: ChildProcess) -> [String: Int] {
        let mark = plant.lines.count
        plant.send("status")
        guard let l = plant.waitFor("status ", after: mark, timeout: 5) else { return [:] }
        var fields: [String: Int] = [:]
        for w in l.text.split(separator: " ") {
            let kv = w.split(separator: "=")
            if kv.count == 2, let v = Int(kv[1]) { fields[String(kv[0])] = v }
        }
        return fields
    }

    /// A program's exit status and output lines (nil status: it did not end within 30 s).
    static func run(_ executable: String, _ arguments: [String]) -> (Int32?, [String]) {
        guard let p = try? ChildProcess(name: (executable as NSString).lastPathComponent, executable: executable, arguments: arguments) else {
            return (nil, ["cannot start \(executable)"])
        }
        let status = p.waitForExit(timeout: 30)
        return (status, p.lines.map(\.text))
    }
}
