/// `0 <sectors> linear <device> <offset>`: a device-mapper table of one linear target, and the
/// tables that fail part of it. Its own type: table text only, nothing run.
struct LinearTable {
    let sectors: Int
    let device: String
    let offset: Int
    var text: String { "0 \(sectors) linear \(device) \(offset)\n" }

    init?(_ line: String) {
        let f = line.split(separator: " ")
        guard f.count == 5, f[0] == "0", f[2] == "linear", let n = Int(f[1]), let o = Int(f[4]) else { return nil }
        sectors = n
        device = String(f[3])
        offset = o
    }

    /// The same map with every sector from `from` on failing (the `error` target).
    func failing(from: Int) -> String? {
        guard from > 0, from < sectors else { return nil }
        return "0 \(from) linear \(device) \(offset)\n\(from) \(sectors - from) error\n"
    }

    /// The same map with `bad` failing and the rest as it was.
    func failing(sectors bad: Range<Int>) -> String {
        var lines: [String] = []
        if bad.lowerBound > 0 { lines.append("0 \(bad.lowerBound) linear \(device) \(offset)") }
        lines.append("\(bad.lowerBound) \(bad.count) error")
        if bad.upperBound < sectors { lines.append("\(bad.upperBound) \(sectors - bad.upperBound) linear \(device) \(offset + bad.upperBound)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
