import Foundation
import PumpJournal
import Testing

/// The journal as the pump's memory (issue 16): one owner, never a silent fresh start, and a loss
/// that is loud, keeps basal, refuses boluses and replays, and keeps the evidence. Each case runs
/// the real pumpd and pumpctl on the simulated board.
@Suite("Journal ownership and loss (pumpd)", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: Daemon.binary.path)))
struct JournalOwnershipTests {
    private func refusedStart(_ args: [String]) throws -> (status: Int32, err: String) { try Daemon.runToEnd(args) }

    /// A clinician's program that differs from the prescription file (so its loss shows).
    private func programFlex(_ d: RunningDaemon) throws {
        let rx = try d.write("flex.json", """
            {"drug": {"name": "baclofen", "concentration_ug_per_ml": 500},
             "prescription": {"mode": "flex", "steps": [{"start": "00:00", "daily_dose_ug": 200}, {"start": "08:00", "daily_dose_ug": 300}]}}
            """)
        #expect(try d.ctl(["program", rx, "--yes"], key: d.clinician).status == 0)
    }

    private func audit(_ journal: String) throws -> [String: String] {
        let r = try CLI.run(["audit", "--journal", journal])
        return Dictionary(r.out.split(separator: "\n").compactMap { l -> (String, String)? in
            let kv = l.split(separator: "=", maxSplits: 1)
            return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
        }, uniquingKeysWith: { a, _ in a })
    }

    private func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    @Test func aSecondPumpdChangesNothing() throws {
        let a = try RunningDaemon()
        try a.start()
        defer { a.stop() }
        let rx = Daemon.path("docs/examples/baclofen-prescription.json")
        // The same journal, another socket: refused at the lock, before anything is written.
        let other = a.folder.appendingPathComponent("b.sock").path
        let b = try refusedStart(["--board", Daemon.path("Boards/simulated.json"), "--prescription", rx, "--journal", a.journal,
                                  "--socket", other, "--keys", a.keys])
        #expect(b.status == 1 && b.err.contains("in use by another pumpd") && b.err.split(separator: "\n").count == 1, "\(b.err)")
        #expect(!FileManager.default.fileExists(atPath: other))
        // Another (provisioned) journal on the live socket: refused, the socket left alone.
        let journalC = a.folder.appendingPathComponent("c.sqlite").path
        #expect(try CLI.run(["journal", "init", "--journal", journalC]).status == 0)
        let c = try refusedStart(["--board", Daemon.path("Boards/simulated.json"), "--prescription", rx, "--journal", journalC,
                                  "--socket", a.socket, "--keys", a.keys])
        #expect(c.status == 1 && c.err.contains("in use by a running process"), "\(c.err)")
        #expect(try audit(journalC)["sessions"] == "0")
        // The first pumpd keeps its journal and its command interface.
        #expect((try a.status())["state"] as? String == "delivering")
        // A provisioned journal is never replaced by provisioning.
        let again = try CLI.run(["journal", "init", "--journal", a.journal])
        #expect(again.status != 0 && again.err.contains("already exists"), "\(again)")
        a.stop()
        #expect(try audit(a.journal)["sessions"] == "1", "B and C wrote no session into A's journal")
    }

