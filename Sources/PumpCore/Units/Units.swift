/// Integer fixed-point quantities. The unit is in the type name so that a volume can never be
/// added to a dose by mistake, and no `Double` ever accumulates a delivered amount.

/// A quantity stored as an integer count of its unit. Ordered by value.
public protocol FixedPointQuantity: Hashable, Comparable, Sendable {
    associatedtype Raw: FixedWidthInteger & SignedInteger & Sendable
    var value: Raw { get set }
    init(_ value: Raw)
}

extension FixedPointQuantity {
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
    public static var zero: Self { Self(0) }
}

/// A quantity for which sums and differences mean something (volumes, doses, durations), unlike
/// concentrations or pressures.
public protocol AdditiveQuantity: FixedPointQuantity {}

extension AdditiveQuantity {
    public static func + (a: Self, b: Self) -> Self { Self(a.value + b.value) }
    public static func - (a: Self, b: Self) -> Self { Self(a.value - b.value) }
    public static func * (a: Self, k: Raw) -> Self { Self(a.value * k) }
    public static func += (a: inout Self, b: Self) { a.value += b.value }
    public static func -= (a: inout Self, b: Self) { a.value -= b.value }
}

/// A volume in nanolitres (1 mL = 1,000,000 nL). One motor stroke is 50–1000 nL.
public struct Nanolitres: AdditiveQuantity, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func microlitres(_ ul: Int64) -> Nanolitres { Nanolitres(ul * 1_000) }
    public static func millilitres(_ ml: Int64) -> Nanolitres { Nanolitres(ml * 1_000_000) }
    public var microlitres: Double { Double(value) / 1_000 }
    public var millilitres: Double { Double(value) / 1_000_000 }
    public var description: String { "\(Decimal3.format(value)) µL" }
}

/// A drug amount in nanograms (1 µg = 1000 ng): ziconotide doses are fractions of a microgram.
public struct Nanograms: AdditiveQuantity, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func micrograms(_ ug: Int64) -> Nanograms { Nanograms(ug * 1_000) }
    public var micrograms: Double { Double(value) / 1_000 }
    public var description: String { "\(Decimal3.format(value)) µg" }
}

/// A dose rate expressed the way clinicians program it: nanograms per day.
public struct NanogramsPerDay: AdditiveQuantity, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func microgramsPerDay(_ ug: Int64) -> Self { Self(ug * 1_000) }
    public var description: String { "\(Decimal3.format(value)) µg/day" }
}

/// A drug concentration in nanograms per millilitre (= µg/L). Ziconotide is 25 µg/mL,
/// morphine up to 20 mg/mL, so µg/mL with three decimals covers every drug in the library.
public struct NanogramsPerMillilitre: FixedPointQuantity, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func microgramsPerMillilitre(_ ug: Int64) -> Self { Self(ug * 1_000) }
    public var description: String { "\(Decimal3.format(value)) µg/mL" }

    /// nL per mL: the one factor between a dose (ng) and its volume (nL) at a concentration
    /// (ng/mL): nL = ng × 10⁶ / (ng/mL).
    public static let nanolitresPerMillilitre: Int128 = 1_000_000

    /// The volume that holds `dose`, rounded down to a whole nanolitre (never more drug than asked).
    public func volume(of dose: Nanograms) -> Nanolitres {
        precondition(value > 0, "concentration must be positive")
        return Nanolitres(Int64((Int128(dose.value) * Self.nanolitresPerMillilitre) / Int128(value)))
    }
    /// The volume per day that carries `dose` per day, unrounded: nL/day = ng/day × 10⁶ / (ng/mL).
    public func nanolitresPerDay(_ dose: NanogramsPerDay) -> Double {
        Double(dose.value) * Double(Self.nanolitresPerMillilitre) / Double(value)
    }
    /// The same, rounded down to a whole nanolitre per day (limits are checked on this).
    public func wholeNanolitresPerDay(_ dose: NanogramsPerDay) -> Int128 {
        Int128(dose.value) * Self.nanolitresPerMillilitre / Int128(value)
    }
    /// The drug in `volume`, rounded down to a whole nanogram.
    public func dose(in volume: Nanolitres) -> Nanograms {
        Nanograms(Int64((Int128(volume.value) * Int128(value)) / Self.nanolitresPerMillilitre))
    }
}

/// A pressure in hundredths of a millimetre of mercury: the resolution of the catheter sensor.
public struct CentiMMHg: FixedPointQuantity, CustomStringConvertible {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public init(mmHg: Double) { self.value = Int32((mmHg * 100).rounded()) }
    public var mmHg: Double { Double(value) / 100 }
    public var description: String { String(describing: mmHg) + " mmHg" }
}

/// A span of time in nanoseconds (Int64 holds 292 years).
public struct Nanoseconds: AdditiveQuantity, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func seconds(_ s: Int64) -> Self { Self(s * 1_000_000_000) }
    public static func milliseconds(_ ms: Int64) -> Self { Self(ms * 1_000_000) }
    public static func minutes(_ m: Int64) -> Self { Self(m * 60_000_000_000) }
    public static func hours(_ h: Int64) -> Self { Self(h * 3_600_000_000_000) }
    public static func days(_ d: Int64) -> Self { Self(d * 86_400_000_000_000) }
    public static let perDay: Int64 = 86_400_000_000_000
    public var seconds: Double { Double(value) / 1e9 }
    public var description: String { "\(seconds) s" }
}

/// A point on the controller's monotonic clock, in nanoseconds since the controller's epoch.
/// Dosing arithmetic uses only this; wall-clock time is used only to look up the schedule.
public struct MonotonicInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static let zero = MonotonicInstant(nanoseconds: 0)
    public static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: Self, d: Nanoseconds) -> Self { Self(nanoseconds: a.nanoseconds + d.value) }
    public static func - (a: Self, d: Nanoseconds) -> Self { Self(nanoseconds: a.nanoseconds - d.value) }
    public static func - (a: Self, b: Self) -> Nanoseconds { Nanoseconds(a.nanoseconds - b.nanoseconds) }
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var description: String { "t+\(seconds)s" }
}

/// Wall-clock time: seconds since 1970-01-01T00:00:00Z (UTC). Used only to find the flex step in force.
public struct UTCSeconds: Hashable, Comparable, Sendable {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// A battery state of charge in tenths of a percent (the MAX17048 reports 1/256 %).
public struct PerMille: FixedPointQuantity, CustomStringConvertible {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public init(percent: Double) { self.value = Int32((percent * 10).rounded()) }
    public var percent: Double { Double(value) / 10 }
    public var description: String { "\(percent) %" }
}

/// A voltage in millivolts.
public struct Millivolts: FixedPointQuantity {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
}

/// Formats a fixed-point value with three implied decimals ("1997.750" → "1997.75").
public enum Decimal3 {
    public static func format(_ thousandths: Int64) -> String {
        let sign = thousandths < 0 ? "-" : ""
        let m = thousandths.magnitude
        let whole = m / 1000
        var frac = String(m % 1000)
        while frac.count < 3 { frac = "0" + frac }
        while frac.hasSuffix("0") { frac.removeLast() }
        return frac.isEmpty ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
    }
}
