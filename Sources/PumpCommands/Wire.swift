import Foundation
import PumpConfig
import PumpCore

/// The command interface's wire format, version 1 (docs/commands.md).
///
/// A Unix stream socket; each message is one frame: a 4-byte big-endian length, then that many
/// bytes of UTF-8 JSON. A request is an envelope `{"v": 1, "body": "<JSON text>", "mac": "<hex>"}`
/// whose `mac` is HMAC-SHA256 over the exact bytes of `body` with the role's key. The body holds
/// the device, role, key id, counter, expiry and the command. The answer is one frame
/// `{"v": 1, "ok": …, "error": {"field": …, "reason": …}, "result": {…}}`.
public enum Wire {
    public static let version = 1
    /// Largest frame either side accepts (a flex programme of 48 steps is ~3 KiB).
    public static let maximumFrame = 65_536
    /// How far in the future an expiry may lie: bounds the window a captured command lives.
    public static let maximumExpiry = Nanoseconds.minutes(5)
    /// What `pumpctl` uses by default. It is also how long `pumpctl` waits for the answer.
    public static let defaultLifetime = Nanoseconds.seconds(10)
    /// At most once, never after the client gave up (docs/commands.md, "When a command runs"):
    /// pumpd admits a request only while at least this much of its life is left, and a client waits
    /// for the answer at least until the request expires (`CommandClient.answerWait`). A request
    /// admitted at or before `expiry - answerMargin` therefore starts, and is answered, while its
    /// client still waits; one that arrives later is refused and never runs. (Was: requests lived
    /// 30 s, pumpctl waited 10 s, and a bolus reported as failed ran 8 s later.)
    public static let answerMargin = Nanoseconds.seconds(2)
    /// The least left of a request's life at the moment pumpd runs it (checked again after
    /// admission), so its answer still has time to reach the waiting client.
    public static let runMargin = Nanoseconds.seconds(1)
    /// How long a client waits for the refusal of a request that has already expired.
    public static let refusalWait = Nanoseconds.seconds(3)

    /// A frame's header for `payload`.
    public static func frame(_ payload: Data) -> Data {
        var n = UInt32(payload.count).bigEndian
        var d = Data(bytes: &n, count: 4)
        d.append(payload)
        return d
    }

    /// The payload length a header announces, or a reason it is unacceptable.
    public static func length(ofHeader h: [UInt8]) -> Result<Int, FieldError> {
        guard h.count == 4 else { return .failure(FieldError("frame", "truncated header")) }
        let n = Int(h[0]) << 24 | Int(h[1]) << 16 | Int(h[2]) << 8 | Int(h[3])
        guard n > 0 else { return .failure(FieldError("frame", "empty")) }
        guard n <= maximumFrame else { return .failure(FieldError("frame", "\(n) bytes; at most \(maximumFrame)")) }
        return .success(n)
    }
}

/// Who may send a command.
public enum Role: String, Sendable, CaseIterable, Codable {
    case clinician, patient
}

/// The signed part of a request.
public struct RequestBody: Sendable, Equatable {
    public var device: String
    public var role: Role
    public var keyID: String
    public var counter: Int64
    public var expiresUTCMilliseconds: Int64
    /// The command object: `{"type": …, fields…}` (decoded by `RemoteCommand.decode`).
    public var command: JSONValue
}

extension RequestBody {
    /// A request signed with `key` names the key's device, role and key ID.
    public init(key: KeyFile, counter: Int64, expiresUTCMilliseconds: Int64, command: JSONValue) {
        self.init(device: key.device, role: key.role, keyID: key.keyID, counter: counter, expiresUTCMilliseconds: expiresUTCMilliseconds,
                  command: command)
    }
}

/// The answer to a request.
public struct Response {
    public var ok: Bool
    public var error: FieldError?
    public var result: [String: Any]

    public init(ok: Bool, error: FieldError? = nil, result: [String: Any] = [:]) {
        self.ok = ok
        self.error = error
        self.result = result
    }

    public static func refused(_ e: FieldError) -> Response { Response(ok: false, error: e) }

    public func data() -> Data {
        var o: [String: Any] = ["v": Wire.version, "ok": ok, "result": result]
        if let error { o["error"] = ["field": error.path, "reason": error.message] }
        return (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data(#"{"v":1,"ok":false}"#.utf8)
    }

    public static func parse(_ data: Data) throws(FieldError) -> Response {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let ok = o["ok"] as? Bool else {
            throw FieldError("response", "not a response object")
        }
        var e: FieldError?
        if let err = o["error"] as? [String: Any] { e = FieldError(err["field"] as? String ?? "?", err["reason"] as? String ?? "?") }
        return Response(ok: ok, error: e, result: o["result"] as? [String: Any] ?? [:])
    }
}
