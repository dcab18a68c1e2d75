import Controller

/// The suite's prescriptions (docs/scenarios.md's drug, prescription and reservoir sections): the
/// rates the cases are timed by. Their own file because several cases share them.
enum Prescriptions {
    /// 0.048 mL/day, the slowest rate: no stroke is due for 450 s.
    static let slow = """
        {"drug": {"name": "baclofen", "concentration_ug_per_ml": 2000},
         "prescription": {"mode": "continuous", "daily_dose_ug": 96},
         "reservoir": {"capacity_ml": 20, "fill_ml": 20}}
        """
    /// 7.5 mL/day: a 250 nL stroke every 2.88 s; patient boluses of 2 µg (40 strokes over 30 s).
    static let fast = """
        {"drug": {"name": "baclofen", "concentration_ug_per_ml": 200},
         "prescription": {"mode": "continuous", "daily_dose_ug": 1500,
                          "patient_bolus": {"dose_ug": 2, "over": "30s", "lockout": "1h", "max_per_day": 4}},
         "reservoir": {"capacity_ml": 40, "fill_ml": 40}}
        """
    /// 24 mL/day (1 200 µg/day at 50 µg/mL, 1 mL/h); patient boluses of 0.5 µg (10 µL, 0.6 mL/h)
    /// over a minute, within the motor's 2 mL/h with the basal. The storage case counts strokes
    /// over a 12 s fault, so a fast rate. The campaigns' prescription, whose home is
    /// docs/examples/campaign-prescription.json (the guest has no repository; a test keeps them equal).
    static let storage = """
        {"drug": {"name": "baclofen", "concentration_ug_per_ml": 50},
         "prescription": {"mode": "continuous", "daily_dose_ug": 1200,
                          "patient_bolus": {"dose_ug": 0.5, "over": "60s", "lockout": "10m", "max_per_day": 6}},
         "reservoir": {"capacity_ml": 40, "fill_ml": 40}}
        """
    /// `storage`'s stroke period, worked out by hand from its text: 1 200 / 50 = 24 mL a day.
    static func storageStrokeSeconds(strokeNanolitres: Double) -> Double { 86_400 / (24e6 / strokeNanolitres) }
    /// Seconds of open-line delivery before the kink: the occlusion detector's arming time plus a
    /// minute of margin.
    static let armingWait = Int(OcclusionDetector.armingSeconds) + 60
    /// Seconds of open-line delivery before the kink when the detector starts armed (a learned
    /// journal): the two button presses take about 75 s of it.
    static let armedOpenLineSeconds = 120
}
