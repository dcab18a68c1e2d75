import PumpCore
import Crypto
import Foundation

/// One role's key for one device, as a file (`pumpctl keys init` makes them; docs/commands.md).
///
/// `{"device": …, "role": …, "key_id": …, "key_hex": …}`, mode 0600 in a 0700 folder. The key is
/// 256 random bits from the system's generator; its id is the first 8 bytes of its SHA-256, so a
/// request names the key it was signed with and a rotated key is refused by name. There is no
/// default key: without key files the daemon opens no socket.
public struct KeyFile: Sendable, Equatable {
    public var device: String
    public var role: Role
    public var keyID: String
    /// The 32 key bytes (SymmetricKey is made on use: it is not Sendable).
    let keyBytes: [UInt8]
    public var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public static func == (a: Self, b: Self) -> Bool { a.device == b.device && a.role == b.role && a.keyID == b.keyID }

    public init(device: String, role: Role, key: SymmetricKey) {
        self.device = device
        self.role = role
        keyBytes = key.withUnsafeBytes { Array($0) }
        keyID = Self.id(of: key)
    }

    public static func generate(device: String, role: Role) -> KeyFile { KeyFile(device: device, role: role, key: SymmetricKey(size: .bits256)) }

    static func id(of key: SymmetricKey) -> String {
        let digest = key.withUnsafeBytes { SHA256.hash(data: Data($0)) }
        return Hex.encode(Array(digest.prefix(8)))
    }

    public static func fileName(_ role: Role) -> String { "\(role.rawValue).key" }

    public func write(to path: String) throws(FieldError) {
        let hex = Hex.encode(keyBytes)
        let o: [String: Any] = ["device": device, "role": role.rawValue, "key_id": keyID, "key_hex": hex]
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted]) else {
            throw FieldError(path, "cannot encode")
        }
        // Created 0600 and replaced atomically (a rotation never leaves half a key).
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0o600)
        guard fd >= 0 else { throw FieldError(path, "cannot create (errno \(errno))") }
        let ok = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) == $0.count }
        fsync(fd)
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw FieldError(path, "cannot write (errno \(errno))")
        }
    }

    /// Reads a key file, refusing one that others could read or replace: a symbolic link (a link
    /// into a world-writable folder was accepted), not a regular file, owned by another user,
    /// group or world bits set; and a key with under 16 distinct byte values (all zeros was
    /// accepted; 32 random bytes have ~30).
    /// `rootMayUseAnyOwners`: for `pumpctl` run by root (the rig's `sudo pumpctl --key
    /// /etc/pumpd/keys/clinician.key`, a file owned by pumpd's user); pumpd itself never.
    public static func read(path: String, rootMayUseAnyOwners: Bool = false) throws(FieldError) -> KeyFile {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ELOOP { throw FieldError(path, "is a symbolic link; a key file must be the file itself") }
            throw FieldError(path, "cannot read the key file (errno \(errno))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw FieldError(path, "is not a regular file") }
        guard st.st_uid == geteuid() || (rootMayUseAnyOwners && geteuid() == 0) else {
            throw FieldError(path, "owned by uid \(st.st_uid), not by this user (uid \(geteuid()))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw FieldError(path, "permissions \(String(st.st_mode & 0o777, radix: 8)) let others read the key; must be 0600")
        }
        guard st.st_size <= 4096, let data = try? FileHandle(fileDescriptor: fd, closeOnDealloc: false).readToEnd(),
              let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw FieldError(path, "not a key file (JSON object expected)")
        }
        guard let device = o["device"] as? String, !device.isEmpty else { throw FieldError("\(path): device", "is required") }
        guard let r = o["role"] as? String, let role = Role(rawValue: r) else { throw FieldError("\(path): role", "must be clinician or patient") }
        guard let hex = o["key_hex"] as? String, let bytes = Hex.decode(hex), bytes.count == 32 else {
            throw FieldError("\(path): key_hex", "must be 64 hex digits (256 bits)")
        }
        guard Set(bytes).count >= 16 else {
            throw FieldError("\(path): key_hex", "\(Set(bytes).count) distinct byte values: not a random key (make one with `pumpctl keys init` or `keys rotate`)")
        }
        let k = KeyFile(device: device, role: role, key: SymmetricKey(data: bytes))
        if let id = o["key_id"] as? String, id != k.keyID { throw FieldError("\(path): key_id", "does not match the key") }
        return k
    }
}

/// The daemon's keys: one per role, from a folder.
public struct KeyRing: Sendable {
    public var device: String
    public var keys: [Role: KeyFile]

    public init(device: String, keys: [Role: KeyFile]) {
        self.device = device
        self.keys = keys
    }

    /// Loads `clinician.key` and `patient.key` from `folder`; both must name the same device.
    public static func load(folder: String) throws(FieldError) -> KeyRing {
        var st = stat()
        guard lstat(folder, &st) == 0 else { throw FieldError(folder, "no key folder (run `pumpctl keys init --dir \(folder)`)") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw FieldError(folder, "is not a folder (a symbolic link is refused: name the folder itself)") }
        guard st.st_uid == geteuid() else { throw FieldError(folder, "owned by uid \(st.st_uid), not by this user (uid \(geteuid()))") }
        guard st.st_mode & 0o077 == 0 else { throw FieldError(folder, "permissions \(String(st.st_mode & 0o777, radix: 8)); the key folder must be 0700") }
        var keys: [Role: KeyFile] = [:]
        for role in Role.allCases {
            let k = try KeyFile.read(path: "\(folder)/\(KeyFile.fileName(role))")
            guard k.role == role else { throw FieldError("\(folder)/\(KeyFile.fileName(role)): role", "says \(k.role.rawValue)") }
            keys[role] = k
        }
        // One key for both roles would let a patient sign as a clinician.
        if let c = keys[.clinician], let p = keys[.patient], c.keyBytes == p.keyBytes {
            throw FieldError(folder, "the clinician and patient keys are the same bytes; each role needs its own key (`pumpctl keys rotate`)")
        }
        let devices = Set(keys.values.map(\.device))
        guard devices.count == 1, let device = devices.first else { throw FieldError(folder, "the keys name different devices") }
        return KeyRing(device: device, keys: keys)
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `lowercaseOnly`: the one canonical spelling (a request's MAC), so a valid request has
    /// exactly one byte form (the fuzzer found the upper-case variants accepted).
    static func decode(_ s: String, lowercaseOnly: Bool = false) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70 where !lowercaseOnly: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
