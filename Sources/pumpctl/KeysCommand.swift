import ArgumentParser
import Foundation
import PumpCommands
import PumpConfig
import PumpCore

/// `pumpctl keys init|rotate`: per-device keys, generated here (there is no default key).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Provision or rotate the command interface's keys (docs/commands.md).",
        subcommands: [Init.self, Rotate.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a clinician key and a patient key for one device.")
        @Option(help: "Key folder (created 0700).") var dir: String
        @Option(help: "Device name the keys are bound to (default: pump- and 8 random hex digits).") var device: String?
        func run() throws {
            let fm = FileManager.default
            for role in Role.allCases where fm.fileExists(atPath: "\(dir)/\(KeyFile.fileName(role))") {
                throw ValidationError("\(dir)/\(KeyFile.fileName(role)) exists; use `pumpctl keys rotate` to replace a key")
            }
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // 0700 on the folder itself, never through a link planted at its name (a chmod by name
            // followed one); and only this user's own folder gets keys.
            let folder = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard folder >= 0 else { throw ValidationError("--dir \(dir): \(errno == ELOOP ? "a symbolic link, not a folder" : "cannot open (errno \(errno))")") }
            defer { close(folder) }
            var st = stat()
            guard fstat(folder, &st) == 0, st.st_uid == geteuid() else { throw ValidationError("--dir \(dir): belongs to another user; keys are made by the folder's owner") }
            fchmod(folder, 0o700)
            let name = device ?? "pump-" + String(format: "%08x", UInt32.random(in: .min ... .max))
            for role in Role.allCases {
                let k = KeyFile.generate(device: name, role: role)
                do { try k.write(to: "\(dir)/\(KeyFile.fileName(role))") } catch { throw ValidationError(error.description) }
                print("\(role.rawValue): \(dir)/\(KeyFile.fileName(role)) (key id \(k.keyID))")
            }
            print("device \(name). Give the patient only patient.key; start pumpd with --keys \(dir).")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace one role's key; send pumpd SIGHUP to load it (requests signed with the old key are then refused).")
        @Option(help: "Key folder.") var dir: String
        @Option(help: "clinician or patient.") var role: String
        func run() throws {
            guard let r = Role(rawValue: role) else { throw ValidationError("--role: must be clinician or patient") }
            let path = "\(dir)/\(KeyFile.fileName(r))"
            let old: KeyFile
            do { old = try KeyFile.read(path: path) } catch { throw ValidationError(error.description) }
            let k = KeyFile.generate(device: old.device, role: r)
            do { try k.write(to: path) } catch { throw ValidationError(error.description) }
            print("\(r.rawValue): key id \(old.keyID) → \(k.keyID); now `kill -HUP $(pidof pumpd)`")
        }
    }
}
