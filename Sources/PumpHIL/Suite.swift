import Foundation
import PumpConfig
#if canImport(PumpLinux)
import PumpLinux
#endif

/// The hardware-in-the-loop suite: the real pumpd, through a board file, against devices the
/// plant process plays. The same code runs in the VM (kernel simulators) and on a rig (loopback
/// jig); only the board file differs. Each case starts a fresh plant and a fresh pumpd.
public final class Suite {
    public struct Settings: Sendable {
        public var boardPath: String
        public var pumpdPath: String
        /// The command that starts the plant (this executable's `plant` subcommand).
        public var plantCommand: [String]
        public var workDirectory: String
        /// Cases to run (all when empty).
        public var only: Set<String> = []
        /// A journal that already holds the learned open line of this plant (`pumpctl simulate
        /// --journal-out`): the delivery case starts pumpd from a copy and its detector is armed at
        /// once, instead of learning for ten minutes in real time. nil: learn in real time.
        public var learnedJournal: String?
        /// A folder on a filesystem the suite may freeze (FIFREEZE, through busybox fsfreeze): the
        /// watchdog case puts a journal there to hang pumpd's dose loop. nil: that check is skipped.
        public var freezableDirectory: String?
        /// The storage case's device-mapper device under the journal's folder (nil: skipped).
        public var storage: StorageFaults?
        public init(boardPath: String, pumpdPath: String, plantCommand: [String], workDirectory: String) {
            self.boardPath = boardPath
            self.pumpdPath = pumpdPath
            self.plantCommand = plantCommand
            self.workDirectory = workDirectory
        }
    }

    public struct Check: Sendable {
        public var name: String
        public var outcome: Outcome
        public var detail: String
        public enum Outcome: String, Sendable { case passed, failed, skipped }
    }

    /// Every case by name, in the order they run (`SuiteCase`).
    public static let caseNames = SuiteCase.allCases.map(\.rawValue)

    let settings: Settings
    let board: Board
    /// The checks and numbers recorded so far (`SuiteReport`).
    let report: SuiteReport
    public var checks: [Check] { report.checks }
    /// Numbers the closing report quotes (hazard → enable low at the pin, and so on).
    public var measurements: [(String, String)] { report.measurements }
    /// Halt decision → ENABLE low seen at the pin, ms, one per hazard that halted.
    public var haltToPin: [Double] { report.haltToPin }
    /// "n=3 p50=12 p99=30 max=30" (ms) of the halt decision → pin times.
    public var haltToPinSummary: String? { report.haltToPinSummary }
    /// The case's processes, whose last output a failed check prints.
    var current: [ChildProcess] = []

    public init(settings: Settings, log: @escaping (String) -> Void) throws {
        self.settings = settings
        do { board = try Board.load(path: settings.boardPath) } catch { throw SuiteError(message: error.description) }
        guard board.stepper != nil, let sensor = board.pressureSensor else { throw SuiteError(message: "\(settings.boardPath): not a linux board") }
        // The plant writes the ADS1115's registers (i2c-stub) or drives its input (a DAC): a chip
        // read by raw transfers, as the ABP2, has no plant here (docs/hil.md).
        guard board.pressureADC != nil else {
            throw SuiteError(message: "\(settings.boardPath): pressure_sensor.model \(sensor.model): the HIL plant drives an ads1115 only")
        }
        report = SuiteReport(log: log)
    }

    /// Runs the chosen cases in order; each starts from no plant and no pumpd of an earlier one.
    public func run() {
        for suiteCase in SuiteCase.allCases where settings.only.isEmpty || settings.only.contains(suiteCase.rawValue) {
            let name = suiteCase.rawValue
            report.log("== case \(name)")
            let started = Monotonic.nanoseconds()
            current = []
            let before = checks.count
            suiteCase.run(in: self)
            if checks.count == before { record("\(name)", false, "the case recorded no check") }
            report.log("== case \(name): \(String(format: "%.1f", Double(Monotonic.nanoseconds() - started) / 1e9)) s")
        }
    }

    /// Records one check, with the case's processes for a failure's dump (`SuiteReport.record`).
    func record(_ name: String, _ passed: Bool?, _ detail: String) {
        report.record(name, passed, detail, processes: current)
    }
}

public struct SuiteError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Suite {
    /// The libgpiod this build runs on (the suite's binaries and pumpd are built together).
    public static var gpioLibrary: String {
        #if canImport(PumpLinux)
        "\(GPIOLibrary.version) (API v\(GPIOLibrary.api))"
        #else
        "none (built without the LinuxBackend trait)"
        #endif
    }
}
