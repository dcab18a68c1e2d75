import ArgumentParser
import Foundation
import PumpConfig
import PumpHAL
import PumpHIL
import PumpSync
import Synchronization

/// `pump-hil`: the hardware-in-the-loop tools. `suite` runs the cases (docs/hil.md) and starts
/// `plant` itself; `kernel-sim` and `stub-addresses` set the VM's simulated devices up.
@main
struct PumpHILCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pump-hil", abstract: "Hardware-in-the-loop suite, plant and device setup.",
        subcommands: [SuiteCommand.self, PlantCommand.self, KernelSimCommand.self, StubAddressesCommand.self])
}

/// One line to stdout at once (unbuffered: the suite and the VM's console read it live).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func loadBoard(_ path: String) throws -> Board {
    do { return try Board.load(path: path) } catch { throw ValidationError(error.description) }
}

struct SuiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suite", abstract: "Run the cases against pumpd; exit 0 only if none failed.")
    @Option(help: "Board file with an hil_jig section.") var board: String
    @Option(help: "The pumpd executable.") var pumpd: String
    @Option(help: "Folder for prescription files and board variants.") var workDir = NSTemporaryDirectory()
    @Option(help: "Comma-separated cases (\(Suite.caseNames.joined(separator: ", "))); default all.") var only: String?
    @Option(help: "A journal holding this plant's learned line (pumpctl simulate --journal-out): the delivery case starts armed from a copy instead of learning for 10 minutes.")
    var learnedJournal: String?
    @Option(help: "A folder on a filesystem the suite may freeze (busybox fsfreeze): the watchdog case hangs pumpd's dose loop with its journal there.")
    var freezableDir: String?
    @Option(help: "The journal folder of the storage case: ext4 on the device-mapper device --storage-mapper.") var storageDir: String?
    @Option(help: "The device-mapper name under --storage-dir (a linear map of one device).") var storageMapper: String?
    @Option(help: "The first 512-byte sector of that filesystem's free blocks when made: the case fails every sector from there.")
    var storageDataSector: Int?
    @Option(help: "dmsetup, for the storage case.") var dmsetup = "/sbin/dmsetup"
    @Option(help: "pumpctl, for the storage case's journal audit.") var pumpctl = "pumpctl"

    func run() throws {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).path
        var settings = Suite.Settings(boardPath: board, pumpdPath: pumpd, plantCommand: [me, "plant"], workDirectory: workDir)
        settings.learnedJournal = learnedJournal
        settings.freezableDirectory = freezableDir
        switch (storageDir, storageMapper, storageDataSector) {
        case (nil, nil, nil): break
        case let (dir?, mapper?, sector?):
            settings.storage = StorageFaults(directory: dir, mapperName: mapper, dataSector: sector, dmsetupPath: dmsetup, pumpctlPath: pumpctl)
        default: throw ValidationError("--storage-dir, --storage-mapper and --storage-data-sector go together")
        }
        if let only {
            settings.only = Set(only.split(separator: ",").map(String.init))
            if let bad = settings.only.first(where: { !Suite.caseNames.contains($0) }) { throw ValidationError("--only: no case '\(bad)'") }
        }
        let suite = try Suite(settings: settings) { say($0) }
        say("hil: libgpiod \(Suite.gpioLibrary)")
        let started = Date()
        suite.run()
        let passed = suite.checks.filter { $0.outcome == .passed }.count, failed = suite.checks.filter { $0.outcome == .failed }.count
        let skipped = suite.checks.filter { $0.outcome == .skipped }.count
        for (k, v) in suite.measurements { say("hil measured: \(k)=\(v)") }
        if let h = suite.haltToPinSummary { say("hil measured: halt_decision_to_enable_low_ms \(h)") }
        say(String(format: "hil: %d passed, %d failed, %d skipped (%.0f s)", passed, failed, skipped, Date().timeIntervalSince(started)))
        if failed > 0 || passed == 0 { throw ExitCode(1) }
    }
}

struct PlantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plant", abstract: "Play the rig's physics against the board's devices (commands on stdin, events on stdout).")
    @Option(help: "Board file with an hil_jig section.") var board: String
    @Option(help: "Seed of the plant's noise.") var seed: UInt64 = 1

    func run() async throws {
        let board = try loadBoard(self.board)
        let emit: (String) -> Void = say
        switch board.hilJig {
        case .kernelSimulators?:
            try await play(PlantRunner(io: try KernelSimulatorIO(board: board), board: board,
                                       plant: PlantRunner<KernelSimulatorIO>.defaultPlant(board: board, seed: seed), emit: emit))
        case .loopback(let jig)?:
            try await play(PlantRunner(io: try LoopbackIO(board: board, jig: jig), board: board,
                                       plant: PlantRunner<LoopbackIO>.defaultPlant(board: board, seed: seed), emit: emit))
        case nil:
            throw ValidationError("\(self.board): no hil_jig section (docs/hil.md)")
        }
    }

    /// Polls the pins every 200 µs and applies commands between polls, until `quit` or stdin closes.
    private func play<IO: PlantIO>(_ runner: PlantRunner<IO>) async throws {
        let commands = Locked<[String]>([])
        let closed = Atomic<Bool>(false)
        Thread.detachNewThread {
            while let line = readLine() { commands.withLock { $0.append(line) } }
            closed.store(true, ordering: .releasing)
        }
        try await runner.begin(at: Monotonic.nanoseconds())
        var nap = timespec(tv_sec: 0, tv_nsec: 200_000)
        while !closed.load(ordering: .acquiring) {
            for c in commands.withLock({ q in defer { q.removeAll() }; return q }) {
                guard try await runner.handle(c, at: Monotonic.nanoseconds()) else { return }
            }
            try await runner.tick(at: Monotonic.nanoseconds())
            nanosleep(&nap, nil)
        }
    }
}

struct KernelSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernel-sim", abstract: "Create the board's gpio-sim chip and give the i2c-stub chips their identity registers (configfs mounted, gpio-sim and i2c-stub loaded).")
    @Option(help: "Board file.") var board: String
    func run() async throws {
        let board = try loadBoard(self.board)
        try KernelSimulators.createChip(for: board)
        try await KernelSimulators.seedChipIdentities(for: board)
    }
}

struct StubAddressesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stub-addresses", abstract: "Print i2c-stub's chip_addr for the board's chips.")
    @Option(help: "Board file.") var board: String
    func run() throws { print(KernelSimulators.stubAddresses(for: try loadBoard(board))) }
}