    /// Finding 17.A5 (rig attack): a pumpd run once as root left a root-owned 0600 journal lock,
    /// and the service's user could no longer start (`cannot open … to lock it (errno 13)`). Its
    /// first fix (give root's files to the folder's owner) let that owner have root chown any file
    /// through a planted `.lock` link (second attack, 17.B1). Now root makes nothing in another
    /// user's journal folder and says as whom to run; a lock file is never followed through a
    /// link; a lock another user owns is named with its owner. `setpriv` stands in for the
    /// service's user.
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aRootRunLeavesNothingTheServiceUserCannotOpen() throws {
        let uid: uid_t = 4321
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("root-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(chown(folder.path, uid, uid) == 0 && chmod(folder.path, 0o700) == 0)
        let journal = folder.appendingPathComponent("journal.sqlite").path
        let lock = JournalStorage.lockPath(for: journal)
        func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }
        let setpriv = ["--reuid", "\(uid)", "--regid", "\(uid)", "--clear-groups"]
        func pumpctl(asUser: Bool, _ args: [String]) throws -> (status: Int32, err: String) {
            let p = Process()
            p.executableURL = asUser ? URL(fileURLWithPath: "/usr/bin/setpriv") : CLI.binary
            p.arguments = (asUser ? setpriv + [CLI.binary.path] : []) + args
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: e, as: UTF8.self))
        }
        // The start fails after the lock and the journal's opening, at the balance file.
        let start = ["--board", Daemon.path("Boards/simulated.json"), "--prescription", Daemon.path("docs/examples/baclofen-prescription.json"),
                     "--journal", journal, "--simulated-balance", "/nonexistent/balance"]
        func pumpd(asUser: Bool, _ extra: [String] = []) throws -> (status: Int32, err: String) {
            asUser ? try Daemon.runToEnd(start + extra, executable: "/usr/bin/setpriv", prefix: setpriv + [Daemon.binary.path])
                   : try Daemon.runToEnd(start + extra)
        }
        // Root, in the user's folder: refused, naming the user, nothing made.
        let rootInit = try pumpctl(asUser: false, ["journal", "init", "--journal", journal])
        #expect(rootInit.status != 0 && rootInit.err.contains("run it as uid \(uid)"), "\(rootInit.err)")
        let rootStart = try pumpd(asUser: false, ["--new-journal"])
        #expect(rootStart.status == 1 && rootStart.err.contains("belongs to another user, and this runs as root: run it as uid \(uid)"), "\(rootStart.err)")
        #expect(try contents().isEmpty)
        // 17.C1 (third attack): a link the user planted in a shared sticky folder (as in /tmp)
        // led root's journal into a folder of the attacker's choosing: refused, nothing made.
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("shared-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: shared) }
        #expect(chmod(shared.path, 0o1777) == 0)
        let rootOnly = FileManager.default.temporaryDirectory.appendingPathComponent("root-only-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: rootOnly, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: rootOnly) }
        let planted = shared.appendingPathComponent("j.sqlite").path
        #expect(symlink(rootOnly.appendingPathComponent("made-by-root").path, planted) == 0 && lchown(planted, uid, uid) == 0)
        let led = try pumpctl(asUser: false, ["journal", "init", "--journal", planted])
        #expect(led.status != 0 && led.err.contains("is a link that belongs to another user"), "\(led.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: rootOnly.path).isEmpty)
        // A folder other users may change (not sticky) is no place for root's journal either.
        #expect(chmod(rootOnly.path, 0o777) == 0)
        let open = try pumpctl(asUser: false, ["journal", "init", "--journal", rootOnly.appendingPathComponent("j.sqlite").path])
        #expect(open.status != 0 && open.err.contains("can be changed by other users"), "\(open.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: rootOnly.path).isEmpty)
        // 17.C3 (review): a dangling root-owned link into the user's folder (the state before a
        // first provisioning) was walked only beside the link: followed step by step now.
        let dangling = rootOnly.appendingPathComponent("dangling.sqlite").path
        #expect(chmod(rootOnly.path, 0o755) == 0 && symlink(journal + "-new", dangling) == 0)
        let throughLink = try pumpctl(asUser: false, ["journal", "init", "--journal", dangling])
        #expect(throughLink.status != 0 && throughLink.err.contains("run it as uid \(uid)"), "\(throughLink.err)")
        #expect(!FileManager.default.fileExists(atPath: journal + "-new"))
        // A folder that does not exist yet could be made by anyone before root uses it.
        let missing = try pumpctl(asUser: false, ["journal", "init", "--journal", shared.path + "/later/j.sqlite"])
        #expect(missing.status != 0 && missing.err.contains("does not exist"), "\(missing.err)")
        // In a shared sticky folder a name root is about to use may already be someone else's.
        let premade = shared.appendingPathComponent("p.sqlite-journal").path
        #expect(FileManager.default.createFile(atPath: premade, contents: Data()) && chown(premade, uid, uid) == 0)
        let inShared = try pumpctl(asUser: false, ["journal", "init", "--journal", shared.appendingPathComponent("p.sqlite").path])
        #expect(inShared.status != 0 && inShared.err.contains("is not root's own file"), "\(inShared.err)")
        #expect(!FileManager.default.fileExists(atPath: shared.appendingPathComponent("p.sqlite").path))
        // Something other than a file at the journal's name: nothing made beside it.
        let dirAsJournal = try Daemon.runToEnd(["--board", Daemon.path("Boards/simulated.json"), "--prescription", Daemon.path("docs/examples/baclofen-prescription.json"),
                                                "--journal", shared.path, "--new-journal"])
        #expect(dirAsJournal.status == 1 && dirAsJournal.err.contains("is not a regular file"), "\(dirAsJournal.err)")
        #expect(!FileManager.default.fileExists(atPath: shared.path + ".lock"))
        // The user provisions and starts (past the lock, to the balance failure).
        #expect(try pumpctl(asUser: true, ["journal", "init", "--journal", journal]).status == 0)
        let user = try pumpd(asUser: true)
        #expect(user.status == 1 && user.err.contains("balance") && !user.err.contains("lock"), "\(user.err)")
        // A lock some root process left behind is named, with its owner.
        #expect(chown(lock, 0, 0) == 0)
        let foreign = try pumpd(asUser: true)
        #expect(foreign.status == 1 && foreign.err.contains("belongs to uid 0 and this pumpd runs as uid \(uid)"), "\(foreign.err)")
        // A link planted as the lock is never followed: its target keeps its owner and bytes.
        let victim = FileManager.default.temporaryDirectory.appendingPathComponent("victim-\(UUID().uuidString)").path
        try "secret".write(toFile: victim, atomically: false, encoding: .utf8)
        defer { unlink(victim) }
        #expect(unlink(lock) == 0 && symlink(victim, lock) == 0)
        #expect(lchown(lock, uid, uid) == 0)
        let linked = try pumpd(asUser: true)
        #expect(linked.status == 1 && linked.err.contains("is a symbolic link, not a lock file"), "\(linked.err)")
        var st = stat()
        #expect(stat(victim, &st) == 0 && st.st_uid == 0 && (try? String(contentsOfFile: victim, encoding: .utf8)) == "secret")
        // 17.C3: root's readers keep out of the user's folder too (SQLite would chown a planted
        // `-journal` to the journal's owner); the user reads it.
        #expect(unlink(lock) == 0)
        let rootLog = try pumpctl(asUser: false, ["log", "--journal", journal])
        #expect(rootLog.status != 0 && rootLog.err.contains("run it as uid \(uid)"), "\(rootLog.err)")
        #expect(try pumpctl(asUser: true, ["log", "--journal", journal]).status == 0)
    }

    /// A reader cannot hold the live journal (outside attack of the rollback journal: a python
    /// `sqlite3` reader holding `BEGIN; SELECT` for 30 s held off every commit: `journal_fault`
    /// after 5 s, strokes without durable intents, a clean stop that lost its last rows). pumpd
    /// holds the file exclusively; readers are refused at once and read after it stops.
    @Test func aLiveReaderIsRefusedAndHoldsNothingOff() throws {
        let d = try RunningDaemon()
        try d.start()
        defer { d.stop() }
        #expect(throws: (any Error).self, "a read transaction got into the live journal") {
            try JournalTestAccess.readTransaction(path: d.journal)
        }
        let live = try CLI.run(["audit", "--journal", d.journal])
        #expect(live.status == 1 && live.err.contains("in use by another process") && live.err.contains("pumpctl status")
                && !live.err.contains("USAGE"), "\(live)")
        #expect(try d.ctl(["suspend"], key: d.clinician).status == 0)
        #expect(try d.ctl(["resume"], key: d.clinician).status == 0)
        let alarms = (try d.status())["alarms"] as? [[String: Any]] ?? []
        #expect(!alarms.contains { $0["type"] as? String == "journal_fault" }, "\(alarms)")
        d.stop()
        let rows = try CLI.run(["log", "--journal", d.journal, "--type", "remote_command"]).out
        #expect(rows.contains("clinician suspend") && rows.contains("clinician resume"), "\(rows)")
    }

    /// Storage that refuses writes at start is not a lost journal (outside attack: a `-journal`
    /// that is a directory gave `LOST (unreadable: disk I/O error)`, and the intact journal was
    /// moved aside). pumpd refuses to start, changes nothing, and continues from the same journal
    /// once the storage answers.
    /// A FIFO there hung pumpd before its first log line, deaf to SIGTERM (second attack).
    enum Refusing: String, CaseIterable, Sendable { case directory, fifo }

    @Test(arguments: Refusing.allCases)
    func storageThatRefusesIsNotALoss(_ kind: Refusing) throws {
        let d = try RunningDaemon()
        try d.start()
        d.stop()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: d.journal))
        try? FileManager.default.removeItem(atPath: d.journal + "-journal")   // the empty one a clean stop leaves
        switch kind {
        case .directory: try FileManager.default.createDirectory(atPath: d.journal + "-journal", withIntermediateDirectories: false)
        case .fifo: #expect(mkfifo(d.journal + "-journal", 0o600) == 0)
        }
        let refused = try refusedStart(["--board", Daemon.path("Boards/simulated.json"), "--prescription", Daemon.path("docs/examples/baclofen-prescription.json"),
                                        "--journal", d.journal])
        #expect(refused.status == 1 && refused.err.contains("not taken for a lost journal") && !refused.err.contains("LOST"), "\(refused.err)")
        let left = try FileManager.default.contentsOfDirectory(atPath: d.folder.path)
        let now = try Data(contentsOf: URL(fileURLWithPath: d.journal))
        #expect(!left.contains { $0.contains(".lost-") } && now == bytes, "\(left)")
        try FileManager.default.removeItem(atPath: d.journal + "-journal")
        let again = RunningDaemon(after: d)
        try again.start()
        defer { again.stop() }
        #expect(!again.log.contains("LOST") && again.log.contains("restoring"), "\(again.log)")
    }

    /// Other names for the same journal (a symlink, a hard link) and a deleted lock file do not
    /// make a second owner (outside attack: each let a second pumpd in).
    @Test func noOtherNameMakesASecondOwner() throws {
        let a = try RunningDaemon()
        try a.start()
        defer { a.stop() }
        let symlink = a.folder.appendingPathComponent("alias.sqlite").path
        let hardlink = a.folder.appendingPathComponent("hard.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: symlink, withDestinationPath: a.journal)
        #expect(link(a.journal, hardlink) == 0)
        try FileManager.default.removeItem(atPath: a.journal + ".lock")
        for name in [symlink, hardlink, a.journal] {
            let b = try refusedStart(["--board", Daemon.path("Boards/simulated.json"), "--prescription", Daemon.path("docs/examples/baclofen-prescription.json"),
                                      "--journal", name])
            #expect(b.status == 1 && b.err.contains("in use by another pumpd"), "\(name): \(b.err)")
        }
        a.stop()
        #expect(try audit(a.journal)["sessions"] == "1")
    }

    /// Contents that pass `integrity_check` but cannot be restored are a loss, never an exit
    /// (outside attack: each made pumpd exit 1 or trap at every start, so no basal at all).
    enum Unrestorable: String, CaseIterable, Sendable {
        case counterOutOfRange, unknownState, progressRowsGone, migrationRecordGone
    }

    @Test(arguments: Unrestorable.allCases)
    func unrestorableContentIsALossNotAStop(_ damage: Unrestorable) throws {
        let d = try RunningDaemon()
        try d.start()
        d.stop()
        let sql: String
        switch damage {
        case .counterOutOfRange: sql = "UPDATE progress SET confirmed_strokes = 9223372036854775807"
        case .unknownState: sql = "UPDATE progress SET state = 'eelivering'"
        case .progressRowsGone: sql = "DELETE FROM progress"
        case .migrationRecordGone: sql = "DELETE FROM grdb_migrations WHERE identifier = 'v5'"
        }
        try JournalTestAccess.execute(path: d.journal, sql: sql)
        let again = RunningDaemon(after: d)
        try again.start()
        defer { again.stop() }
        #expect(again.log.contains("LOST") && again.log.contains("cannot be restored"), "\(again.log)")
        let s = try again.status()
        #expect(s["state"] as? String == "delivering")
        #expect((s["alarms"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "journal_lost" })
    }

    /// Two losses in the same second keep both remains (outside attack: the second overwrote the first).
    @Test func evidenceIsNeverOverwritten() throws {
        let d = try RunningDaemon()
        try "FIRST".write(toFile: d.journal, atomically: true, encoding: .utf8)
        try d.start()
        d.stop()
        let second = RunningDaemon(after: d)
        try "SECOND".write(toFile: d.journal, atomically: true, encoding: .utf8)
        try second.start()
        second.stop()
        let kept = try FileManager.default.contentsOfDirectory(atPath: d.folder.path)
            .filter { name in name.hasPrefix("journal.sqlite.lost-") && !["-journal", "-wal", "-shm"].contains { name.hasSuffix($0) } }
        let contents = Set(kept.compactMap { try? String(contentsOfFile: d.folder.appendingPathComponent($0).path, encoding: .utf8) })
        #expect(contents == ["FIRST", "SECOND"], "\(kept)")
    }

    @Test func aCleanStopLeavesTheMainFileSelfContained() throws {
        let d = try RunningDaemon()
        try d.start()
        try programFlex(d)
        d.stop()
        for suffix in ["-journal", "-wal", "-shm"] {
            #expect((fileSize(d.journal + suffix) ?? 0) == 0, "\(suffix) still holds data after a clean stop")
            try? FileManager.default.removeItem(atPath: d.journal + suffix)
        }
        let again = RunningDaemon(after: d)
        try again.start()
        defer { again.stop() }
        #expect(again.log.contains("restoring") && !again.log.contains("LOST"), "\(again.log)")
        #expect(((try again.status())["prescription"] as? [String: Any])?["mode"] as? String == "flex")
    }

    /// The HIL's learned-line journal: a simulated run kept as a journal pumpd continues from,
    /// with the stroke count the run's physics gives (7.5 mL/day for 40 min is 208.3 µL, 833 strokes
    /// of 250 nL) and the learner's memory.
    @Test func aSimulatedRunIsAJournalPumpdContinuesFrom() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("learned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let journal = folder.appendingPathComponent("learned.sqlite").path
        let made = try CLI.run(["simulate", Daemon.path("Scripts/hil/learned-line.json"), "--quiet", "--journal-out", journal])
        #expect(made.status == 0, "\(made)")
        let again = try CLI.run(["simulate", Daemon.path("Scripts/hil/learned-line.json"), "--quiet", "--journal-out", journal])
        #expect(again.status != 0 && again.err.contains("already exists"), "\(again)")
        let d = try RunningDaemon()
        try FileManager.default.removeItem(atPath: d.journal)
        try FileManager.default.copyItem(atPath: journal, toPath: d.journal)
        try d.start()
        defer { d.stop() }
        #expect(d.log.contains("restoring from stroke=833 ") && d.log.contains("(line learned)"), "\(d.log)")
        #expect(!d.log.contains("LOST"))
    }

    enum Damage: String, CaseIterable, Sendable {
        case deleted, zeroed, truncatedToZero, truncatedToHalf, flippedPageHeader, newerSchema
    }

    @Test(arguments: Damage.allCases)
    func aLostJournalIsLoudKeepsBasalAndRefusesBolusesAndReplays(_ damage: Damage) throws {
        let d = try RunningDaemon()
        try d.start()
        try programFlex(d)
        let saved = d.folder.appendingPathComponent("suspend.req").path
        #expect(try d.ctl(["suspend", "--save-request", saved], key: d.clinician).status == 0)
        #expect(try d.ctl(["resume"], key: d.clinician).status == 0)
        d.stop()

        let size = fileSize(d.journal) ?? 0
        #expect(size > 4096)
        switch damage {
        case .deleted: try FileManager.default.removeItem(atPath: d.journal)
        case .zeroed: try Data(count: size).write(to: URL(fileURLWithPath: d.journal))
        case .truncatedToZero: try Data().write(to: URL(fileURLWithPath: d.journal))
        case .truncatedToHalf: try Data(try Data(contentsOf: URL(fileURLWithPath: d.journal)).prefix(size / 2)).write(to: URL(fileURLWithPath: d.journal))
        case .flippedPageHeader:
            // Page 2's b-tree page type (the first byte of the page): no valid page has 0x55 there.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: d.journal))
            bytes[4096] = 0x55
            try bytes.write(to: URL(fileURLWithPath: d.journal))
        case .newerSchema: try JournalTestAccess.markNewerSchema(path: d.journal)
        }

        let again = RunningDaemon(after: d)
        try again.start()
        defer { again.stop() }
        #expect(again.log.contains("LOST"), "\(again.log)")
        // The evidence is kept beside it (nothing to keep when the file was deleted).
        let kept = try FileManager.default.contentsOfDirectory(atPath: d.folder.path).filter { name in name.hasPrefix("journal.sqlite.lost-") && !["-journal", "-wal", "-shm"].contains { name.hasSuffix($0) } }
        #expect(kept.count == (damage == .deleted ? 0 : 1), "\(kept)")
        let s = try again.status()
        let alarms = s["alarms"] as? [[String: Any]] ?? []
        #expect(alarms.contains { $0["type"] as? String == "journal_lost" && $0["priority"] as? String == "high" }, "\(alarms)")
        // Basal goes on, from the prescription file (the command's program went with the journal).
        #expect(s["state"] as? String == "delivering")
        #expect((s["prescription"] as? [String: Any])?["mode"] as? String == "continuous")
        #expect((s["reservoir"] as? [String: Any])?["known"] as? Bool == false)
        // The status text says so (it showed the unknown reservoir as full: outside attack, 2026-12-05).
        let text = try again.ctl(["status"], key: again.clinician)
        #expect(text.status == 0 && text.out.contains("reservoir  unknown (the journal was lost") && text.out.contains("empty      unknown\n")
                && !text.out.contains("mL expected (low alarm"), "\(text.out)")
        // A request signed before the loss is never accepted after it.
        let replay = try CLI.run(["send-raw", saved, "--socket", again.socket])
        #expect(replay.status == 1 && (replay.out.contains("replayed") || replay.out.contains("expired")), "\(replay)")
        // Every bolus waits for the clinician's review.
        let patient = try again.ctl(["bolus"], key: again.patient)
        #expect(patient.status == 1 && patient.err.contains("journal_lost"), "\(patient)")
        let clinician = try again.ctl(["clinician-bolus", "--dose-ug", "5", "--over", "10m"], key: again.clinician)
        #expect(clinician.status == 1 && clinician.err.contains("journal_lost"), "\(clinician)")
        #expect((try again.status())["state"] as? String == "delivering")
        // The clinician clears it after review; boluses are possible again.
        #expect(try again.ctl(["clear-alarms"], key: again.clinician).status == 0)
        let after = try again.ctl(["clinician-bolus", "--dose-ug", "5", "--over", "10m"], key: again.clinician)
        #expect(after.status == 0, "\(after)")
        // Audit reads the remains without crashing, and says what is wrong with them.
        if let k = kept.first {
            let a = try CLI.run(["audit", "--journal", d.folder.appendingPathComponent(k).path])
            #expect(a.status != 0 || damage == .newerSchema, "\(a)")
            #expect(!a.err.contains("Fatal error"), "\(a)")
        }
    }
}
