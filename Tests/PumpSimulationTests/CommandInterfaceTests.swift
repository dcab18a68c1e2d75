import Foundation
import PumpCommands
import PumpConfig
import PumpFakes
import PumpPlant
import Testing

/// pumpd with its command socket on the simulated board, a key folder, and stderr drained by a
/// thread (waits are on the daemon's own log lines, never on a clock).
final class RunningDaemon: @unchecked Sendable {
    let process = Process()
    let folder: URL
    var socket: String { folder.appendingPathComponent("pumpd.sock").path }
    var keys: String { folder.appendingPathComponent("keys").path }
    var journal: String { folder.appendingPathComponent("journal.sqlite").path }
    var clinician: String { keys + "/clinician.key" }
    var patient: String { keys + "/patient.key" }
    private let condition = NSCondition()
    private var text = ""
    private var ended = false

    /// A new folder with fresh keys (`pumpctl keys init`).
    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let k = try CLI.run(["keys", "init", "--dir", folder.appendingPathComponent("keys").path, "--device", "pump-e2e"])
        precondition(k.status == 0, k.err)
        let j = try CLI.run(["journal", "init", "--journal", journal])
        precondition(j.status == 0, j.err)
    }

    /// Another run on the same folder (journal, keys, socket path).
    init(after other: RunningDaemon) { folder = other.folder }

    func start(prescription: String = Daemon.path("docs/examples/baclofen-prescription.json")) throws {
        process.executableURL = Daemon.binary
        process.arguments = ["--board", Daemon.path("Boards/simulated.json"), "--prescription", prescription, "--journal", journal,
                             "--socket", socket, "--keys", keys]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let h = err.fileHandleForReading
        Thread { [self] in
            while true {
                let d = h.availableData
                condition.lock()
                if d.isEmpty { ended = true } else { text += String(decoding: d, as: UTF8.self) }
                condition.broadcast()
                condition.unlock()
                if d.isEmpty { return }
            }
        }.start()
        #expect(waitFor("command socket"), "\(log)")
    }

    /// Blocks until the log holds `s` (true) or the process ended without it (false).
    func waitFor(_ s: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !text.contains(s) && !ended { condition.wait() }
        return text.contains(s)
    }

    var log: String { condition.lock(); defer { condition.unlock() }; return text }
    var alive: Bool { process.isRunning }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        _ = waitFor("\u{0}")   // until stderr closed
        // Under Scripts/sanitizers pumpd is built with TSan or ASan: a report fails the test.
        #expect(!log.contains("ThreadSanitizer") && !log.contains("AddressSanitizer") && !log.contains("runtime error"), "\(log)")
    }

    /// `pumpctl <args> --socket … --key <key>`.
    func ctl(_ args: [String], key: String?) throws -> (status: Int32, out: String, err: String) {
        try CLI.run(args + ["--socket", socket] + (key.map { ["--key", $0] } ?? []))
    }

    func status() throws -> [String: Any] {
        let r = try ctl(["status", "--json"], key: clinician)
        let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        return o?["result"] as? [String: Any] ?? [:]
    }

    func write(_ name: String, _ text: String) throws -> String {
        let u = folder.appendingPathComponent(name)
        try text.write(to: u, atomically: true, encoding: .utf8)
        return u.path
    }
}

@Suite("Command interface (pumpd + pumpctl)", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: Daemon.binary.path)))
struct CommandInterfaceTests {
    @Test func clinicianAndPatientThroughTheSocket() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        #expect((try d.status())["state"] as? String == "delivering")

        // A clinician programs: side by side first, then committed.
        let rx = try d.write("new.json", """
            {"drug": {"name": "baclofen", "concentration_ug_per_ml": 500},
             "prescription": {"mode": "flex", "steps": [{"start": "00:00", "daily_dose_ug": 200}, {"start": "08:00", "daily_dose_ug": 300}],
                              "patient_bolus": {"dose_ug": 0.5, "lockout": "10m", "max_per_day": 2, "over": "2s"}}}
            """)
        let p = try d.ctl(["program", rx, "--yes"], key: d.clinician)
        #expect(p.status == 0 && p.out.contains("programmed"), "\(p)")
        #expect(p.out.contains("lockout") && p.out.contains("60 min") && p.out.contains("10 min"), "\(p.out)")
        let rxNow = (try d.status())["prescription"] as? [String: Any]
        #expect(rxNow?["mode"] as? String == "flex")
        // The patient may not program.
        let pp = try d.ctl(["program", rx, "--yes"], key: d.patient)
        #expect(pp.status == 1 && pp.err.contains("out of role"), "\(pp)")

