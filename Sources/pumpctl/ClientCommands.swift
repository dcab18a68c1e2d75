import ArgumentParser
import Foundation
import PumpCommands
import PumpConfig
import PumpCore

/// Options every command to the daemon takes.
struct ClientOptions: ParsableArguments {
    @Option(help: "pumpd's command socket.") var socket: String = ProcessInfo.processInfo.environment["PUMPD_SOCKET"] ?? "/run/pumpd/pumpd.sock"
    @Option(help: "Your key file (its role decides what you may do).") var key: String = ProcessInfo.processInfo.environment["PUMPD_KEY"] ?? ""
    @Option(help: "Seconds the request stays valid, and pumpctl waits for its answer (at most 300; pumpd needs 2 s of it left; a negative value, written --expires-in=-5, makes an expired request, to test the daemon).")
    var expiresIn: Int64 = Wire.defaultLifetime.value / 1_000_000_000
    @Option(help: "Also write the signed request to this file (send it again with `pumpctl send-raw`).") var saveRequest: String?
    @Flag(help: "Print the daemon's answer as JSON.") var json = false

    func send(_ command: [String: JSONValue]) throws -> Response {
        guard !key.isEmpty else { throw ValidationError("--key: required (or PUMPD_KEY)") }
        let k: KeyFile
        do { k = try KeyFile.read(path: key, rootMayUseAnyOwners: true) } catch { throw ValidationError(error.description) }
        let least = (Wire.answerMargin.value + 999_999_999) / 1_000_000_000 + 1
        guard (-3600...(-1)).contains(expiresIn) || (least...300).contains(expiresIn) else {
            throw ValidationError("--expires-in: must be from \(least) to 300 (pumpd needs \(Wire.answerMargin.value / 1_000_000_000) s of it left), or from -3600 to -1 to make an expired request (written --expires-in=-5)")
        }
        let utc = Int64((Date().timeIntervalSince1970 * 1e9).rounded())
        do {
            return try CommandClient.send(.object(command), key: k, socket: socket, counterFile: key + ".counter", utcNanoseconds: utc,
                                          lifetime: expiresIn * 1_000_000_000, keepRequest: saveRequest)
        } catch {
            FileHandle.standardError.write(Data("pumpctl: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// Prints the answer; a refusal exits 1 with its field and reason.
    func finish(_ r: Response, _ show: ([String: Any]) -> Void) throws {
        if json {
            var o: [String: Any] = ["ok": r.ok, "result": r.result]
            if let e = r.error { o["error"] = ["field": e.path, "reason": e.message] }
            let d = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: d, as: UTF8.self))
        } else if r.ok {
            show(r.result)
        }
        if !r.ok {
            if !json { FileHandle.standardError.write(Data("refused: \(Printable.escaped(r.error?.description ?? "?"))\n".utf8)) }
            throw ExitCode(1)
        }
    }
}

func confirm(_ question: String, yes: Bool) -> Bool {
    if yes { return true }
    print("\(question) Type yes to confirm: ", terminator: "")
    return readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes"
}

func show(_ v: Any?) -> String {
    switch v {
    case nil, is NSNull: "—"
    case let d as Double: d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.3f", d)
    case let n as NSNumber: n.stringValue
    case let s as String: Printable.escaped(s)
    default: Printable.escaped("\(v!)")
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Therapy, reservoir and battery forecasts, alarms, next bolus.")
    @OptionGroup var client: ClientOptions
    func run() throws {
        try client.finish(client.send(["type": .string("status")])) { s in
            let p = s["prescription"] as? [String: Any] ?? [:]
            let r = s["reservoir"] as? [String: Any] ?? [:]
            let f = s["forecast"] as? [String: Any] ?? [:]
            let b = s["battery"] as? [String: Any] ?? [:]
            let pb = s["patient_bolus"] as? [String: Any] ?? [:]
            print("device \(show(s["device"])) at \(show(s["at"])): \(show(s["state"]))")
            print("drug       \(show(p["drug"])) \(show(p["concentration_ug_per_ml"])) µg/mL, \(show(p["mode"])), basal now \(show(s["basal_rate_ug_per_day"])) µg/day")
            // After a journal loss nobody knows what the reservoir holds: the ledger's figure (and the
            // forecasts from it) would show an unknown reservoir as full (outside attack, 2026-12-05).
            if r["known"] as? Bool == false {
                print("reservoir  unknown (the journal was lost: a refill sets it); capacity \(show(r["capacity_ml"])) mL, low alarm at \(show(r["low_alarm_ml"])) mL")
                print("refill by  unknown (\(show(f["expected_ml_per_day"])) mL/day expected, \(show(f["worst_ml_per_day"])) mL/day worst case)")
                print("empty      unknown")
            } else {
                print("reservoir  \(show(r["expected_ml"])) of \(show(r["capacity_ml"])) mL expected (low alarm at \(show(r["low_alarm_ml"])) mL)")
                print("refill by  \(show(f["refill_by_expected"])) expected (\(show(f["expected_ml_per_day"])) mL/day), \(show(f["refill_by_worst"])) worst case (\(show(f["worst_ml_per_day"])) mL/day)")
                print("empty      \(show(f["empty_expected"])) expected, \(show(f["empty_worst"])) worst case")
            }
            print("battery    \(show(b["percent"])) %, elective replacement by \(show(b["elective_replacement_by"]))")
            print("bolus      next allowed \(show(pb["next_allowed_at"]))\((pb["blocked_by"] as? String).map { ", blocked: \($0)" } ?? "")")
            let alarms = s["alarms"] as? [[String: Any]] ?? []
            print("alarms     " + (alarms.isEmpty ? "none" : alarms.map { "\(show($0["type"])) (\(show($0["priority"])))" }.joined(separator: ", ")))
        }
    }
}

struct PatientBolusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bolus", abstract: "Patient: request the prescribed bolus (limits enforced by the controller).")
    @OptionGroup var client: ClientOptions
    func run() throws {
        try client.finish(client.send(["type": .string("patient_bolus")])) { r in
            print("bolus accepted; next allowed in \(show(r["next_allowed_in_s"])) s")
        }
    }
}

struct ClinicianBolusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clinician-bolus", abstract: "Clinician: a bolus of a dose over a time.")
    @OptionGroup var client: ClientOptions
    @Option(help: "Dose in µg.") var doseUg: Double
    @Option(help: "Over, e.g. 30m.") var over: String
    func run() throws {
        try client.finish(client.send(["type": .string("clinician_bolus"), "dose_ug": .number(doseUg), "over": .string(over)])) { _ in
            print("clinician bolus accepted")
        }
    }
}

/// Commands without fields: suspend, resume (never automatic), acknowledge, clear-alarms.
protocol FieldlessCommand: ParsableCommand {
    static var wireType: String { get }
    var client: ClientOptions { get }
}
extension FieldlessCommand {
    func run() throws {
        try client.finish(client.send(["type": .string(Self.wireType)])) { r in
            print("\(Self.configuration.commandName ?? Self.wireType): accepted\((r["reason"] as? String).map { " (\($0))" } ?? "")")
            if let w = r["warning"] as? String { print("warning: \(w)") }
        }
    }
}
struct SuspendCommand: FieldlessCommand {
    static let configuration = CommandConfiguration(commandName: "suspend", abstract: "Clinician: suspend delivery.")
    static let wireType = "suspend"
    @OptionGroup var client: ClientOptions
}
struct ResumeCommand: FieldlessCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Clinician: resume delivery (never automatic).")
    static let wireType = "resume"
    @OptionGroup var client: ClientOptions
}
struct AcknowledgeCommand: FieldlessCommand {
    static let configuration = CommandConfiguration(commandName: "acknowledge", abstract: "Patient or clinician: acknowledge (silence) the active alarms.")
    static let wireType = "acknowledge"
    @OptionGroup var client: ClientOptions
}
struct ClearAlarmsCommand: FieldlessCommand {
    static let configuration = CommandConfiguration(commandName: "clear-alarms", abstract: "Clinician: clear latched alarms whose cause is gone.")
    static let wireType = "clear_alarms"
    @OptionGroup var client: ClientOptions
}

