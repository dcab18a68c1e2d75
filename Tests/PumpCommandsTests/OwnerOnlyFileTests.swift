import PumpCore
import Foundation
import Glibc
import PumpCommands
import Testing

/// Finding 17.C2 (review of the root-path fixes): `sudo pumpctl … --key K` wrote `K.counter`
/// through whatever the key folder's owner had put there (a link to a root-only file was
/// overwritten with a number); `--save-request` the same. The expectation is the file system's:
/// the link's target keeps its bytes, a second link or a FIFO is refused without blocking.
@Suite("Files pumpctl keeps for its user")
struct OwnerOnlyFileTests {
    let folder: String
    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("owner-only-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    }

    @Test func writesAndReadsItsOwnFile() throws {
        let path = folder + "/k.counter"
        try OwnerOnlyFile.write(Data("42\n".utf8), to: path, field: "counter")
        try OwnerOnlyFile.write(Data("7\n".utf8), to: path, field: "counter")   // replaced, not appended
        #expect(OwnerOnlyFile.read(path) == Data("7\n".utf8))
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        try FileManager.default.removeItem(atPath: folder)
    }

    @Test func neverThroughALinkASecondNameOrAFIFO() throws {
        let victim = folder + "/victim"
        try "secret".write(toFile: victim, atomically: false, encoding: .utf8)
        let link = folder + "/k.counter", hard = folder + "/h.counter", fifo = folder + "/f.counter"
        #expect(symlink(victim, link) == 0 && Glibc.link(victim, hard) == 0 && mkfifo(fifo, 0o600) == 0)
        for path in [link, hard, fifo] {
            #expect(throws: FieldError.self) { try OwnerOnlyFile.write(Data("1\n".utf8), to: path, field: "counter") }
            #expect(OwnerOnlyFile.read(path) == nil)
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "secret")
        try FileManager.default.removeItem(atPath: folder)
    }

    @Test(.enabled(if: geteuid() == 0))
    func notAnotherUsersFile() throws {
        let path = folder + "/theirs.counter"
        try "5\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chown(path, 4321, 4321) == 0)
        #expect(throws: FieldError.self) { try OwnerOnlyFile.write(Data("6\n".utf8), to: path, field: "counter") }
        let kept = try String(contentsOfFile: path, encoding: .utf8)
        #expect(OwnerOnlyFile.read(path) == nil && kept == "5\n")
        try FileManager.default.removeItem(atPath: folder)
    }
}