        // Patient boluses within and beyond the limits.
        let b1 = try d.ctl(["bolus"], key: d.patient)
        #expect(b1.status == 0 && b1.out.contains("next allowed in 600 s"), "\(b1)")
        #expect(d.waitFor("bolus completed"))                     // 1 µL over 2 s
        let b2 = try d.ctl(["bolus"], key: d.patient)
        #expect(b2.status == 1 && b2.err.contains("lockout: next bolus allowed in"), "\(b2)")
        let bolus = (try d.status())["patient_bolus"] as? [String: Any]
        #expect((bolus?["next_allowed_in_s"] as? Double ?? 0) > 590)

        // Forged, replayed and expired requests are refused with their reason, and logged.
        let saved = d.folder.appendingPathComponent("suspend.req").path
        let s = try d.ctl(["suspend", "--save-request", saved], key: d.clinician)
        #expect(s.status == 0, "\(s)")
        let replay = try CLI.run(["send-raw", saved, "--socket", d.socket])
        #expect(replay.status == 1 && replay.out.contains("replayed"), "\(replay)")
        var bytes = try String(contentsOfFile: saved, encoding: .utf8)
        bytes = bytes.replacingOccurrences(of: "suspend", with: "resume")   // the body changed, the signature kept
        let forgedPath = try d.write("forged.req", bytes)
        let forged = try CLI.run(["send-raw", forgedPath, "--socket", d.socket])
        #expect(forged.status == 1 && forged.out.contains("forged"), "\(forged)")
        let expired = try d.ctl(["resume", "--expires-in=-5"], key: d.clinician)
        #expect(expired.status == 1 && expired.err.contains("expired"), "\(expired)")
        #expect((try d.status())["state"] as? String == "suspended")      // none of them resumed it
        #expect(try d.ctl(["resume"], key: d.clinician).status == 0)

        // A refill with a discrepancy: ~1.4 mL short of what the ledger expects (20 mL fill).
        let preview = try d.ctl(["refill", "--withdrawn-ml", "18.6", "--added-ml", "20", "--yes"], key: d.clinician)
        #expect(preview.status == 0 && preview.out.contains("possible over-infusion"), "\(preview)")
        let alarms = (try d.status())["alarms"] as? [[String: Any]] ?? []
        #expect(alarms.contains { $0["type"] as? String == "refill_discrepancy" })
        let refills = (try d.status())["refills"] as? [[String: Any]] ?? []
        #expect(refills.count == 1 && refills[0]["beyond_tolerance"] as? Bool == true)
        d.stop()

        // The event log holds every request, accepted and refused, with the reason.
        let log = try CLI.run(["log", "--journal", d.journal, "--type", "remote_command"])
        for reason in ["forged", "replayed", "expired", "out of role", "clinician program", "patient patient_bolus"] {
            #expect(log.out.contains(reason), "missing \(reason): \(log.out)")
        }

