/// One problem with an input, named by the path of the offending field
/// (`prescription.steps[2].start: must be HH:MM`).
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// Every problem found in one input. Validation never stops at the first one.
public struct ValidationErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [FieldError]
    public init(_ problems: [FieldError]) { self.problems = problems }
    /// One line: the first problem, then the others separated by "; ".
    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

/// Converts a user-entered decimal amount (µg, mL, µg/mL) into thousandths, refusing what cannot be
/// represented: NaN, infinities, negatives and values beyond `max`.
public enum FixedPointInput {
    public static func thousandths(
        _ value: Double, path: String, min: Double = 0, max: Double, allowZero: Bool = false,
        into problems: inout [FieldError]
    ) -> Int64? {
        guard value.isFinite else {
            problems.append(FieldError(path, "must be a finite number"))
            return nil
        }
        if value < min || (!allowZero && value == 0) {
            problems.append(FieldError(path, allowZero ? "must be at least \(min)" : "must be greater than \(min)"))
            return nil
        }
        if value > max {
            problems.append(FieldError(path, "must be at most \(max)"))
            return nil
        }
        let scaled = (value * 1000).rounded()
        if abs(scaled - value * 1000) > Swift.max(1e-6, 1e-12 * abs(value * 1000)) {
            problems.append(FieldError(path, "has more than three decimals"))
            return nil
        }
        // A positive amount too small to show in thousandths (1e-10, 1e-300) would become zero,
        // where zero is allowed too (an outside attack had 1e-300 mL accepted as 0).
        if scaled == 0, value != 0 {
            problems.append(FieldError(path, allowZero ? "has more than three decimals" : "must be greater than \(min)"))
            return nil
        }
        return Int64(scaled)
    }
}
