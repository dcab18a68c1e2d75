import Foundation

/// Where each thread of a process is, read from /proc: what a failed check prints for a silent
/// process. Its own file because the report and the watchdog case both take such dumps.
enum ThreadDump {

    /// Each thread of `pid`: its name, scheduler state and the kernel function it waits in.
    /// `kernelStacks`: also the top of each thread's kernel stack (/proc/…/stack, root only).
    static func threads(of pid: pid_t, kernelStacks: Bool = false) -> [String] {
        let dir = "/proc/\(pid)/task"
        let tids = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        return tids.map { tid in
            func read(_ f: String) -> String { ((try? String(contentsOfFile: "\(dir)/\(tid)/\(f)", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines) }
            let stat = read("stat")
            // "tid (comm) S ...": the state follows the closing parenthesis.
            let state = stat.split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "?"
            let stack = kernelStacks ? " stack=" + read("stack").split(separator: "\n").prefix(4).map { $0.split(separator: " ").last.map(String.init) ?? "" }.joined(separator: "<") : ""
            return "\(tid) \(read("comm")) state=\(state) wchan=\(read("wchan"))\(stack)"
        }
    }
}
