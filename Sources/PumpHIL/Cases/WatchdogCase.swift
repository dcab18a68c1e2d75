import Foundation

/// The watchdog case: the hardware watchdog on a real kernel, fed while pumpd is healthy, left to
/// expire when pumpd is frozen or its dose loop hangs, closed cleanly at SIGTERM. Its own file
/// because it alone reads the kernel's log and freezes a filesystem.
extension Suite {
    /// The hardware watchdog on a real kernel (in the VM: softdog with soft_noboot=1, so an expiry
    /// is logged instead of rebooting). pumpd sets the board's timeout and reads back the grant;
    /// healthy, it never lets it expire over three timeouts; frozen (SIGSTOP), or with its dose
    /// loop hung on a frozen journal filesystem, it lets it expire within timeout + 1 s, as the
    /// kernel's log says; after a clean SIGTERM (magic close) it does not expire. First among the
    /// pumpd cases: an expiry left by an earlier case's SIGKILL cannot be mistaken for one here.
    func watchdog() {
        guard board.watchdogDevice != nil, let asked = board.watchdogTimeoutSeconds else {
            record("watchdog/board", nil, "the board has no watchdog_device with watchdog_timeout_s")
            return
        }
        guard let kernel = KernelLog() else { record("watchdog/kmsg", nil, "no /dev/kmsg to read the watchdog's expiry from"); return }
        let expiry = "softdog: Triggered"

        // Healthy, then frozen.
        let granted = watchdogHealthyThenFrozen(kernel: kernel, asked: asked, expiry: expiry)

        // The dose loop hung: its journal's filesystem frozen, so the next intent never becomes
        // durable and the loop waits; the watchdog task runs on, sees the heartbeat stop, and
        // stops feeding.
        if let dir = settings.freezableDirectory {
            watchdogWithHungDoseLoop(kernel: kernel, directory: dir, granted: granted, expiry: expiry)
        } else {
            record("watchdog/hung-dose-loop-expires", nil, "no freezable filesystem (pump-hil suite --freezable-dir)")
        }

        // A clean stop closes with the magic character: no expiry afterwards.
        guard let (plant2, pumpd2) = start(case: "watchdog-clean", prescription: Prescriptions.fast) else { return }
        defer { plant2.stop(); pumpd2.stop() }
        Thread.sleep(forTimeInterval: 2)
        _ = kernel.read()
        let exit = terminate(pumpd2)
        Thread.sleep(forTimeInterval: Double(granted + 2))
        let after = kernel.read().filter { $0.text.contains(expiry) }
        record("watchdog/clean-stop-never-expires", exit == 0 && after.isEmpty,
               "exit \(exit.map(String.init) ?? "none"); \(after.count) expiries in the \(granted + 2) s after SIGTERM")
    }

    /// Returns the timeout the driver granted (as pumpd logged it).
    private func watchdogHealthyThenFrozen(kernel: KernelLog, asked: Int, expiry: String) -> Int {
        guard let (plant, pumpd) = start(case: "watchdog", prescription: Prescriptions.fast) else { return asked }
        defer { plant.stop(); pumpd.stop() }
        let grant = pumpd.waitFor("hardware watchdog", timeout: 10)
        let granted = grant.flatMap { l in l.text.range(of: "timeout ").flatMap { Int(l.text[$0.upperBound...].prefix { $0.isNumber }) } } ?? asked
        Thread.sleep(forTimeInterval: Double(3 * granted + 1))
        let early = kernel.read().filter { $0.text.contains(expiry) }
        record("watchdog/healthy-never-expires", grant != nil && early.isEmpty && pumpd.isRunning,
               "\(grant.map { String($0.text.split(separator: "]").last ?? "") } ?? "no timeout logged"); \(early.count) expiries in \(3 * granted + 1) s")

