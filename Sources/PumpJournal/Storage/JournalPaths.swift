import Foundation

/// What a journal's path may lead to: refused when root would follow a path another user can
/// change, or when something other than a file stands there; and the path's folder and real
/// name. Its own file because every entry point checks a path before it opens anything.
extension JournalStorage {
    /// A process running as root (pumpd, `pumpctl journal init`, `log`, `audit`) uses a journal
    /// only where no other user can change what its path leads to. The path is walked from `/`,
    /// following its links here, so every step is checked: every folder on the way exists,
    /// belongs to root and is writable by no one else unless it is sticky (`/tmp`: others cannot
    /// rename root's entries there); every link belongs to root. In a sticky shared folder the
    /// journal, its companions and its lock, where they exist, must be root's own regular files
    /// with one link. Otherwise it makes nothing and says as whom to run.
    ///
    /// Why: run as root in the service user's folder, pumpd and `pumpctl journal init` left a
    /// root-owned lock and `-journal` that the service could not open at its next start. Giving
    /// them to the folder's owner (the first fix) let that owner have root chown any file through a
    /// planted link; checking the folder alone let a link planted in a shared folder, a dangling
    /// link, a folder made or swapped after the check, or a file pre-made in `/tmp` lead root's
    /// files where the attacker chose (outside attacks, three rounds). With every step root's,
    /// nothing can move under root between check and use.
    static func refuseUntrustedPathAsRoot(_ journal: String) throws(JournalError) {
        guard geteuid() == 0 else { return }
        let absolute = journal.hasPrefix("/") ? journal : FileManager.default.currentDirectoryPath + "/" + journal
        func refuse(_ why: String, owner: uid_t?) -> JournalError {
            let user = owner.flatMap { uid in getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)" }
            let runAs = user.map { "run it as \($0) (sudo -u \($0) …)" } ?? "use a folder only root can change, or run as the journal's owner"
            return JournalError("journal \(journal): \(why), and this runs as root: \(runAs). Nothing was changed")
        }
        var links = 0
        func walk(_ path: String) throws(JournalError) {
            let parts = path.split(separator: "/").map(String.init)
            guard let name = parts.last else { throw refuse("names no file", owner: nil) }
            var folder = ""
            for (i, part) in parts.enumerated() {
                let here = folder + "/" + part, last = i == parts.count - 1
                var st = stat()
                guard lstat(here, &st) == 0 else {
                    if last { break }   // the journal itself need not exist yet
                    throw refuse("its folder \(here) does not exist (made later, it could be anyone's)", owner: nil)
                }
                if st.st_mode & S_IFMT == S_IFLNK {
                    if st.st_uid != 0 { throw refuse("\(here) is a link that belongs to another user", owner: st.st_uid) }
                    links += 1
                    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                    let n = readlink(here, &buffer, buffer.count - 1)
                    guard links <= 32, n > 0 else { throw refuse("\(here): a link that cannot be followed", owner: nil) }
                    let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    let rest = parts[(i + 1)...].joined(separator: "/")
                    let resolved = (target.hasPrefix("/") ? target : folder + "/" + target) + (rest.isEmpty ? "" : "/" + rest)
                    return try walk(resolved)   // where root's own link leads is walked step by step too
                }
                if last { break }
                guard st.st_mode & S_IFMT == S_IFDIR else { throw refuse("\(here) is not a folder", owner: nil) }
                if st.st_uid != 0 { throw refuse("its folder \(here) belongs to another user", owner: st.st_uid) }
                if st.st_mode & 0o022 != 0 && st.st_mode & S_ISVTX == 0 {
                    throw refuse("its folder \(here) can be changed by other users (mode \(String(st.st_mode & 0o7777, radix: 8)))", owner: nil)
                }
                folder = here
            }
            // In a shared sticky folder anyone may have made the names root is about to use.
            var st = stat()
            guard lstat(folder.isEmpty ? "/" : folder, &st) == 0, st.st_mode & 0o022 != 0 else { return }
            for file in companionSuffixes.map({ name + $0 }) + [name + ".lock"] {
                var f = stat()
                guard lstat(folder + "/" + file, &f) == 0 else { continue }
                let regular = f.st_mode & S_IFMT == S_IFREG
                if file == name && !regular { continue }   // not a file at all: refused as such (refuseNonRegular)
                if !regular || f.st_uid != 0 || f.st_nlink != 1 {
                    throw refuse("\(folder)/\(file) in the shared folder \(folder) is not root's own file", owner: f.st_uid == 0 ? nil : f.st_uid)
                }
            }
        }
        try walk(absolute)
    }

    /// Something other than a file where the journal should be (a folder, a FIFO) is refused
    /// before anything is made beside it (`--journal /tmp` made `/tmp.lock`).
    static func refuseNonRegular(_ journal: String) throws(JournalError) {
        var st = stat()
        if stat(journal, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            throw JournalError("journal \(journal) is not a regular file; nothing was changed", storage: true)
        }
    }

    /// The folder that names `path` ("." for a bare name).
    static func folderOf(_ path: String) -> String {
        let f = (path as NSString).deletingLastPathComponent
        return f.isEmpty ? "." : f
    }

    /// The path with every symlink resolved (of the file if it exists, else of its folder).
    static func realPath(_ path: String) -> String {
        if let r = realpath(path, nil) { defer { free(r) }; return String(cString: r) }
        let folder = folderOf(path)
        if let r = realpath(folder, nil) { defer { free(r) }; return String(cString: r) + "/" + (path as NSString).lastPathComponent }
        return path
    }
}