struct SetLowReservoirCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-low-reservoir", abstract: "Clinician: the volume at which the low-reservoir alarm rises.")
    @OptionGroup var client: ClientOptions
    @Option(help: "mL.") var ml: Double
    func run() throws {
        try client.finish(client.send(["type": .string("set_low_reservoir"), "low_reservoir_ml": .number(ml)])) { _ in print("low-reservoir alarm at \(ml) mL") }
    }
}

struct ProgramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program", abstract: "Clinician: show old and new side by side, then commit a new prescription after confirmation.",
        discussion: "FILE holds the drug and prescription sections of a scenario (the drug must be the one in the reservoir).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Prescription file: {\"drug\": …, \"prescription\": …}.") var file: String
    @Flag(help: "Commit without asking (after printing the comparison).") var yes = false
    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("\(file): cannot read the file") }
        // Read as pumpd reads a prescription file: one way only (a key given twice was sent with
        // its first value, where jq and Python read the last; a null was sent as "absent").
        let value: JSONValue
        do { value = try JSONValue.parseFile(data) } catch { throw ValidationError("\(file): \(error)") }
        guard case .object(var o) = value else { throw ValidationError("\(file): must be a JSON object") }
        o.removeValue(forKey: "name")
        o["type"] = .string("preview_program")
        var wouldAccept = false
        try client.finish(client.send(o)) { r in
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
            print(pad("setting", 18) + pad("in force", 30) + "new")
            for row in r["comparison"] as? [[Any]] ?? [] where row.count == 4 {
                let mark = (row[3] as? Bool) == true ? "   *" : ""
                print(pad(show(row[0]), 18) + pad(show(row[1]), 30) + show(row[2]) + mark)
            }
            wouldAccept = r["would_accept"] as? Bool ?? false
            if !wouldAccept { print("the controller would refuse it: \(show(r["reason"]))") }
        }
        guard wouldAccept else { throw ExitCode(1) }
        guard confirm("Program the new prescription (* = changed)?", yes: yes) else { print("not programmed"); throw ExitCode(1) }
        o["type"] = .string("program")
        o["confirmed"] = .bool(true)
        try client.finish(client.send(o)) { _ in print("programmed") }
    }
}

