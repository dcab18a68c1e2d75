/// The pumps and catheter lines the controller is built and tested for (docs/scenarios.md,
/// "valid plants"): the occlusion detector's bounds, the scenario and board-file checks, the
/// swarm's generator and the bench's plants all read this one envelope.
public enum ValidPlant {
    /// One motor step's volume (board files, scenarios).
    public static let strokeVolumeNanolitres: ClosedRange<Int> = 50...1000
    /// Line compliance: pressure rise per volume pushed into a blocked line.
    public static let complianceNanolitresPerMMHg: ClosedRange<Double> = 50...1000
    /// Time constant (compliance × resistance) with which an open line drains.
    public static let tauSeconds: ClosedRange<Double> = 1...60
    /// Resting (spinal fluid) pressure.
    public static let restingMMHg: ClosedRange<Double> = 0...25
}

/// The no-double-dose bound every judge applies (the swarm, the crash and power-cut campaigns):
/// what the motor moved stays within what the programme asked plus one stroke (strokes are
/// whole, so the motor may be up to one stroke ahead of a programme's fraction).
public enum DeliveryBound {
    public static func holds(delivered: Nanolitres, programmed: Nanolitres, strokeVolume: Nanolitres) -> Bool {
        delivered.value <= programmed.value + strokeVolume.value
    }
}
