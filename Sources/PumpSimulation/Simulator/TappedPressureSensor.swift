/// A pressure sensor that remembers the controller's last reading, for the shadow baseline detector.
import PumpCore
import PumpHAL
import PumpPlant
import Synchronization

/// Remembers each reading the controller took, for the shadow baseline detector.
final class TappedPressureSensor: PressureSensor {
    /// Concrete, not `any PressureSensor`: an async call through an existential is not
    /// specialized and allocates on every read (two reads a tick).
    private let inner: FakePressureSensor
    /// The last reading's raw value, or `none` after a failed read (one atomic word: cheap per tick).
    private let last = Atomic<Int64>(TappedPressureSensor.none)
    private static let none = Int64.min
    init(_ inner: FakePressureSensor) { self.inner = inner }
    nonisolated(nonsending) func read() async throws(HALError) -> CentiMMHg {
        do {
            let r = try await inner.read()
            last.store(Int64(r.value), ordering: .relaxed)
            return r
        } catch {
            last.store(Self.none, ordering: .relaxed)
            throw error
        }
    }
    func lastReading() -> CentiMMHg? {
        let v = last.load(ordering: .relaxed)
        return v == Self.none ? nil : CentiMMHg(Int32(v))
    }
}
