/// The suite's cases by name, in the order they run: the registry `pump-hil suite --only` checks
/// names against. Its own file so that adding a case is one line here and one file of its own.
enum SuiteCase: String, CaseIterable {
    case boardCheck = "board-check", watchdog, lines, kill, slip, pressureChip = "pressure-chip", battery, storage, delivery

    func run(in suite: Suite) {
        switch self {
        case .boardCheck: suite.boardCheck()
        case .watchdog: suite.watchdog()
        case .lines: suite.lines()
        case .kill: suite.kill()
        case .slip: suite.slip()
        case .pressureChip: suite.pressureChip()
        case .battery: suite.battery()
        case .storage: suite.storage()
        case .delivery: suite.delivery()
        }
    }
}
