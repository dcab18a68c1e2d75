import Testing
@testable import PumpCore

/// A valid baclofen request that each test breaks in one way.
func validRequest() -> PrescriptionRequest {
    PrescriptionRequest(
        drugName: "baclofen", concentrationMicrogramsPerMillilitre: 500, mode: "flex",
        steps: [.init(start: "00:00", dailyDoseMicrograms: 200), .init(start: "08:00", dailyDoseMicrograms: 300)],
        patientBolus: .init(doseMicrograms: 10, lockout: .hours(1), maxPerDay: 4))
}

@Suite("Prescription validation")
struct PrescriptionValidationTests {
    @Test func validFlexPrescription() throws {
        let p = try validRequest().validated().get()
        guard case .flex(let steps) = p.basal else { Issue.record("expected flex"); return }
        #expect(steps.map(\.start.description) == ["00:00", "08:00"])
        #expect(p.basal.maximumDailyDose == .microgramsPerDay(300))
        #expect(p.basal.minimumDailyDose == .microgramsPerDay(200))
        // 8 h at 200 + 16 h at 300 µg/day.
        #expect(p.basal.nominalDailyDose.value == (200_000 * 8 + 300_000 * 16) / 24)
        #expect(p.patientBolus?.duration == PrescriptionRequest.defaultPatientBolusDuration)
        #expect(p.dailyCap == DrugLibrary.baclofen.maxDailyDose)
    }

    /// One rejected case per field class: the field path named, the message explaining why.
    static let cases: [(String, @Sendable (inout PrescriptionRequest) -> Void, String, String)] = [
        ("unknown drug", { $0.drugName = "aspirin" }, "drug.name", "unknown drug"),
        ("missing drug", { $0.drugName = nil }, "drug.name", "required"),
        ("zero concentration", { $0.concentrationMicrogramsPerMillilitre = 0 }, "drug.concentration_ug_per_ml", "greater than"),
        ("concentration over library maximum", { $0.concentrationMicrogramsPerMillilitre = 2500 }, "drug.concentration_ug_per_ml", "at most 2000"),
        ("NaN concentration", { $0.concentrationMicrogramsPerMillilitre = .nan }, "drug.concentration_ug_per_ml", "finite"),
        ("bad mode", { $0.mode = "pulsed" }, "prescription.mode", "continuous or flex"),
        ("missing mode", { $0.mode = nil }, "prescription.mode", "required"),
        ("continuous without dose", { $0.mode = "continuous"; $0.dailyDoseMicrograms = nil }, "prescription.daily_dose_ug", "required"),
        ("daily dose over library maximum", { $0.mode = "continuous"; $0.dailyDoseMicrograms = 2500 }, "prescription.daily_dose_ug", "at most 2000"),
        ("rate below pump minimum", { $0.mode = "continuous"; $0.dailyDoseMicrograms = 10 }, "prescription.daily_dose_ug", "below the pump's minimum"),
        ("too many decimals", { $0.mode = "continuous"; $0.dailyDoseMicrograms = 100.0001 }, "prescription.daily_dose_ug", "three decimals"),
        ("flex without steps", { $0.steps = [] }, "prescription.steps", "at least one step"),
        ("step time format", { $0.steps![1].start = "8am" }, "prescription.steps[1].start", "must be HH:MM"),
        ("first step not midnight", { $0.steps![0].start = "01:00" }, "prescription.steps[0].start", "00:00"),
        ("steps out of order", { $0.steps![1].start = "00:00" }, "prescription.steps[1].start", "later than"),
        ("step dose over maximum", { $0.steps![1].dailyDoseMicrograms = 5000 }, "prescription.steps[1].daily_dose_ug", "at most"),
        ("bolus over library maximum", { $0.patientBolus!.doseMicrograms = 150 }, "prescription.patient_bolus.dose_ug", "at most 100"),
        ("lockout too short", { $0.patientBolus!.lockout = .minutes(1) }, "prescription.patient_bolus.lockout", "between"),
        ("max per day not whole", { $0.patientBolus!.maxPerDay = 2.5 }, "prescription.patient_bolus.max_per_day", "whole number"),
        ("max per day too high", { $0.patientBolus!.maxPerDay = 100 }, "prescription.patient_bolus.max_per_day", "1 to 24"),
        ("bolus longer than lockout", { $0.patientBolus!.duration = .hours(2) }, "prescription.patient_bolus.over", "between"),
        ("cap below basal", { $0.dailyCapMicrograms = 250 }, "prescription.daily_cap_ug", "below the programme's highest"),
        // Found by the input fuzzer: a zero bolus duration divided by zero (a crash, not an error).
        ("zero bolus duration", { $0.patientBolus!.duration = .zero }, "prescription.patient_bolus.over", "between"),
        // A positive amount below a thousandth would have become a zero concentration.
        ("concentration below a thousandth", { $0.concentrationMicrogramsPerMillilitre = 1e-10 }, "drug.concentration_ug_per_ml", "greater than"),
    ]

