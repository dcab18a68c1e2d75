import PumpHAL
import Synchronization

/// Settings of a STEP/DIR stepper driver (shared by every line type).
public enum Stepper {
    public struct Configuration: Sendable, Equatable {
        public var enableActiveHigh: Bool
        public var faultActiveHigh: Bool
        /// DIR level that pushes drug toward the catheter.
        public var forwardHigh: Bool
        public var stepPulseNanoseconds: Int64
        public var stepPeriodNanoseconds: Int64
        public var encoderCountsPerStep: Int64
        public var encoderTimeoutNanoseconds: Int64
        public init(enableActiveHigh: Bool, faultActiveHigh: Bool, forwardHigh: Bool = true, stepPulseNanoseconds: Int64,
                    stepPeriodNanoseconds: Int64, encoderCountsPerStep: Int64, encoderTimeoutNanoseconds: Int64) {
            self.enableActiveHigh = enableActiveHigh
            self.faultActiveHigh = faultActiveHigh
            self.forwardHigh = forwardHigh
            self.stepPulseNanoseconds = stepPulseNanoseconds
            self.stepPeriodNanoseconds = stepPeriodNanoseconds
            self.encoderCountsPerStep = encoderCountsPerStep
            self.encoderTimeoutNanoseconds = encoderTimeoutNanoseconds
        }
        /// DIR setup time before the first STEP edge (the slowest common drivers need 650 ns).
        public static let directionSetupNanoseconds: Int64 = 1_000
    }
    /// Interval of the encoder polls while a step waits for its edges.
    public static let encoderPollNanoseconds: Int64 = 1_000_000

}

/// A STEP/DIR stepper driver (A4988/DRV8825/TMC class) with an ENABLE line, an nFAULT input and a
/// single-channel encoder on the pump shaft.
///
/// One motor step is one pump stroke. `step` pulses STEP at the configured width and rate, then
/// waits until the encoder has shown the expected rising edges or the encoder timeout passes, so
/// that commanded and measured motion describe the same instant when the watchdog compares them.
/// Encoder edges are queued by the kernel; whoever reads them (a step or `feedback`) adds them to
/// one atomic count, so concurrent callers never lose or double an edge.
public final class StepperMotorDriver<Output: OutputLine, Input: InputLine>: MotorDriver {
    public let configuration: Stepper.Configuration
    private let stepLine: Output, directionLine: Output, enableLine: Output
    private let faultLine: Input, encoderLine: Input
    private let sleeper: any Sleeper
    private let clock: any MonotonicClock
    private let counts = Atomic<Int64>(0)

    /// `clock`: what the encoder timeout is measured on (a deadline, however late the sleeps wake).
    public init(configuration: Stepper.Configuration, step: Output, direction: Output, enable: Output, fault: Input, encoder: Input,
                sleeper: any Sleeper, clock: any MonotonicClock) {
        self.configuration = configuration
        stepLine = step
        directionLine = direction
        enableLine = enable
        faultLine = fault
        encoderLine = encoder
        self.sleeper = sleeper
        self.clock = clock
    }

    nonisolated(nonsending) public func enable() async throws(HALError) {
        try await enableLine.set(configuration.enableActiveHigh)
    }

    /// The safe state: ENABLE at its inactive level, so STEP pulses do nothing.
    nonisolated(nonsending) public func disable() async throws(HALError) {
        try await enableLine.set(!configuration.enableActiveHigh)
    }

    nonisolated(nonsending) public func step(count: Int, direction: StepDirection) async throws(HALError) {
        guard count > 0 else { return }
        let c = configuration
        let start = counts.load(ordering: .relaxed)
        try await directionLine.set((direction == .forward) == c.forwardHigh)
        await sleeper.sleep(nanoseconds: Stepper.Configuration.directionSetupNanoseconds)
        for _ in 0..<count {
            try await stepLine.set(true)
            await sleeper.sleep(nanoseconds: c.stepPulseNanoseconds)
            try await stepLine.set(false)
            await sleeper.sleep(nanoseconds: c.stepPeriodNanoseconds - c.stepPulseNanoseconds)
            try await drainEncoder(waitingUpTo: 0)
        }
        // Let the shaft's edges arrive before reporting the step as done.
        let expected = start + Int64(count) * c.encoderCountsPerStep
        if counts.load(ordering: .relaxed) < expected {
            try await drainEncoder(waitingUpTo: c.encoderTimeoutNanoseconds, until: expected)
        }
    }

    nonisolated(nonsending) public func feedback() async throws(HALError) -> MotorFeedback {
        try await drainEncoder(waitingUpTo: 0)
        let fault = try await faultLine.get() == configuration.faultActiveHigh
        return MotorFeedback(encoderCounts: counts.load(ordering: .relaxed), driverFault: fault,
                             droppedEncoderEdges: encoderLine.droppedEdges)
    }

    /// Reads queued encoder edges without blocking. With `waitingUpTo` 0 it only takes what is
    /// queued; otherwise it polls every millisecond (through the sleeper, so no thread is held)
    /// until `until` counts are reached or the timeout has passed on the clock (a deadline: late
    /// wakes under load never stretch it).
    nonisolated(nonsending) private func drainEncoder(waitingUpTo timeout: Int64, until target: Int64 = .max) async throws(HALError) {
        let deadline = timeout > 0 ? clock.monotonicNanoseconds() + timeout : 0
        while counts.load(ordering: .relaxed) < target {
            if let edge = try await encoderLine.waitForEdge(timeoutNanoseconds: 0) {
                if edge == .rising { counts.add(1, ordering: .relaxed) }
                continue
            }
            guard timeout > 0 else { return }
            let left = deadline - clock.monotonicNanoseconds()
            guard left > 0 else { return }
            await sleeper.sleep(nanoseconds: min(Stepper.encoderPollNanoseconds, left))
        }
    }
}
