import Foundation
import PumpCommands
import PumpConfig

// Two builds of one harness (Scripts/fuzz; docs/commands.md, "Fuzzing"):
// - with `-D FUZZING -sanitize=fuzzer` (Scripts/fuzz's own build folder), libFuzzer's main drives
//   `LLVMFuzzerTestOneInput` with coverage from every module; PUMP_FUZZ_TARGET picks the decoder;
// - in the ordinary build, `pump-fuzz TARGET FILE|DIR…` replays inputs (the kept corpus in
//   Scripts/test: what fuzzing once found stays a regression case).

/// The target named by PUMP_FUZZ_TARGET (libFuzzer owns the command line).
let fuzzTarget: Target = {
    let name = ProcessInfo.processInfo.environment["PUMP_FUZZ_TARGET"] ?? ""
    guard let t = Target(rawValue: name) else {
        FileHandle.standardError.write(Data("PUMP_FUZZ_TARGET must be one of: \(Target.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')\n".utf8))
        exit(2)
    }
    return t
}()

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzTarget.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

/// libFuzzer's driver (in the runtime -sanitize=fuzzer links).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`: here it hands the command line
/// to libFuzzer's driver.
@_cdecl("pump_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var args: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return withUnsafeMutablePointer(to: &args) { a in
        a.withMemoryRebound(to: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self, capacity: 1) {
            LLVMFuzzerRunDriver(&count, $0, { bytes, n in fuzzOne(bytes, n) })
        }
    }
}
#else
@main
enum Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        if args.first == "seeds", let dir = args.dropFirst().first { writeSeeds(to: dir); return }
        guard let name = args.first, let target = Target(rawValue: name), args.count >= 2 else {
            print("usage: pump-fuzz TARGET FILE|DIR…   (TARGET: \(Target.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        var files: [String] = []
        for path in args.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { print("pump-fuzz: \(path): no such file"); exit(2) }
            if isDir.boolValue {
                files += ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for f in files {
            guard let d = FileManager.default.contents(atPath: f) else { print("pump-fuzz: \(f): unreadable"); exit(2) }
            target.run(d)
        }
        print("\(target.rawValue) replay: \(files.count) inputs, no finding")
    }

    /// The signed seeds (made with the harness's fixed keys and clock): a status request and a
    /// clinician bolus, as frame stream, envelope and body.
    static func writeSeeds(to dir: String) {
        let commands: [(String, JSONValue, KeyFile)] = [
            ("status", .object(["type": .string("status")]), Target.clinician),
            ("clinician-bolus", .object(["type": .string("clinician_bolus"), "dose_ug": .number(50), "over": .string("10m")]), Target.clinician),
            ("patient-bolus", .object(["type": .string("patient_bolus")]), Target.patient),
        ]
        for (i, (name, command, key)) in commands.enumerated() {
            let body = RequestBody(key: key, counter: Int64(i + 1),
                                   expiresUTCMilliseconds: Target.now / 1_000_000 + 10_000, command: command)
            let envelope = Signer.envelope(body, key: key)
            guard case .object(let e) = try? JSONValue.parse(envelope), case .string(let text)? = e["body"] else { fatalError("seed") }
            for (target, bytes) in [("frame", Wire.frame(envelope) + Wire.frame(envelope)), ("envelope", envelope), ("body", Data(text.utf8))] {
                try? FileManager.default.createDirectory(atPath: "\(dir)/\(target)", withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: "\(dir)/\(target)/seed-\(name)", contents: bytes)
            }
        }
    }
}
#endif