struct RefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refill", abstract: "Clinician: reconcile the volume withdrawn against the ledger, then record the new fill.")
    @OptionGroup var client: ClientOptions
    @Option(help: "mL withdrawn from the reservoir.") var withdrawnMl: Double
    @Option(help: "mL added.") var addedMl: Double
    @Option(help: "Concentration of the drug added, µg/mL (default: unchanged).") var concentrationUgPerMl: Double?
    @Option(help: "Pump tubing plus catheter volume, mL (default 0.25).") var deadSpaceMl: Double?
    @Flag(help: "Decline the bridge after a concentration change (the new plan starts at once).") var noBridge = false
    @Flag(help: "Commit without asking.") var yes = false
    func run() throws {
        var o: [String: JSONValue] = ["withdrawn_ml": .number(withdrawnMl), "added_ml": .number(addedMl), "bridge": .bool(!noBridge)]
        if let c = concentrationUgPerMl { o["concentration_ug_per_ml"] = .number(c) }
        if let d = deadSpaceMl { o["dead_space_ml"] = .number(d) }
        o["type"] = .string("preview_refill")
        var wouldAccept = false
        func describe(_ f: [String: Any]) {
            print("expected \(show(f["expected_ml"])) mL, withdrawn \(show(f["withdrawn_ml"])) mL: discrepancy \(show(f["discrepancy_ml"])) mL (tolerance ±\(show(f["tolerance_ml"])) mL): \(show(f["verdict"]))")
            if let b = f["bridge"] as? [String: Any] {
                print("bridge: the \(show(b["volume_ml"])) mL of old drug (\(show(b["concentration_ug_per_ml"])) µg/mL) in the dead space runs at the old plan for \(show(b["duration_s"])) s")
            }
        }
        try client.finish(client.send(o)) { r in
            wouldAccept = r["would_accept"] as? Bool ?? false
            if let f = r["refill"] as? [String: Any] { describe(f) } else { print("the controller would refuse it: \(show(r["reason"]))") }
        }
        guard wouldAccept else { throw ExitCode(1) }
        guard confirm("Record this refill?", yes: yes) else { print("not recorded"); throw ExitCode(1) }
        o["type"] = .string("refill")
        o["confirmed"] = .bool(true)
        try client.finish(client.send(o)) { r in
            print("refill recorded\((r["reason"] as? String).map { ": \($0)" } ?? "")")
        }
    }
}

struct SendRawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-raw", abstract: "Send a file's bytes as one request frame (a saved request: replay testing).")
    @Option(help: "pumpd's command socket.") var socket: String = ProcessInfo.processInfo.environment["PUMPD_SOCKET"] ?? "/run/pumpd/pumpd.sock"
    @Argument(help: "The request payload.") var file: String
    func run() throws {
        guard let d = FileManager.default.contents(atPath: file), !d.isEmpty else { throw ValidationError("\(file): cannot read") }
        let answer: Data
        // Waits at least until the request expires (Wire.answerMargin): a replayed request reported
        // as unanswered can never run afterwards.
        let utc = Int64((Date().timeIntervalSince1970 * 1e9).rounded())
        let wait = CommandClient.answerWait(expiresUTCMilliseconds: CommandClient.claimedExpiry(ofEnvelope: d) ?? 0, utcNanoseconds: utc)
        do { answer = try CommandClient.exchange(d, socket: socket, wait: wait) } catch {
            FileHandle.standardError.write(Data("pumpctl: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(String(decoding: answer, as: UTF8.self))
        if (try? Response.parse(answer))?.ok != true { throw ExitCode(1) }
    }
}
