import PumpCore

/// Fields that a scenario event and a command on the socket share, read one way for both.
extension ObjectReader {
    /// A clinician bolus: `dose_ug` and `over`, both required.
    public mutating func clinicianBolus(_ problems: inout [FieldError]) -> (dose: Nanograms, over: Nanoseconds)? {
        let dose = number("dose_ug", &problems)
        let over = duration("over", &problems, max: .days(1))
        if dose == nil, value("dose_ug") == nil { problems.append(FieldError(child("dose_ug"), "is required")) }
        if over == nil, value("over") == nil { problems.append(FieldError(child("over"), "is required")) }
        if let over, over.value <= 0 { problems.append(FieldError(child("over"), "must be longer than 0")) }
        guard let dose, let ng = FixedPointInput.thousandths(dose, path: child("dose_ug"), max: 1_000_000, into: &problems),
              let over, over.value > 0 else { return nil }
        return (Nanograms(ng), over)
    }

    /// A refill's fields as entered (the controller's `RefillRequest` supplies the defaults).
    public struct RefillFields: Sendable {
        public var withdrawn: Nanolitres?
        public var added: Nanolitres
        public var concentration: NanogramsPerMillilitre?
        public var deadSpace: Nanolitres?
        public var bridge: Bool
    }

    /// `withdrawn_ml` (required when `withdrawnRequired`), `added_ml` (required),
    /// `concentration_ug_per_ml`, `dead_space_ml`, `bridge`.
    public mutating func refillFields(withdrawnRequired: Bool, _ problems: inout [FieldError]) -> RefillFields? {
        let before = problems.count
        func ml(_ key: String, allowZero: Bool, max: Double, required: Bool) -> Nanolitres? {
            guard let v = number(key, &problems) else {
                if required, value(key) == nil { problems.append(FieldError(child(key), "is required")) }
                return nil
            }
            return FixedPointInput.thousandths(v, path: child(key), max: max, allowZero: allowZero, into: &problems).map { Nanolitres($0 * 1000) }
        }
        let reservoirMax = PumpLimits.maximumReservoir.millilitres
        let withdrawn = ml("withdrawn_ml", allowZero: true, max: reservoirMax, required: withdrawnRequired)
        let added = ml("added_ml", allowZero: false, max: reservoirMax, required: true)
        var concentration: NanogramsPerMillilitre?
        if let c = number("concentration_ug_per_ml", &problems),
           let v = FixedPointInput.thousandths(c, path: child("concentration_ug_per_ml"), max: 1_000_000, into: &problems) {
            concentration = NanogramsPerMillilitre(v)
        }
        let dead = ml("dead_space_ml", allowZero: true, max: PumpLimits.maximumDeadSpace.millilitres, required: false)
        let bridge = bool("bridge", &problems) ?? true
        guard problems.count == before, let added else { return nil }
        return RefillFields(withdrawn: withdrawn, added: added, concentration: concentration, deadSpace: dead, bridge: bridge)
    }
}
