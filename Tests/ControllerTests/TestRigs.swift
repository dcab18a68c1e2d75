import Controller
import PumpCore
import PumpHAL
import PumpPlant

/// A controller on `plant` with baclofen 50 µg/mL at `microgramsPerDay` (1 200: 24 mL/day, a
/// 250 nL stroke every 0.9 s), no patient bolus, `reservoirMillilitres` full; the battery is the
/// plant's. The race and read-error tests share it.
func plantController<M: MotorDriver, P: PressureSensor>(motor: M, pressure: P, plant: Plant, microgramsPerDay: Int64 = 1200,
                                                        reservoirMillilitres: Int64 = 60, journal: (any DoseJournal)? = nil)
    -> PumpController<M, P, FakeBatteryGauge> {
    let drug = Drug(limits: DrugLibrary.baclofen, concentration: .microgramsPerMillilitre(50))
    let rx = Prescription(drug: drug, basal: .continuous(.microgramsPerDay(microgramsPerDay)), patientBolus: nil,
                          dailyCap: DrugLibrary.baclofen.maxDailyDose)
    let config = ControllerConfiguration(prescription: rx, strokeVolume: Nanolitres(250), reservoirCapacity: .millilitres(reservoirMillilitres),
                                         reservoirFill: .millilitres(reservoirMillilitres))
    return PumpController(configuration: config, motor: motor, pressure: pressure, battery: FakeBatteryGauge(plant: plant),
                          now: .zero, utcNanoseconds: 0, journal: journal)
}
