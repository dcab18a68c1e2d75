/// The rig a simulated controller lives on: the plant with the fake devices on it, the controller's
/// configuration and its journal file; it starts each controller life (at the start and after a
/// power loss).
import Controller
import PumpCore
import PumpJournal
import PumpPlant

struct SimulatedRig {
    let plant: Plant
    let motor: FakeMotorDriver
    let sensor: TappedPressureSensor
    let config: ControllerConfiguration
    let journalFile: SimulationJournalFile

    /// A controller life starting at `t`: the journal opened (again) and a controller on this rig,
    /// restored from that journal after a power loss (`restoring`), fresh at the run's start.
    func start(at t: Int64, utcNanoseconds: Int64, restoring: Bool) -> (journal: SQLiteJournal.Start?, controller: SimController) {
        let journal = journalFile.open(at: t)
        let controller = PumpController(configuration: config, motor: motor, pressure: sensor, battery: FakeBatteryGauge(plant: plant),
                                        now: MonotonicInstant(nanoseconds: t), utcNanoseconds: utcNanoseconds, journal: journal?.journal,
                                        restoring: restoring ? journal?.restored : nil)
        return (journal, controller)
    }
}
