/// How a case sees a hazard's halt: the alarm, ENABLE low at the plant, the halt in pumpd's log,
/// and the time from pumpd's decision to the pin. Its own file because the hazard cases and the
/// delivery case all measure a halt this way.
extension Suite {
    /// Waits, in this order, for the alarm `fault` raised, ENABLE low at the plant (since `mark`)
    /// and the halt logged (pumpd logs it from its event stream, which may reach the pipe after
    /// ENABLE fell); then measures the decision → pin time.
    func awaitHalt(_ fault: String, pumpd: ChildProcess, plant: ChildProcess, after mark: Int,
                   alarmTimeout: Double) -> (alarm: ChildProcess.Line?, low: ChildProcess.Line?, halted: ChildProcess.Line?) {
        let alarm = pumpd.waitFor("alarm raised: \(fault)", timeout: alarmTimeout)
        let low = plant.waitFor("enable 0 holder=pumpd", after: mark, timeout: 10)
        let halted = pumpd.waitFor("delivery halted: \(fault)", timeout: 10)
        measureHaltToPin(pumpd, low: low)
        return (alarm, low, halted)
    }

    /// The last halt decision pumpd logged → the plant's sample of ENABLE low (same clock, same
    /// guest). Includes the plant's pin polling interval.
    func measureHaltToPin(_ pumpd: ChildProcess, low: ChildProcess.Line?) {
        guard let lowAt = low.flatMap({ Self.time($0.text) }),
              let decision = pumpd.waitFor("halt decision", timeout: 5),
              let decidedAt = Self.field("monotonic_ns", in: decision.text) else { return }
        report.haltToPin.append(Double(lowAt - Int64(decidedAt)) / 1e6)
    }
}
