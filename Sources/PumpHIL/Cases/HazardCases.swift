import Foundation
import PumpPlant

/// The hazard cases at the plant: a slipping coupling and an exhausted battery must halt with
/// ENABLE low at the pin; an absent pressure chip or an aging battery only alarms. Their own file
/// because each injects one fault through the plant and reads the verdict at the pin.
extension Suite {
    /// Encoder edges stop (a slipping coupling): motion mismatch, delivery halted, ENABLE low.
    func slip() {
        guard let (plant, pumpd) = start(case: "slip", prescription: Prescriptions.fast) else { return }
        defer { plant.stop(); pumpd.stop() }
        guard plant.waitFor("stroke n=2 ", timeout: 30) != nil else { record("slip/strokes", false, "no strokes within 30 s"); return }
        let mark = plant.lines.count
        plant.send(Fault.encoderSlip(fraction: 1).line)
        let (alarm, low, halted) = awaitHalt("motion_mismatch", pumpd: pumpd, plant: plant, after: mark, alarmTimeout: 60)
        let strokes = plant.lines.dropFirst(mark).filter { $0.text.hasPrefix("stroke ") }.count
        record("slip/motion-mismatch-halts", alarm != nil && low != nil && halted != nil,
               "alarm \(alarm == nil ? "missing" : "raised"), halt \(halted == nil ? "not logged" : "logged"), ENABLE \(low == nil ? "not low" : "low (pumpd still holding it)") after \(strokes) slipped strokes")
        _ = terminate(pumpd)
    }

    /// The pressure ADC does not answer at its address: a technical alarm, delivery continues
    /// (the fault table's policy), pumpd keeps running and exits cleanly.
    func pressureChip() {
        guard let variant = try? boardVariant(pressureAddress: "0x4a") else { record("pressure-chip/board", false, "cannot write the board variant"); return }
        guard let (plant, pumpd) = start(case: "pressure-chip", prescription: Prescriptions.fast, board: variant) else { return }
        defer { plant.stop(); pumpd.stop() }
        let alarm = pumpd.waitFor("alarm raised: pressure_sensor_fault", timeout: 30)
        let mark = plant.lines.count
        let more = plant.waitFor(after: mark, timeout: 20) { $0.hasPrefix("stroke ") && $0.contains("enabled=1") }
        let running = pumpd.isRunning
        let exit = terminate(pumpd)
        record("pressure-chip/technical-alarm-no-crash", alarm != nil && running && exit == 0 && more != nil,
               "alarm \(alarm == nil ? "missing" : "raised"), \(more == nil ? "no stroke" : "strokes continued") afterwards, pumpd \(running ? "running" : "gone"), exit \(exit.map(String.init) ?? "none")")
    }

    /// Battery at elective replacement (alarm, delivery goes on), then end of service (halt).
    func battery() {
        guard let (plant, pumpd) = start(case: "battery", prescription: Prescriptions.fast, plantReady: { plant in
            plant.send(Fault.battery(percent: 14).line)
            return plant.waitFor("battery 14", timeout: 5) != nil
        }) else { return }
        defer { plant.stop(); pumpd.stop() }
        if plant.lines.contains(where: { $0.text.contains("ready") && $0.text.contains("battery=0") }) {
            record("battery/levels", nil, "the jig cannot set the gauge (a real cell): use a cell simulator")
            _ = terminate(pumpd)
            return
        }
        let eri = pumpd.waitFor("alarm raised: battery_elective_replacement", timeout: 30)
        let mark = plant.lines.count
        let going = plant.waitFor(after: mark, timeout: 20) { $0.hasPrefix("stroke ") && $0.contains("enabled=1") }
        record("battery/elective-replacement", eri != nil && going != nil, "alarm \(eri == nil ? "missing" : "raised"), delivery \(going == nil ? "stopped" : "continued")")
        let mark2 = plant.lines.count
        plant.send(Fault.battery(percent: 4).line)
        let (eos, low, halted) = awaitHalt("battery_end_of_service", pumpd: pumpd, plant: plant, after: mark2, alarmTimeout: 30)
        record("battery/end-of-service", eos != nil && low != nil && halted != nil,
               "alarm \(eos == nil ? "missing" : "raised"), halt \(halted == nil ? "not logged" : "logged"), ENABLE \(low == nil ? "not low" : "low")")
        _ = terminate(pumpd)
    }

    /// Delivery at a set rate until the occlusion detector has armed, with the bolus button on the
}