    @Test(arguments: cases.indices)
    func rejectsAndNamesTheField(index: Int) {
        let (name, breakIt, path, message) = Self.cases[index]
        var r = validRequest()
        breakIt(&r)
        guard case .failure(let e) = r.validated() else {
            Issue.record("\(name): accepted")
            return
        }
        #expect(e.problems.contains { $0.path == path && $0.message.contains(message) }, "\(name): \(e)")
    }

    @Test func reportsEveryProblemAtOnce() {
        var r = validRequest()
        r.concentrationMicrogramsPerMillilitre = 5000
        r.steps![1].start = "25:00"
        r.patientBolus!.maxPerDay = 0
        guard case .failure(let e) = r.validated() else { Issue.record("accepted"); return }
        let paths = Set(e.problems.map(\.path))
        #expect(paths.isSuperset(of: ["drug.concentration_ug_per_ml", "prescription.steps[1].start", "prescription.patient_bolus.max_per_day"]))
        #expect(!e.description.contains("\n"), "one line")
    }

    @Test func customPathsForOtherInputs() {
        var r = validRequest()
        r.mode = "x"
        guard case .failure(let e) = r.validated(drugPath: "program.drug", path: "program") else { Issue.record("accepted"); return }
        #expect(e.problems.first?.path == "program.mode")
    }
}

@Suite("Drug library")
struct DrugLibraryTests {
    @Test func holdsTheRequiredDrugsWithLimits() {
        for name in ["morphine", "hydromorphone", "baclofen", "ziconotide"] {
            let d = DrugLibrary.named(name)
            #expect(d != nil, "\(name) missing")
            #expect((d?.maxConcentration.value ?? 0) > 0 && (d?.maxDailyDose.value ?? 0) > 0 && (d?.maxBolusDose.value ?? 0) > 0)
        }
        #expect(DrugLibrary.named("Baclofen") == DrugLibrary.baclofen)
        #expect(DrugLibrary.ziconotide.maxDailyDose.value == 19_200)      // Prialt label: 19.2 µg/day
        #expect(DrugLibrary.morphine.maxConcentration.value == 20_000_000) // PACC 2017: 20 mg/mL
    }

    @Test func libraryLimitsBindPrescriptions() {
        // Ziconotide at 100 µg/mL is allowed; 19.2 µg/day is the ceiling, 19.3 is refused.
        var r = PrescriptionRequest(drugName: "ziconotide", concentrationMicrogramsPerMillilitre: 100, mode: "continuous",
                                    dailyDoseMicrograms: 19.2)
        #expect((try? r.validated().get()) != nil)
        r.dailyDoseMicrograms = 19.3
        #expect((try? r.validated().get()) == nil)
        r.dailyDoseMicrograms = 19.2
        r.concentrationMicrogramsPerMillilitre = 101
        #expect((try? r.validated().get()) == nil)
    }
}

@Suite("Fault table")
struct FaultTableTests {
    @Test func everyStopIsHighAndNeedsAClinician() {
        for a in AlarmType.allCases {
            let p = FaultTable.policy(for: a)
            if p.delivery == .stop {
                #expect(p.priority == .high, "\(a)")
                #expect(p.clear == .clinician, "\(a)")
                #expect(p.blocksPatientBolus, "\(a)")
            }
            #expect(!p.rationale.isEmpty)
        }
    }

    @Test func keyPolicies() {
        #expect(FaultTable.policy(for: .occlusion).delivery == .stop)
        #expect(FaultTable.policy(for: .batteryEndOfService).delivery == .stop)
        #expect(FaultTable.policy(for: .batteryElectiveReplacement) == FaultTable.policy(for: .batteryElectiveReplacement))
        #expect(FaultTable.policy(for: .batteryElectiveReplacement).delivery == .continueDelivery)
        #expect(FaultTable.policy(for: .batteryElectiveReplacement).priority == .medium)
        // Stopping is not automatically safe: a blind occlusion monitor keeps the basal going.
        #expect(FaultTable.policy(for: .pressureSensorFault).delivery == .continueDelivery)
        #expect(FaultTable.isTechnical(.pressureSensorFault))
        #expect(FaultTable.policy(for: .wallClockInvalid).delivery == .minimumRate)
    }
}