        KernelLog.mark("pump-hil: SIGSTOP pumpd")
        pumpd.signal(SIGSTOP)
        let stoppedAt = Monotonic.nanoseconds()
        let fired = kernel.waitFor(expiry, timeout: Double(granted + 10))
        pumpd.signal(SIGCONT)
        if let fired {
            let seenSeconds = Double(fired.seenAt - stoppedAt) / 1e9
            // The kernel's own interval, from the marker written just before SIGSTOP.
            let kernelSeconds = fired.before.last { $0.text.contains("pump-hil: SIGSTOP pumpd") }
                .map { Double(fired.record.microseconds - $0.microseconds) / 1e6 }
            let seconds = kernelSeconds ?? seenSeconds
            report.measurements.append(("watchdog_expiry_after_sigstop_s", String(format: "%.2f", seconds)))
            record("watchdog/frozen-pumpd-expires", seconds <= Double(granted) + 1 && seconds > 0,
                   String(format: "expired %.2f s after SIGSTOP by %@ (%.2f s as the suite saw it), timeout %d s", seconds,
                          kernelSeconds == nil ? "the suite's clock (marker not in the log)" : "the kernel's log", seenSeconds, granted))
        } else {
            record("watchdog/frozen-pumpd-expires", false, "no '\(expiry)' in the kernel's log within \(granted + 10) s of SIGSTOP")
        }
        _ = terminate(pumpd)
        return granted
    }

    private func watchdogWithHungDoseLoop(kernel: KernelLog, directory: String, granted: Int, expiry: String) {
        let journal = "\(directory)/watchdog-journal.sqlite"
        unlink(journal)
        guard let (plant, pumpd) = start(case: "watchdog-hung", prescription: Prescriptions.fast, journal: journal, newJournal: true) else { return }
        defer { plant.stop(); pumpd.stop() }
        Thread.sleep(forTimeInterval: 3)
        _ = kernel.read()
        let mark = pumpd.lines.count
        let freeze = try? ChildProcess(name: "fsfreeze", executable: "/bin/busybox", arguments: ["fsfreeze", "--freeze", directory])
        let frozen = freeze?.waitForExit(timeout: 10) == 0
        let stopped = pumpd.waitFor("not feeding the hardware watchdog", after: mark, timeout: 60)
        let fired = kernel.waitFor(expiry, timeout: Double(granted + 10))
        // Where pumpd's threads are while the filesystem is still frozen (a failure's own dump
        // comes after the thaw, when they have moved on).
        let frozenThreads = stopped == nil && pumpd.isRunning ? ThreadDump.threads(of: pumpd.pid, kernelStacks: true) : []
        let thaw = try? ChildProcess(name: "fsfreeze", executable: "/bin/busybox", arguments: ["fsfreeze", "--unfreeze", directory])
        _ = thaw?.waitForExit(timeout: 10)
        if let stopped, let fired {
            let seconds = Double(fired.seenAt - stopped.receivedNanoseconds) / 1e9
            report.measurements.append(("watchdog_expiry_after_last_feed_s", String(format: "%.2f", seconds)))
            record("watchdog/hung-dose-loop-expires", frozen && seconds <= Double(granted) + 1,
                   String(format: "journal filesystem frozen; pumpd stopped feeding; expired %.2f s after it said so (timeout %d s)", seconds, granted))
        } else {
            // Said apart: a silent pumpd whose feeding stopped anyway (the kernel saw the expiry)
            // is a different finding from one that kept feeding.
            record("watchdog/hung-dose-loop-expires", false,
                   "frozen \(frozen); \(stopped == nil ? "pumpd never said it stopped feeding" : "no expiry in the kernel's log") within the wait; kernel: \(fired.map { "\($0.record.text) at \(Double($0.record.microseconds) / 1e6) s" } ?? "no expiry")"
                   + frozenThreads.map { "\n   while frozen: thread \($0)" }.joined())
        }
        _ = terminate(pumpd)
    }

}
