import Foundation
import Testing

/// Seconds since the Unix epoch of an ISO 8601 UTC time such as "2026-03-28T23:00:00Z".
/// (Parsing a UTC timestamp involves no time-zone rules; `epochSanity` checks one value by hand.)
func utc(_ iso: String) -> Double {
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: iso) else { preconditionFailure("not an ISO 8601 time: \(iso)") }
    return date.timeIntervalSince1970
}

let hour = 3600.0
let minute = 60.0

/// |actual − expected| ≤ tolerance × max(1, |expected|).
func close(_ actual: Double, _ expected: Double, tolerance: Double = 1e-9) -> Bool {
    abs(actual - expected) <= tolerance * max(1, abs(expected))
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so random tests replay exactly.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
}

@Test func epochSanity() {
    // 1970-01-01 → 2026-01-01 is 56 years with 14 leap days (1972, 1976, …, 2024):
    // (56 × 365 + 14) × 86 400 = 20 454 × 86 400 = 1 767 225 600.
    #expect(utc("2026-01-01T00:00:00Z") == 1_767_225_600)
    #expect(utc("2026-03-29T01:00:00Z") - utc("2026-03-28T23:00:00Z") == 2 * hour)
}
