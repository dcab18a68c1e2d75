/// The drug that entered the line, first in, first out: what any prefix of it carried.

/// The fluid that entered a first-in-first-out line, as stretches at one concentration each, with
/// the drug before each stretch summed: the drug in any prefix is one lookup.
struct FluidSequence: Sendable {
    private var ends: [Int64] = []
    private var concentrations: [Double] = []
    private var microgramsBefore: [Double] = []
    private(set) var total: Int64 = 0

    mutating func append(_ nanolitres: Int64, microgramsPerMillilitre c: Double) {
        guard nanolitres > 0 else { return }
        if concentrations.last == c {
            ends[ends.count - 1] += nanolitres
        } else {
            microgramsBefore.append(microgramsBefore.last.map { $0 + Double(total - start(of: ends.count - 1)) * concentrations.last! / 1_000_000 } ?? 0)
            ends.append(total + nanolitres)
            concentrations.append(c)
        }
        total += nanolitres
    }

    private func start(of i: Int) -> Int64 { i > 0 ? ends[i - 1] : 0 }

    /// The drug in the first `x` nanolitres, in µg.
    func micrograms(inFirst x: Int64) -> Double {
        guard x > 0, !ends.isEmpty else { return 0 }
        var lo = 0, hi = ends.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if ends[mid] >= x { hi = mid } else { lo = mid + 1 } }
        let inside = min(x, ends[lo]) - start(of: lo)
        return microgramsBefore[lo] + Double(inside) * concentrations[lo] / 1_000_000
    }

    /// The concentration at position `x` (the fluid the `x`-th nanolitre belongs to).
    func concentration(at x: Int64) -> Double? {
        guard let i = ends.firstIndex(where: { $0 > x }) else { return concentrations.last }
        return concentrations[i]
    }
}
