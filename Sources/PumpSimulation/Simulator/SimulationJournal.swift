/// Where a simulated run keeps its journal: a temporary folder (for power losses) or the file
/// `--journal-out` names, opened again at every restart.
import Foundation
import PumpCore
import PumpJournal

/// A scenario with power losses runs on a real SQLite journal in a temporary folder, so a power
/// loss can drop the controller at any point and restart it from the file.
struct SimulationJournalFile {
    let scenario: Scenario
    let startUTC: Int64
    /// `SimulationOptions.journalOut`: kept, and closed cleanly at the end.
    let journalOut: String?
    /// The temporary folder, when the run journals and keeps nothing.
    let folder: URL?

    init(scenario: Scenario, startUTC: Int64, journalOut: String?) {
        self.scenario = scenario
        self.startUTC = startUTC
        self.journalOut = journalOut
        let journaling = scenario.events.contains { $0.kind == .powerLoss }
        folder = journaling && journalOut == nil
            ? FileManager.default.temporaryDirectory.appendingPathComponent("pump-sim-\(UUID().uuidString)") : nil
    }

    /// The journal as the controller starting (or restarting) at `t` finds it; nil: no journal.
    func open(at t: Int64) -> SQLiteJournal.Start? {
        let path: String
        if let out = journalOut {
            path = out
        } else if let folder {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            path = folder.appendingPathComponent("journal.sqlite").path
        } else {
            return nil
        }
        do {
            return try SQLiteJournal.open(path: path, board: "simulated",
                                          therapy: scenario.name, reservoirFill: scenario.plant.reservoirFill,
                                          utcNanoseconds: startUTC + t, mode: .simulated)
        } catch {
            fatalError("simulator journal: \(error)")   // a temporary folder we just made
        }
    }

    func removeFolder() {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }
}