        // After a restart the programmed prescription (not the file) is in force, and the counter
        // still refuses the old request.
        let again = RunningDaemon(after: d)
        try again.start()
        defer { again.stop() }
        #expect(((try again.status())["prescription"] as? [String: Any])?["mode"] as? String == "flex")
        let late = try CLI.run(["send-raw", saved, "--socket", again.socket])
        #expect(late.status == 1 && (late.out.contains("replayed") || late.out.contains("expired")), "\(late)")
    }

    /// The finding "a command the client reported as failed ran later": pumpctl waited 10 s for a
    /// request that lived 30 s; a bolus it reported as failed ran 8 s later. Now pumpctl waits at
    /// least until the request expires and pumpd admits nothing with under 2 s of life left. pumpd
    /// is held (SIGSTOP) past the request's 3 s life: pumpctl gives up, and the request, read once
    /// pumpd runs again, is refused and never runs.
    @Test func aCommandReportedAsFailedNeverRunsLater() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        kill(d.process.processIdentifier, SIGSTOP)
        let gaveUp = try d.ctl(["suspend", "--expires-in", "3"], key: d.clinician)
        kill(d.process.processIdentifier, SIGCONT)
        #expect(gaveUp.status == 2 && gaveUp.err.contains("no answer from pumpd within 3 s"), "\(gaveUp)")
        #expect(d.waitFor("clinician ?: refused, body.expires_utc_ms: expired"), "\(d.log)")
        #expect((try d.status())["state"] as? String == "delivering")
        // In time, the same command runs (the refusal consumed no counter).
        #expect(try d.ctl(["suspend"], key: d.clinician).status == 0)
        #expect((try d.status())["state"] as? String == "suspended")
    }

    /// The finding "one thread serves every connection and an idle one costs 2 s": with 12 idle
    /// connections open, a clinician bolus timed out. Now (SwiftNIO) 100 idle connections and a
    /// client trickling a frame delay no one, and pumpd holds at most 64 connections: a newcomer
    /// closes the oldest one with nothing in flight. The answer time is printed, not judged
    /// (docs/commands.md, "Threat model and what it answers": measured under 50 idle connections).
    @Test func idleAndSlowClientsDelayNoOne() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let pid = d.process.processIdentifier
        func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }
        let before = openDescriptors()
        for idle in [50, 100] {
            var held = (0..<idle).compactMap { _ in rawConnect(d.socket) }
            #expect(held.count == idle)
            // A slow sender: a header announcing 100 bytes, then one byte.
            if let slow = rawConnect(d.socket) {
                held.append(slow)
                _ = [UInt8]([0, 0, 0, 100, 0x7b]).withUnsafeBytes { Glibc.send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try d.ctl(["suspend"], key: d.clinician)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            #expect(r.status == 0, "\(idle) idle connections: \(r)")
            let extra = openDescriptors() - before
            #expect(extra <= 64, "pumpd holds \(extra) more descriptors with \(idle + 1) connections open")
            print("command socket: suspend answered in \(String(format: "%.0f", ms)) ms (pumpctl's whole run) with \(idle) idle connections and a slow sender open; pumpd holds \(extra) of them")
            #expect(try d.ctl(["resume"], key: d.clinician).status == 0)
            held.forEach { close($0) }
        }
        #expect((try d.status())["state"] as? String == "delivering")
    }

    /// The findings "log injection" (an unknown envelope key's newline forged a line in
    /// `pumpctl log`; an escape sequence could rewrite a terminal) and "the journal and
    /// --save-request files are created 0644".
    @Test func untrustedTextIsEscapedAndFilesAreOwnerOnly() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let forged = "x\n2026-01-01T00:00:00Z  #1  alarm_raised          occlusion forged\u{1b}[2J\u{9b}"
        let env = JSONValue.object(["v": .number(1), "body": .string("{}"), "mac": .string("00"), forged: .number(1)]).canonicalText
        let answer = rawExchange(Wire.frame(Data(env.utf8)), socket: d.socket).map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(answer.contains("unknown field"), "\(answer)")
        #expect(d.waitFor("unknown field"))
        let saved = d.folder.appendingPathComponent("status.req").path
        #expect(try d.ctl(["status", "--save-request", saved], key: d.clinician).status == 0)
        d.stop()
        let log = try CLI.run(["log", "--journal", d.journal, "--type", "remote_command"])
        for (name, text) in [("pumpd's log", d.log), ("pumpctl log", log.out)] {
            #expect(!text.contains("\u{1b}") && !text.contains("\u{9b}"), "\(name): a raw control character")
            #expect(!text.contains("\n2026-01-01T00:00:00Z"), "\(name): a forged line")
            #expect(text.contains("x\\u{A}2026-01-01T00:00:00Z"), "\(name): \(text)")
        }
        for path in [d.journal, d.journal + "-wal", saved, d.clinician + ".counter", d.keys + "/patient.key"] where FileManager.default.fileExists(atPath: path) {
            var st = stat()
            stat(path, &st)
            #expect(st.st_mode & 0o077 == 0, "\(path): mode \(String(st.st_mode & 0o777, radix: 8))")
        }
        #expect(FileManager.default.fileExists(atPath: saved) && FileManager.default.fileExists(atPath: d.journal))
    }

    /// The outside attack on the SwiftNIO server: a client that pipelined a suspend and hundreds of
    /// status requests in one write and read nothing for over 2 s had its suspend run and its
    /// connection closed with the answers unwritten. Now one request at a time, the next frame
    /// read only once the last answer is in the client's socket: every request that ran is
    /// answered, in order.
    @Test func aPipeliningClientThatReadsLateGetsEveryAnswer() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let key = try KeyFile.read(path: d.clinician)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let start = nowMs * 1000
        var frames = Data()
        let n = 400
        for i in 0...n {
            let command: JSONValue = .object(["type": .string(i == 0 ? "suspend" : "status")])
            let body = RequestBody(key: key, counter: start + Int64(i),
                                   expiresUTCMilliseconds: nowMs + 60_000, command: command)
            frames.append(Wire.frame(Signer.envelope(body, key: key)))
        }
        guard let fd = rawConnect(d.socket) else { Issue.record("no connection"); return }
        defer { close(fd) }
        sendInBackground(frames, to: fd)
        Thread.sleep(forTimeInterval: 2.5)   // longer than the server's 2 s idle limit: real time is what is attacked
        let answers = readAnswers(fd, count: n + 1)
        #expect(answers.count == n + 1, "\(answers.count) answers to \(n + 1) requests")
        let refused = answers.filter { !$0.ok }.map { $0.error?.description ?? "?" }
        #expect(refused.isEmpty, "\(refused.prefix(3))")
        #expect((try d.status())["state"] as? String == "suspended")
    }

    /// Finding (issue 18, part 5, from the AddressSanitizer run): with refusals answered on the
    /// event loop, the next pipelined frame was taken inside the last answer's write completion, so
    /// a long pipeline recursed until pumpd's stack overflowed (5 000 frames on one connection
    /// crash the old server under ASan; 1 000 do not). How many are answered before the
    /// connection's 10 s of real time run out depends on the machine; that pumpd lives, refuses
    /// each one it answers and serves the next client does not.
    @Test func aLongPipelineDoesNotExhaustTheStack() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let answers = pipelineJunk(0..<5_000, to: d)
        #expect(!answers.isEmpty && answers.allSatisfy { !$0.ok }, "\(answers.count) answers")
        #expect(try d.ctl(["status"], key: d.clinician).status == 0)   // alive, and serving
    }

    /// Finding (issue 18, floods): every refused request, unauthenticated junk included, was an
    /// event in memory, a journal row and a log line (~1 MB/s of journal at 5 000 junk/s). Now the
    /// first `RefusalDigest.recordedPerInterval` refusals of an interval are recorded one by one and
    /// the rest counted into one summary: every refusal the client saw is accounted for, by count.
    @Test func aFloodOfJunkIsCountedNotRecordedOneByOne() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        // 3 000 junk frames, pipelined on twenty connections of 150: each connection must be
        // answered within the server's `connectionSeconds` (10 s) of real time, which is not what
        // this test is about. 3 000 on one connection under ThreadSanitizer on a slow 2-core
        // machine were not (2 866 answered), nor 1 000 on each of three with the machine loaded
        // (2 614 of 3 000: a connection got under 100 answers a second); 150 need 15 a second.
        // (The stack's regression case is `aLongPipelineDoesNotExhaustTheStack`.)
        let connections = 20, perConnection = 150, n = connections * perConnection
        for c in 0..<connections {
            let answers = pipelineJunk(c * perConnection..<(c + 1) * perConnection, to: d)
            #expect(answers.count == perConnection && answers.allSatisfy { !$0.ok }, "connection \(c): \(answers.count) answers")
        }
        #expect(try d.ctl(["status"], key: d.clinician).status == 0)   // a real request still served
        d.stop()
        let rows = try JSONSerialization.jsonObject(with: Data(try CLI.run(["log", "--journal", d.journal, "--json",
                                                                            "--type", "remote_command,remote_refusals"]).out.utf8)) as? [[String: Any]] ?? []
        let refused = rows.filter { $0["type"] as? String == "remote_command" && ($0["detail"] as? String ?? "").contains("refused") }
        let summaries = rows.filter { $0["type"] as? String == "remote_refusals" }
        let counted = summaries.compactMap { ($0["detail"] as? String)?.split(separator: " ").first.flatMap { Int($0) } }.reduce(0, +)
        #expect(refused.count + counted == n, "\(refused.count) recorded + \(counted) counted, \(n) refused")
        #expect(refused.count <= RefusalDigest.recordedPerInterval * max(1, summaries.count), "\(refused.count) recorded one by one")
        #expect(summaries.allSatisfy { ($0["detail"] as? String ?? "").contains("envelope") }, "\(summaries)")
        let logLines = d.log.split(separator: "\n").filter { $0.contains("command interface:") && $0.contains("refused") }
        #expect(logLines.count <= refused.count + summaries.count, "\(logLines.count) log lines")
    }

    /// From the outside attack: a request the controller refused (`resume` while delivering, a
    /// second patient bolus while one runs) was logged `accepted`, its refusal only in another row.
    /// Now one row per request with the controller's verdict.
    @Test func aCommandTheControllerRefusesIsLoggedAsRefused() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let r = try d.ctl(["resume"], key: d.clinician)
        #expect(r.status != 0, "\(r.out) \(r.err)")
        #expect(try d.ctl(["suspend"], key: d.clinician).status == 0)
        d.stop()
        let rows = try CLI.run(["log", "--journal", d.journal, "--type", "remote_command"]).out.split(separator: "\n")
        let resume = rows.filter { $0.contains("clinician resume") }, suspend = rows.filter { $0.contains("clinician suspend") }
        #expect(resume.count == 1 && resume.allSatisfy { $0.contains("refused") && !$0.contains("accepted") }, "\(resume)")
        #expect(suspend.count == 1 && suspend.allSatisfy { $0.contains("accepted") }, "\(suspend)")
    }

    /// From the outside attack: 64 connections that wrote junk and never read their answers held
    /// every place in the table (each "busy" with an answer the client would not take), and a
    /// clinician was refused 10 times out of 10. A connection whose answer is ready but unread
    /// now gives its place up to a newcomer. (Release only: 166 000 frames are minutes under the
    /// sanitizers' debug builds.)
    @Test(.disabled(if: Self.debugBuild, "the sanitizer runs build debug"))
    func connectionsThatNeverReadDoNotLockClinicianOut() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let junk = Data((0..<2_600).flatMap { _ in Wire.frame(Data(#"{"v":1}"#.utf8)) })
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for _ in 0..<64 { if let fd = rawConnect(d.socket) { fds.append(fd) } }
        for fd in fds { sendInBackground(junk, to: fd) }
        Thread.sleep(forTimeInterval: 3)   // real time is what is attacked: the answers back up
        var ok = 0
        for _ in 0..<3 where try d.ctl(["status"], key: d.clinician).status == 0 { ok += 1 }
        #expect(ok == 3, "\(ok) of 3 clinician requests answered")
    }

    static var debugBuild: Bool {
        #if DEBUG
        true
        #else
        false
        #endif
    }

    /// Writes all of `bytes` to `fd` from a thread of its own (the test reads, or does not, meanwhile).
    private func sendInBackground(_ bytes: Data, to fd: Int32) {
        Thread {
            var sent = 0
            while sent < bytes.count {
                let r = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                if r <= 0 { return }
                sent += r
            }
        }.start()
    }

    /// One connection: a junk frame per number in `range`, all sent at once from another thread;
    /// the answers read until there are as many or the connection ends.
    private func pipelineJunk(_ range: Range<Int>, to d: RunningDaemon) -> [Response] {
        var frames = Data()
        for i in range { frames.append(Wire.frame(Data(#"{"v":1,"junk":\#(i)}"#.utf8))) }
        guard let fd = rawConnect(d.socket) else { Issue.record("no connection"); return [] }
        defer { close(fd) }
        sendInBackground(frames, to: fd)
        return readAnswers(fd, count: range.count)
    }

    /// Reads `count` answer frames (fewer if the daemon closes first).
    private func readAnswers(_ fd: Int32, count: Int) -> [Response] {
        var got = Data(), answers: [Response] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while answers.count < count {
            let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65_536) }
            if r <= 0 { break }
            got.append(contentsOf: buf[0..<r])
            while got.count >= 4 {
                let len = Int(got[got.startIndex]) << 24 | Int(got[got.startIndex + 1]) << 16 | Int(got[got.startIndex + 2]) << 8 | Int(got[got.startIndex + 3])
                guard got.count >= 4 + len else { break }
                if let a = try? Response.parse(Data(got[(got.startIndex + 4)..<(got.startIndex + 4 + len)])) { answers.append(a) }
                got = Data(got.dropFirst(4 + len))
            }
        }
        return answers
    }

    @Test func noSocketWithoutProvisionedKeys() throws {
        let d = try RunningDaemon()
        let p = Process()
        p.executableURL = Daemon.binary
        p.arguments = ["--board", Daemon.path("Boards/simulated.json"), "--prescription", Daemon.path("docs/examples/baclofen-prescription.json"),
                       "--journal", d.journal, "--socket", d.socket]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // A command-line error: the usage exit status (64), which pumpd.service does not restart.
        #expect(p.terminationStatus == 64 && e.contains("--socket needs --keys"), "\(e)")
        chmod(d.patient, 0o644)
        p.arguments! += ["--keys", d.keys]
        let q = Process()
        q.executableURL = Daemon.binary
        q.arguments = p.arguments
        let err2 = Pipe()
        q.standardError = err2
        try q.run()
        let e2 = String(decoding: err2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        q.waitUntilExit()
        #expect(q.terminationStatus == 2 && e2.contains("patient.key") && e2.contains("0600"), "\(e2)")
    }

    /// Any byte sequence on the socket: the daemon answers or hangs up, stays up, and nothing
    /// changes. Inputs: random bytes, bad headers, and mutations of valid signed requests.
    @Test func theDaemonSurvivesFuzzedFrames() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        let before = try d.status()
        let key = try KeyFile.read(path: d.clinician)
        var rng = SplitMix64(seed: 6)
        let commands: [[String: JSONValue]] = [
            ["type": .string("suspend")], ["type": .string("clinician_bolus"), "dose_ug": .number(50), "over": .string("10m")],
            ["type": .string("set_low_reservoir"), "low_reservoir_ml": .number(19)],
            ["type": .string("refill"), "withdrawn_ml": .number(1), "added_ml": .number(20), "confirmed": .bool(true)],
        ]
        var sent = 0, answered = 0, accepted = 0
        for i in 0..<FuzzBudget.socketInputs {
            var frame: Data
            switch i % 4 {
            case 0: frame = Data((0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            case 1:  // a header announcing a size that never comes, or too big, or zero
                let n = [0, 1, 65_537, 1 << 31, Int(rng.next() % 100)][Int(rng.next() % 5)]
                frame = Data([UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)])
                frame.append(Data((0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
            default: // a valid request (counter 1: the daemon's counters are higher) mutated
                let body = RequestBody(key: key, counter: Int64(1 + rng.next() % 1000),
                                       expiresUTCMilliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 30_000,
                                       command: .object(commands[Int(rng.next() % 4)]))
                var payload = [UInt8](Signer.envelope(body, key: key))
                for _ in 0..<(1 + Int(rng.next() % 3)) where !payload.isEmpty {
                    let at = Int(rng.next() % UInt64(payload.count))
                    switch rng.next() % 3 {
                    case 0: payload[at] ^= UInt8(1 << (rng.next() % 8))
                    case 1: payload.removeSubrange(at..<min(payload.count, at + Int(rng.next() % 16)))
                    default: payload.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    }
                }
                frame = Wire.frame(Data(payload))
            }
            sent += 1
            if let answer = rawExchange(frame, socket: d.socket) {
                answered += 1
                if (try? Response.parse(answer))?.ok == true { accepted += 1 }
            }
        }
        #expect(d.alive)
        #expect(accepted == 0, "a mutated request was accepted")
        let after = try d.status()
        #expect(after["state"] as? String == before["state"] as? String)
        #expect((after["reservoir"] as? [String: Any])?["low_alarm_ml"] as? Double == 2)
        #expect((after["refills"] as? [Any])?.isEmpty == true)
        print("socket fuzz: \(sent) inputs, \(answered) answered, \(accepted) accepted; pumpd alive")
    }

    /// A connection that sends nothing (nil if connect failed).
    private func rawConnect(_ path: String) -> Int32? {
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard ok == 0 else { close(fd); return nil }
        return fd
    }

    /// One connection: write everything, read until the daemon closes (nil: no answer frame).
    private func rawExchange(_ bytes: Data, socket path: String) -> Data? {
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard ok == 0 else { return nil }
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))                 // a short frame ends here: the daemon sees EOF
        var out = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        guard out.count > 4 else { return nil }
        return out.subdata(in: 4..<out.count)
    }
}

extension FuzzBudget {
    /// Frames sent to the real daemon per test run (each one a connection); PUMP_FUZZ_SOCKET=N for more.
    static let socketInputs = inputs(optimized: 5_000, debug: 5_000, override: ProcessInfo.processInfo.environment["PUMP_FUZZ_SOCKET"])
}
