import PumpCore
import PumpDrivers
import PumpHAL

/// A pressure sensor's board-file section, read: what pumpd needs to build the chip's driver and
/// what the board check asks of it. One type per chip (Sensors/), registered by model below.
public protocol PressureSensorSection: Sendable, Equatable {
    /// The chip's I²C address (no other chip of the board may use it).
    var address: UInt8 { get }
    /// The chip's driver on the board's bus.
    func makeSensor<Bus: I2CBus & I2CTransfers>(bus: Bus, sleeper: any Sleeper & MonotonicClock) -> AnyPressureSensor
    /// What the chip at `address` says of itself, read only (`pumpd --check-board`).
    nonisolated(nonsending) func identify<Bus: I2CBus & I2CTransfers>(bus: Bus) async throws(HALError) -> ChipIdentity
    /// The pressures the chip's readings can show; beyond the top it reports `aboveRange`.
    var measurableMMHg: ClosedRange<Double> { get }
    /// The board-file field that sets `measurableMMHg` (named when it is too narrow).
    static var measurableField: String { get }
}

extension PressureSensorSection {
    func isEqual(to other: any PressureSensorSection) -> Bool { (other as? Self) == self }
}

extension Board {
    /// The board's pressure sensor: whichever registered model its section names.
    public struct PressureSensorConfig: Sendable, Equatable {
        public let model: String
        public let section: any PressureSensorSection
        public init(model: String, section: any PressureSensorSection) {
            self.model = model
            self.section = section
        }
        public var address: UInt8 { section.address }
        public static func == (a: Self, b: Self) -> Bool { a.model == b.model && a.section.isEqual(to: b.section) }
    }

    /// A `pressure_sensor.model` a linux board may name, and the reader of its section.
    struct PressureSensorModel: Sendable {
        let name: String
        let read: @Sendable (inout ObjectReader, inout Fields) -> (any PressureSensorSection)?
        init<Section: PressureSensorSection>(_ name: String, _ reader: @escaping @Sendable (inout ObjectReader, inout Fields) -> Section?) {
            self.name = name
            self.read = { reader(&$0, &$1) }
        }
    }

    /// The registry. Adding a chip: its driver (PumpDrivers), its section (Sensors/), one line
    /// here, and its fields in docs/board-files.md.
    static let pressureSensorModels: [PressureSensorModel] = [
        PressureSensorModel("ads1115", { ADS1115.read(&$0, &$1) }),
        PressureSensorModel("abp2", { ABP2.read(&$0, &$1) }),
    ]

    /// The `pressure_sensor` section: the registered reader of its model on a linux board,
    /// nothing more on a simulated one.
    static func readPressureSensor(_ r: inout ObjectReader, _ f: inout Fields, kind: Kind?) -> PressureSensorConfig? {
        guard var p = f.object(&r, "pressure_sensor", required: true) else { return nil }
        let model = f.text(&p, "model", required: true)
        var sensor: PressureSensorConfig?
        switch (kind, model) {
        case (.simulated, "simulated"?):
            break
        case (nil, _), (_, nil):
            p.skipRemaining()
        case (.linux, let m?):
            if let registered = pressureSensorModels.first(where: { $0.name == m }) {
                let before = f.problems.count
                sensor = registered.read(&p, &f).map { PressureSensorConfig(model: m, section: $0) }
                if let s = sensor?.section, f.problems.count == before { requireMeasurable(s.measurableMMHg, field: type(of: s).measurableField, &f) }
            } else {
                f.fail("pressure_sensor.model", "must be \(pressureSensorModels.map(\.name).joined(separator: " or ")), got '\(m)'")
                p.skipRemaining()
            }
        case (.simulated, let m?):
            f.fail("pressure_sensor.model", "must be simulated, got '\(m)'")
            p.skipRemaining()
        }
        p.rejectUnknown(&f.problems)
        return sensor
    }

    /// A sensor must show every pressure from a resting line to the occlusion ceiling
    /// (`SafetyLimits.pressureSensorMustShowMMHg`); the scenario's simulated sensor is held to it too.
    static func requireMeasurable(_ shown: ClosedRange<Double>, field: String, _ f: inout Fields) {
        let needed = SafetyLimits().pressureSensorMustShowMMHg
        guard shown.lowerBound > needed.lowerBound || shown.upperBound < needed.upperBound else { return }
        f.fail(field, "gives \(mmHgText(shown.lowerBound))…\(mmHgText(shown.upperBound)) mmHg; the pressure sensor must show "
               + "\(mmHgText(needed.lowerBound))…\(mmHgText(needed.upperBound)) mmHg (a resting line up to the occlusion ceiling: "
               + "past its top a blocked line's pressure cannot be counted)")
    }

    private static func mmHgText(_ v: Double) -> String { String(Int(v.rounded(.towardZero))) }
}
